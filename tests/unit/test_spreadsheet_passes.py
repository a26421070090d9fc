"""The two-pass reader: its shortcuts (plain numbers, cached cells, compiled show_if) give what
``parse_answer`` and ``validate_answers`` give, and errors keep their order and wording."""

from __future__ import annotations

import pytest

from survey import spreadsheet
from survey.answers import AnswerError, AnswersInvalid, parse_answer, validate_answers
from survey.number_convention import DECIMAL_POINT
from survey.spreadsheet import SpreadsheetError, _lines, parse_answer_columns, parse_responses
from survey.template import load_builtin

CORE = load_builtin("icp-core")


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\nb", "a\r\nb\r\n", "\n\n", "x,\"1\n2\"\ny\n"])
def test_lines_split_as_stringio_iterates(text):
    import io

    assert list(_lines(text)) == list(io.StringIO(text))


@pytest.mark.parametrize("cell", ["0", "1", "25000", "99999999999", "1" * 400, "٣", "10", "00012"])
def test_plain_number_cells_read_as_parse_answer_reads_them(cell):
    for q in (q for q in CORE.questions if q.kind == "number"):
        column = spreadsheet._Column(q, 0, DECIMAL_POINT)
        try:
            expected = (parse_answer(q, cell), None)
        except AnswerError as exc:
            expected = (None, exc.message)
        got = column(cell)
        assert got == expected and type(got[0]) is type(expected[0]), (q.id, cell)


def test_columns_past_the_cache_limit_read_the_same(monkeypatch):
    rows = [f"R{i},sales,{i + 1},{'11-50' if i % 2 else '51-200'},{' x' * (i % 3)}\n" for i in range(40)]
    text = "respondent,team,deal_size,company_size,ideal_customer\n" + "".join(rows)
    full = parse_responses(text, CORE).responses
    monkeypatch.setattr(spreadsheet, "CACHE_LIMIT", 3)
    assert parse_responses(text, CORE).responses == full
    assert [r.answers["deal_size"] for r in full] == list(range(1, 41))


def test_rows_validate_as_validate_answers_with_show_if():
    asked = [q for q in CORE.questions if q.role != "team"]
    conditional = next(q for q in asked if q.show_if)
    ref, options = next(iter(conditional.show_if.items()))
    ref_q = CORE.question(ref)
    other = next(o.id for o in ref_q.options if o.id not in options)
    header = ["respondent", ref, conditional.id]
    bad = "not an option" if conditional.kind in ("single", "multi") else "zzz"
    cases = [(options[0], bad), (other, bad), ("", bad), (f"{options[0]};{other}" if ref_q.kind == "multi" else other, bad)]
    for n, (decider, cell) in enumerate(cases):
        text = ",".join(header) + "\n" + f"R{n},{decider},{cell}\n"
        try:
            expected = validate_answers(CORE, {ref: decider, conditional.id: cell},
                                        questions=[ref_q, conditional], require=False)
        except AnswersInvalid as exc:
            with pytest.raises(SpreadsheetError) as info:
                parse_responses(text, CORE)
            assert str(info.value.errors[0]).endswith("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
        else:
            assert parse_responses(text, CORE).responses[0].answers == expected


def test_width_errors_come_first_and_each_row_is_reported_once():
    text = ("respondent,team,company_size,deal_size\n"
            "A1,sales,nonsense,10\n"
            "A2,sales\n"
            "A3,sales,11-50,1\n"
            "A1,sales,11-50,2\n")
    with pytest.raises(SpreadsheetError) as info:
        parse_responses(text, CORE, source="a.csv")
    assert [str(e) for e in info.value.errors] == [
        "line 3: has 2 cells, the header has 4",
        f"line 2 (A1): company_size: {_message('company_size', 'nonsense')}",
        "line 5 (A1): respondent already answered on line 2",
    ]
    result = parse_answer_columns(text, CORE, skip_invalid=True)
    assert result.columns.respondents == ["A3"] and len(result.errors) == 3


def test_the_number_convention_is_decided_before_any_row_is_validated():
    text = "respondent;deal_size\nA1;2,5\nA2;1.234,5\nA3;7\n"
    assert [r.answers["deal_size"] for r in parse_responses(text, CORE).responses] == [2.5, 1234.5, 7]
    with pytest.raises(SpreadsheetError) as info:
        parse_responses("respondent,deal_size\nA1,2.5\nA2,x\nA3,\"2,5\"\n", CORE)
    assert info.value.errors == ["numbers are written two ways: line 2 (deal_size) '2.5' uses a decimal point, "
                                 "line 4 (deal_size) '2,5' a decimal comma; save the sheet again with one convention"]


def _message(qid: str, cell: str) -> str:
    with pytest.raises(AnswerError) as info:
        parse_answer(CORE.question(qid), cell)
    return info.value.message


def test_a_question_named_twice_in_two_cases_reads_its_last_column():
    text = "respondent,company_size,industry,Company_Size\nA1,11-50,nonsense,also nonsense\nA2,oops,software,11-50\n"
    with pytest.raises(SpreadsheetError) as info:
        parse_responses(text, CORE)
    assert [str(e) for e in info.value.errors] == [
        f"line 2 (A1): company_size: {_message('company_size', 'also nonsense')}; "
        f"industry: {_message('industry', 'nonsense')}"]
    assert parse_responses(text, CORE, skip_invalid=True).responses[0].answers["company_size"] == "11-50"


def _columns_both_ways(text: str):
    """(``parse_answer_columns``'s columns, the columns of ``into=AnswerColumns.add``)."""
    from survey.answer_columns import AnswerColumns
    from survey.spreadsheet import parse_answer_columns, parse_responses
    from survey.template import load_builtin

    template = load_builtin("icp-core")
    direct = parse_answer_columns(text, template, skip_invalid=True)
    via_add = AnswerColumns()
    result = parse_responses(text, template, skip_invalid=True, into=via_add.add)
    assert [str(e) for e in direct.errors] == [str(e) for e in result.errors]
    return direct.columns, via_add


def test_rows_into_columns_take_back_invalid_rows_and_hidden_answers():
    """Cells are appended as they parse: an invalid row's and a hidden question's cells are taken
    back, a column first seen on such a row does not exist until a valid row gives it."""
    text = (
        "respondent,team,company_size,geographic_reach,regions,confidence\n"
        "a,sales,1-10,local,europe,9\n"  # confidence 9 is invalid: the whole row goes
        "b,sales,1-10,local,europe,4\n"  # regions hidden (local reach): its cell is dropped
        "c,support,,global,europe;apac,\n"
        "d,support,11-50,national,bogus,3\n"  # bad option: the row goes
        "e,sales,11-50,local,,5\n"
    )
    direct, via_add = _columns_both_ways(text)
    assert direct.respondents == via_add.respondents == ["b", "c", "e"]
    assert direct.teams == via_add.teams
    assert list(direct.rows) == list(via_add.rows)
    assert "regions" in direct.rows and list(direct.rows["regions"]) == [1]
    assert direct.values["regions"] == [["apac", "europe"]]  # canonical: in option order
    for qid in direct.rows:
        assert list(direct.rows[qid]) == list(via_add.rows[qid]), qid
        assert direct.values[qid] == via_add.values[qid], qid


def test_a_column_only_on_invalid_or_hidden_rows_is_absent():
    text = (
        "respondent,team,geographic_reach,regions,confidence\n"
        "a,sales,global,europe,9\n"  # invalid confidence: regions taken back with the row
        "b,sales,local,europe,4\n"  # regions hidden
    )
    direct, via_add = _columns_both_ways(text)
    assert "regions" not in direct.rows and "regions" not in direct.values
    assert list(direct.rows) == list(via_add.rows)
    assert direct.respondents == ["b"]


def test_evidence_against_the_assumed_convention_reads_the_file_again():
    """A ';' file is assumed decimal-comma: "1.000" before the first decimal-point cell is 1.0
    once "2.5" shows the convention, in the columns and in the responses alike."""
    from survey.spreadsheet import parse_responses
    from survey.template import load_builtin

    text = "respondent;team;deal_size\na;sales;1.000\nb;sales;1.000\nc;support;2.5\nd;support;40000\n"
    direct, via_add = _columns_both_ways(text)
    assert direct.values["deal_size"] == via_add.values["deal_size"] == [1.0, 1.0, 2.5, 40000.0]
    responses = parse_responses(text, load_builtin("icp-core")).responses
    assert [r.answers["deal_size"] for r in responses] == [1.0, 1.0, 2.5, 40000.0]
    # and a ',' file is assumed decimal-point: "1.000,5" (decimal comma) reads the file again
    text = "respondent,team,deal_size\na,sales,\"2,5\"\nb,sales,\"1.000,5\"\n"
    direct, _ = _columns_both_ways(text)
    assert direct.values["deal_size"] == [2.5, 1000.5]


def test_width_errors_come_before_row_errors_whatever_their_lines():
    from survey.spreadsheet import SpreadsheetError, parse_answer_columns
    from survey.template import load_builtin

    text = "respondent,team,confidence\na,sales,9\nb,sales,4\nc,sales\nd,sales,9\n"
    with pytest.raises(SpreadsheetError) as caught:
        parse_answer_columns(text, load_builtin("icp-core"))
    assert [e.line for e in caught.value.errors] == [4, 2, 5]
    assert "has 2 cells" in str(caught.value.errors[0])


_CELLS = {
    "company_size": ["1-10", "11-50", "", "huge", "11-50"],
    "geographic_reach": ["local", "global", "national", "", "nowhere"],
    "regions": ["europe", "europe;apac", "", "bogus", "apac"],
    "deal_size": ["100", "2500", "", "-5", "x", "100", " 100 ", "1.5"],
    "confidence": ["1", "5", "", "9", "3"],
    "why_us": ["service", "lowest_price", "", "other thing"],
    "ideal_customer": ["Scale-ups", "", "=SUM(A1)", "'=SUM(A1)"],
}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1024])
@pytest.mark.parametrize("seed", range(6))
def test_columns_read_a_chunk_at_a_time_as_rows_read_one_by_one(monkeypatch, seed, chunk):
    """Random files with blank, invalid and hidden cells, empty and repeated respondents and
    short rows: the column-wise chunks give the columns, errors and order of a row at a time,
    whatever the chunk size."""
    import random

    monkeypatch.setattr(spreadsheet, "CHUNK_ROWS", chunk)
    rng = random.Random(seed)
    header = ["respondent", "team", *_CELLS]
    lines = [",".join(header)]
    for i in range(rng.randint(1, 40)):
        respondent = rng.choice([f"R{i}", f"R{i}", f"R{i}", "", f"R{rng.randint(0, i)}"])
        cells = [rng.choice(["sales", "support", ""])] + [rng.choice(v) for v in _CELLS.values()]
        if rng.random() < 0.05:
            cells = cells[:-1]  # a short row: a width error
        lines.append(",".join([respondent, *cells]))
        if rng.random() < 0.05:
            lines.append(rng.choice(["", "," * (len(header) - 1), " ,"]))  # blank rows: skipped
    text = "\n".join(lines) + "\n"
    direct, via_add = _columns_both_ways(text)  # also: the same errors, in the same order
    assert direct.respondents == via_add.respondents
    assert direct.teams == via_add.teams
    assert list(direct.rows) == list(via_add.rows)  # columns in the order rows first gave them
    for qid in direct.rows:
        assert list(direct.rows[qid]) == list(via_add.rows[qid]), qid
        assert direct.values[qid] == via_add.values[qid], qid
    multi = [v for qid in direct.values if CORE.question(qid).kind == "multi" for v in direct.values[qid]]
    assert len({id(v) for v in multi}) == len(multi)  # each row owns its list


def test_a_file_of_blank_rows_has_no_answers():
    for text in ("respondent,team,confidence\n,,\n\n , ,\n", "respondent,team,confidence\n,,\n"):
        with pytest.raises(SpreadsheetError, match="header row but no answers"):
            parse_answer_columns(text, CORE)
    columns = parse_answer_columns("respondent,team,confidence\n,,\nA,sales,4\n,,\n", CORE).columns
    assert columns.respondents == ["A"] and columns.values["confidence"] == [4]


NUMBERS = """
id: numbers
name: Numbers
sections:
- id: s
  title: Numbers
  questions:
  - id: seats
    kind: number
    trait: size
    prompt: Seats?
    integer: true
    min: 1
    max: 5000
  - id: spend
    kind: number
    trait: value
    prompt: Spend?
    min: 0
    max: 5000
"""


@pytest.mark.parametrize("odd", [None, "99999999999", "9" * 400, "5001", "0", "-5", " 12", "1.5", "٣"])
def test_a_column_of_distinct_numbers_reads_as_one_cell_at_a_time(odd):
    """Past an eighth of ``CACHE_LIMIT`` distinct cells in a chunk, a number column's plain cells
    are parsed at once: the same values (ints for an integer question), and one cell out of range
    (or not plain) gives the same error or value as parsing each cell alone."""
    from survey.answer_columns import AnswerColumns
    from survey.template import parse_template

    template = parse_template(NUMBERS)
    cells = [str(1 + (i * 7919) % 4999) for i in range(1500)]
    if odd is not None:
        cells[700] = odd
    text = "respondent,team,seats,spend\n" + "".join(f"R{i},sales,{c},{c}\n" for i, c in enumerate(cells))
    direct = parse_answer_columns(text, template, skip_invalid=True)
    via_add = AnswerColumns()
    result = parse_responses(text, template, skip_invalid=True, into=via_add.add)
    assert [str(e) for e in direct.errors] == [str(e) for e in result.errors]
    for qid in ("seats", "spend"):
        assert direct.columns.values[qid] == via_add.values[qid], qid
        assert [type(v) for v in direct.columns.values[qid]] == [type(v) for v in via_add.values[qid]], qid
        assert list(direct.columns.rows[qid]) == list(via_add.rows[qid]), qid
    assert {type(v) for v in direct.columns.values["seats"]} == {int}
    assert {type(v) for v in direct.columns.values["spend"]} == {float}
    valid = odd in (None, " 12", "٣")  # a padded or non-ASCII digit parses alone, as parse_answer reads it
    assert len(direct.columns.respondents) == (1500 if valid else 1499)
