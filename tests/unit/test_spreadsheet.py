"""Answers from a CSV: the sample, bad rows with their physical line, all-or-nothing."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from survey.spreadsheet import (
    RowError,
    SpreadsheetError,
    parse_responses,
    read_responses,
)
from survey.template import load_builtin

CORE = load_builtin("icp-core")
SAMPLE = Path(str(resources.files("survey.samples").joinpath("icp-sample-30.csv")))

HEADER = "respondent,team,company_size,deal_size,value_drivers,ideal_customer\n"
GOOD = [
    "A1,sales,11-50,25k,spend;tenure,Small SaaS teams\n",
    "A2,Support,51-200 employees,\"$40,000\",They spend a lot,\n",
    "A3,,51-200,\"1,200\",referrals,\n",
]


def _csv(*rows: str, header: str = HEADER) -> str:
    return header + "".join(rows)


def _errors(text: str) -> list[RowError]:
    with pytest.raises(SpreadsheetError) as info:
        parse_responses(text, CORE, source="answers.csv")
    assert str(info.value).startswith("answers.csv: ")
    return list(info.value.errors)


# -- the sample --------------------------------------------------------------------------


def test_sample_reads_30_responses_in_3_teams():
    result = read_responses(SAMPLE, CORE)
    assert len(result.responses) == 30
    assert result.errors == []
    assert Counter(r.team for r in result.responses) == {"sales": 12, "support": 10, "marketing": 8}
    assert len({r.respondent for r in result.responses}) == 30
    first = result.responses[0]
    assert first.respondent == "P01"
    assert first.answers["deal_size"] == 80_000.0
    assert first.answers["acquisition_cost"] == 8_000.0
    assert first.answers["value_drivers"] == ["spend", "tenure"]
    assert first.answers["innovation_attitude"] == 4
    # the team column is the respondent's team, not an answer
    assert "team" not in first.answers
    # blank cells are unanswered questions
    by_id = {r.respondent: r for r in result.responses}
    assert "acquisition_cost" not in by_id["P05"].answers
    assert "regions" not in by_id["P26"].answers
    assert result.warnings == []


def test_valid_rows_are_read_with_labels_and_number_forms():
    result = parse_responses(_csv(*GOOD), CORE)
    assert [r.respondent for r in result.responses] == ["A1", "A2", "A3"]
    assert [r.team for r in result.responses] == ["sales", "support", None]
    assert [r.answers["deal_size"] for r in result.responses] == [25_000.0, 40_000.0, 1_200.0]
    assert result.responses[1].answers["company_size"] == "51-200"
    assert result.responses[1].answers["value_drivers"] == ["spend"]
    assert result.responses[0].answers["ideal_customer"] == "Small SaaS teams"


# -- bad rows, physical line numbers -----------------------------------------------------


@pytest.mark.parametrize(
    ("bad_row", "respondent", "reason"),
    [
        ("B1,sales,huge,25k,spend,\n", "B1", "company_size: 'huge' is not one of the options"),
        ("B1,sales,11-50,lots,spend,\n", "B1", "deal_size: 'lots' is not a number"),
        ("B1,sales,11-50,-5,spend,\n", "B1", "deal_size: must be between 0 USD and"),
        ("A1,sales,11-50,25k,spend,\n", "A1", "respondent already answered on line 2"),
        ("B1,sales,11-50,25k\n", None, "has 4 cells, the header has 6"),
        ("B1,sales,11-50,25k,spend,,extra\n", None, "has 7 cells, the header has 6"),
        ("  ,sales,11-50,25k,spend,\n", None, "the respondent cell is empty"),
        ("B1,sales,11-50,25k,spend;tenure;referrals;profitability,\n", "B1",
         "value_drivers: choose at most 3 options (4 chosen)"),
    ],
)
def test_bad_row_is_reported_with_its_line_and_reason(bad_row, respondent, reason):
    errors = _errors(_csv(GOOD[0], GOOD[1], bad_row, GOOD[2]))
    assert len(errors) == 1
    error = errors[0]
    assert error.line == 4
    assert error.respondent == respondent
    assert reason in error.reason
    assert str(error).startswith(f"line 4{f' ({respondent})' if respondent else ''}: ")


def test_line_numbers_count_a_quoted_multi_line_cell():
    text = _csv(
        'A1,sales,11-50,25k,spend,"They grow fast,\nthey pay on time\nand they stay"\n',  # 2-4
        GOOD[1],  # 5
        "B1,sales,huge,25k,spend,\n",  # 6
        GOOD[2],  # 7
        "B2,sales,11-50,25k,cheap,\n",  # 8
    )
    errors = _errors(text)
    assert [(e.line, e.respondent) for e in errors] == [(6, "B1"), (8, "B2")]
    assert "value_drivers: 'cheap' is not one of the options" in errors[1].reason


def test_blank_lines_are_skipped_but_counted():
    errors = _errors(_csv(GOOD[0], "\n", ",,,,,\n", "B1,sales,huge,25k,spend,\n"))
    assert [e.line for e in errors] == [5]


def test_every_bad_row_is_listed_and_nothing_is_returned():
    text = _csv(GOOD[0], "B1,sales,huge,25k,spend,\n", GOOD[1], "B2,sales,11-50,lots,spend,\n")
    with pytest.raises(SpreadsheetError) as info:
        parse_responses(text, CORE, source="answers.csv")
    message = str(info.value)
    assert "answers.csv: 2 problem(s)" in message
    assert "line 3 (B1): company_size" in message
    assert "line 5 (B2): deal_size" in message


def test_skip_invalid_keeps_the_rest():
    text = _csv(GOOD[0], "B1,sales,huge,25k,spend,\n", GOOD[1], "B2,sales,11-50,lots,spend,\n", GOOD[2])
    result = parse_responses(text, CORE, skip_invalid=True)
    assert [r.respondent for r in result.responses] == ["A1", "A2", "A3"]
    assert [(e.line, e.respondent) for e in result.errors] == [(3, "B1"), (5, "B2")]


def test_a_row_with_several_faults_names_them_all():
    errors = _errors(_csv("B1,sales,huge,lots,spend,\n"))
    assert "company_size:" in errors[0].reason and "deal_size:" in errors[0].reason


# -- the file itself ----------------------------------------------------------------------


def test_bom_is_handled_in_a_file_and_in_text(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + _csv(*GOOD).encode("utf-8"))
    assert [r.respondent for r in read_responses(path, CORE).responses] == ["A1", "A2", "A3"]
    text = "\ufeff" + _csv(*GOOD)
    assert len(parse_responses(text, CORE).responses) == 3


def test_windows_line_endings(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(_csv(*GOOD, "B1,sales,huge,25k,spend,\n").replace("\n", "\r\n").encode())
    with pytest.raises(SpreadsheetError) as info:
        read_responses(path, CORE)
    assert [e.line for e in info.value.errors] == [5]


def test_unknown_columns_are_warned_and_ignored():
    header = "Timestamp,Respondent,team,company_size,Email\n"
    result = parse_responses(
        header + "2024-01-01,A1,sales,11-50,a@example.com\n2024-01-02,A2,support,51-200,b@x.org\n",
        CORE,
    )
    assert len(result.responses) == 2
    assert "ignored column(s) that are not question ids: Timestamp, Email" in result.warnings
    assert any(w.startswith("no column for question(s): value_drivers") for w in result.warnings)
    assert all("Email" not in str(r.answers) for r in result.responses)


def test_missing_respondent_column_is_an_error():
    with pytest.raises(SpreadsheetError) as info:
        parse_responses("name,team,company_size\nA1,sales,11-50\n", CORE, source="a.csv")
    assert info.value.errors == ["line 1: no 'respondent' column (found: name, team, company_size)"]


def test_no_question_column_is_an_error():
    with pytest.raises(SpreadsheetError, match="no column is a question id of template 'icp-core'"):
        parse_responses("respondent,team\nA1,sales\n", CORE)


def test_duplicate_columns_are_an_error():
    with pytest.raises(SpreadsheetError, match="duplicate column"):
        parse_responses("respondent,company_size,company_size\nA1,11-50,11-50\n", CORE)


def test_empty_file_is_an_error():
    with pytest.raises(SpreadsheetError, match="the file is empty"):
        parse_responses("", CORE)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(_csv("A1,sales,11-50,25k,spend,Caf\xe9 owners\n").encode("latin-1"))
    with pytest.raises(SpreadsheetError, match="not UTF-8"):
        read_responses(path, CORE)


def test_missing_file(tmp_path):
    with pytest.raises(SpreadsheetError, match="cannot read the file"):
        read_responses(tmp_path / "nope.csv", CORE)


def test_semicolon_and_tab_separated_files_and_any_case_headers():
    from survey.spreadsheet import parse_responses
    from survey.template import load_builtin

    template = load_builtin("icp-core")
    semicolons = 'Respondent;Team;Company_Size;Industry\nA;sales;51-200;"software;healthcare"\nB;support;11-50;software\n'
    tabs = "respondent\tteam\tcompany_size\tindustry\nA\tsales\t51-200\tsoftware;healthcare\nB\tsupport\t11-50\tsoftware\n"
    for text in (semicolons, tabs):
        result = parse_responses(text, template)
        assert [r.answers for r in result.responses] == [
            {"company_size": "51-200", "industry": ["healthcare", "software"]},
            {"company_size": "11-50", "industry": ["software"]},
        ]
        assert [r.team for r in result.responses] == ["sales", "support"]


# -- what spreadsheets write (issue 13) ------------------------------------------------------


def _deal_sizes(text: str) -> list[float]:
    return [r.answers["deal_size"] for r in parse_responses(text, CORE).responses]


def test_scientific_notation_as_spreadsheets_write_it():
    text = "respondent,team,deal_size\nA1,sales,5E+06\nA2,sales,1.5e3\nA3,sales,2.5E+04\n"
    assert _deal_sizes(text) == [5_000_000, 1500, 25_000]


def test_semicolon_file_with_decimal_commas_and_thousands_dots():
    text = "respondent;team;deal_size;top20_revenue_share\nA1;sales;80.000;62,5\nA2;sales;1.250.000;70\n"
    responses = parse_responses(text, CORE).responses
    assert [r.answers["deal_size"] for r in responses] == [80_000, 1_250_000]
    assert responses[0].answers["top20_revenue_share"] == 62.5


def test_semicolon_file_without_other_evidence_reads_80_000_as_eighty_thousand():
    assert _deal_sizes("respondent;team;deal_size\nA1;sales;80.000\nA2;sales;25000\n") == [80_000, 25_000]


def test_comma_file_where_80_000_is_ambiguous_is_refused_not_read_as_80():
    errors = _errors('respondent,team,deal_size\nA1,sales,80.000\nA2,sales,"25,000"\n')
    assert len(errors) == 1 and "line 2 (deal_size): '80.000' could be" in str(errors[0])


def test_comma_file_with_decimal_point_evidence_reads_80_000_as_80():
    text = "respondent,team,top20_revenue_share\nA1,sales,62.5\nA2,sales,80.000\n"
    assert [r.answers["top20_revenue_share"] for r in parse_responses(text, CORE).responses] == [62.5, 80.0]


def test_numbers_written_both_ways_are_refused_naming_both():
    errors = _errors("respondent;team;deal_size\nA1;sales;2.5k\nA2;sales;2,5k\n")
    assert "line 2 (deal_size) '2.5k' uses a decimal point" in str(errors[0])
    assert "line 3 (deal_size) '2,5k' a decimal comma" in str(errors[0])


def test_header_only_file_is_an_error():
    errors = _errors(HEADER)
    assert "header row but no answers" in str(errors[0])


def test_header_only_file_exits_non_zero(tmp_path, capsys):
    from bot.cli import main

    path = tmp_path / "answers.csv"
    path.write_text(HEADER, encoding="utf-8")
    assert main(["report", "--answers", str(path)]) == 2
    assert "no answers" in capsys.readouterr().err


def test_missing_team_column_is_explained_in_plain_words():
    result = parse_responses("respondent,company_size\nA1,11-50\nA2,11-50\nA3,1-10\n", CORE)
    (team_warning,) = [w for w in result.warnings if "team" in w]
    assert team_warning.startswith("no 'team' column, so the report cannot compare teams")
    assert "add a column named 'team'" in team_warning
    assert not any("question(s)" in w and ", team" in w for w in result.warnings)
