"""Answers checked at the edge (issue 14): a value of the wrong type, a NUL or a lone surrogate
is refused with a message naming the fault, in a modal (survey.answers) and in a spreadsheet
(survey.spreadsheet, naming the line and the column); the export writes any value already
stored, whatever it holds."""

from __future__ import annotations

import json

import pytest

from bot.services.export import export_csv, prepare_export
from storage import answers, rounds, templates, workspaces
from storage.db import Database
from survey.answers import AnswerError, Response, parse_answer, printable
from survey.spreadsheet import SpreadsheetError, parse_responses, read_responses
from survey.template import load_builtin

CORE = load_builtin("icp-core")
TEXT = CORE.question("ideal_customer")
SIZE = CORE.question("company_size")  # single
DRIVERS = CORE.question("value_drivers")  # multi
INNOVATION = CORE.question("innovation_attitude")  # scale
DEAL = CORE.question("deal_size")  # number
SURROGATE = json.loads('"Software \\ud800 firms"')  # what a JSON payload's "\ud800" decodes to


def _message(question, raw) -> str:
    with pytest.raises(AnswerError) as info:
        parse_answer(question, raw)
    assert info.value.question_id == question.id
    return info.value.message


@pytest.mark.parametrize("raw", [{"text": "hi"}, ["hi"], 42, 4.5, True])
def test_a_text_answer_must_be_text(raw):
    assert _message(TEXT, raw) == "must be text"


@pytest.mark.parametrize(("raw", "code"), [(SURROGATE, "U+D800"), ("a\x00b", "U+0000"),
                                           (json.loads('"\\udfff"'), "U+DFFF")])
def test_a_nul_or_a_lone_surrogate_is_refused_by_name(raw, code):
    for question in (TEXT, SIZE, DRIVERS, INNOVATION, DEAL):
        message = _message(question, raw)
        assert message == f"contains a character that cannot be saved ({code}); please retype it"
        message.encode("utf-8")  # the message itself can be sent and logged


def test_choices_refuse_dicts_and_nested_values():
    assert _message(SIZE, {"value": "51-200"}) == "must be one of the options"
    assert _message(DRIVERS, {"spend": 1}) == "must be one of the options"  # not its keys
    assert _message(DRIVERS, 5) != ""  # a number for a multi answer is an answer error, not a TypeError
    assert _message(DRIVERS, [["spend"]]) == "must be one of the options"
    assert _message(DRIVERS, ["spend", None]) == "must be one of the options"
    assert _message(DRIVERS, ["spend", "te\x00nure"]).startswith("contains a character")
    assert _message(INNOVATION, {"v": 4}) == "must be a number"
    assert _message(DEAL, [25000]) == "must be a number"


def test_valid_text_with_odd_but_storable_characters_is_kept():
    text = "\u202eRTL\u200b zero-width \U0001f600 emoji, tab\tand\nnewline"
    assert parse_answer(TEXT, text) == text.strip()
    assert parse_answer(SIZE, ["51-200"]) == "51-200" and parse_answer(INNOVATION, 4) == 4


# ------------------------------------------------------------------------------ spreadsheet
HEADER = "respondent,team,company_size,ideal_customer\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(SpreadsheetError) as info:
        parse_responses(text, CORE, source="answers.csv")
    return [str(e) for e in info.value.errors]


def test_a_spreadsheet_cell_with_nul_names_the_row_and_the_column():
    problems = _problems(HEADER + "A1,sales,11-50,fine\nA2,sales,11-50,bad\x00cell\n")
    assert problems == ["line 3 (A2): ideal_customer: contains a character that cannot be saved (U+0000); "
                        "please retype it"]


def test_a_spreadsheet_label_with_a_surrogate_names_its_column():
    problems = _problems(HEADER + f"A1,{SURROGATE},11-50,x\nA\x002,sales,11-50,x\n")
    assert problems == ["line 2: team: contains a character that cannot be saved (U+D800)",
                        "line 3: respondent: contains a character that cannot be saved (U+0000)"]


def test_a_file_that_is_not_utf8_names_the_line_and_the_column(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes((HEADER + "A1,sales,11-50,fine\nA2,sales,11-50,caf").encode() + b"\xe9 owners\n")
    with pytest.raises(SpreadsheetError) as info:
        read_responses(path, CORE)
    (problem,) = info.value.errors
    assert str(problem).startswith("line 3, column ideal_customer: not UTF-8 text (byte ")
    assert "0xE9" in str(problem) and "CSV UTF-8" in str(problem)


def test_a_semicolon_file_that_is_not_utf8_names_the_column(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"respondent;team;company_size\nA1;sal\xe9s;11-50\n")
    with pytest.raises(SpreadsheetError) as info:
        read_responses(path, CORE)
    assert str(info.value.errors[0]).startswith("line 2, column team: not UTF-8 text")


# ------------------------------------------------------------------------------ export
def test_export_writes_values_stored_before_the_checks():
    """A lone surrogate or a NUL stored by an older version is written as U+FFFD: the file
    encodes, and every other answer is kept."""
    responses = [Response.model_construct(respondent=f"r{i}", team=None,
                                          answers={"ideal_customer": text, "company_size": "11-50",
                                                   "value_drivers": ["spend", f"x{SURROGATE}"]})
                 for i, text in enumerate([SURROGATE, "nul\x00here", "plain"])]
    text = export_csv(CORE, responses)
    text.encode("utf-8")
    assert printable(SURROGATE) in text and "nul\ufffdhere" in text and "plain" in text


def test_prepare_export_of_a_round_with_a_stored_surrogate(db: Database):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's jsonb never held a lone surrogate: it refuses one")
    team = "T0001"
    with db.session() as s:
        workspaces.get_or_create_workspace(s, team)
        stored = templates.latest_template(s, team, "icp-core")
        rnd = rounds.create_round(s, team, stored.id, title="Q4", created_by="ULEADER01")
        users = [f"U0AAAAAAA{i}" for i in range(1, 6)]
        rounds.add_participants(s, rnd.id, [(u, None) for u in users])
        for i, user in enumerate(users):  # written as the old code did: no check
            answers.save_answers(s, rnd.id, user, {"company_size": "11-50", "ideal_customer": f"{SURROGATE} {i}"})
        rounds.close_round(s, rnd.id)
        round_id = rnd.id
    export = prepare_export(db, team, round_id)
    export.csv_text.encode("utf-8")
    assert export.respondents == 5 and export.csv_text.count("Software \ufffd firms") == 5
