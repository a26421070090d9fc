"""The answers export: the CSV ``icp-bot report --answers`` reads back, pseudonyms only."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.export import (
    BOM,
    ExportRefused,
    export_columns,
    export_csv,
    format_number,
    prepare_export,
)
from storage import answers, rounds, templates, workspaces
from storage.db import Database
from survey.answers import Response, validate_answers
from survey.spreadsheet import SpreadsheetError, parse_responses
from survey.template import Question, QuestionKind, Template, load_builtin

CORE = load_builtin("icp-core")
B2C = load_builtin("icp-b2c")
SLACK_USER_ID = re.compile(r"\b[UW][A-Z0-9]{8,}\b")


def _without_team_question(template: Template, answers: dict) -> dict:
    team = template.team_question
    return {k: v for k, v in answers.items() if team is None or k != team.id}


def _round_trip(template: Template, responses: list[Response]) -> list[Response]:
    result = parse_responses(export_csv(template, responses), template)
    assert result.errors == []
    return result.responses


def test_header_is_the_spreadsheet_layout():
    text = export_csv(CORE, [])
    assert text.startswith(BOM)
    header = text.lstrip(BOM).splitlines()[0].split(",")
    assert header[:2] == ["respondent", "team"]
    expected = [q.id for q in CORE.questions if q.role != "team"]
    assert header[2:] == expected
    # Template order, and the team question travels in the ``team`` column only.
    assert "confidence" in header and header.count("team") == 1


def test_round_trip_of_every_kind_with_awkward_text():
    answers = {
        "team": "sales",
        "value_drivers": ["referrals", "spend", "tenure"],
        "top20_revenue_share": 62.5,
        "geographic_reach": "global",
        "regions": ["europe", "north_america"],
        "company_size": "51-200",
        "industry": ["software"],
        "decision_maker": "vp",
        "innovation_attitude": 4,
        "deal_size": 0.00001,
        "acquisition_cost": 1_250_000,
        "disqualifiers": ["deep_discounts", "outside_vision"],
        "ideal_customer": 'A "scale-up", growing fast;\nsigns within a quarter, =SUM(A1) ünïcødé',
        "confidence": 5,
    }
    validated = validate_answers(CORE, answers, require=False)
    responses = [
        Response(respondent="R7K2Q9", team="sales", answers=validated),
        Response(respondent="AB3CDE", team=None, answers={"company_size": "1-10"}),
        Response(respondent="ZZ9XY8", team="support", answers={}),
    ]
    back = _round_trip(CORE, responses)
    assert [r.respondent for r in back] == ["R7K2Q9", "AB3CDE", "ZZ9XY8"]
    assert [r.team for r in back] == ["sales", None, "support"]
    for original, parsed in zip(responses, back, strict=True):
        assert parsed.answers == _without_team_question(CORE, dict(original.answers))


def test_round_trip_of_the_shipped_sample():
    text = resources.files("survey.samples").joinpath("icp-sample-30.csv").read_text("utf-8")
    sample = parse_responses(text, CORE).responses
    back = _round_trip(CORE, sample)
    assert [(r.respondent, r.team, r.answers) for r in back] == [
        (r.respondent, r.team, _without_team_question(CORE, dict(r.answers))) for r in sample]


def _answer(question: Question) -> st.SearchStrategy:
    ids = [o.id for o in question.options]
    if question.kind == QuestionKind.SINGLE:
        return st.sampled_from(ids)
    if question.kind == QuestionKind.MULTI:
        return st.lists(st.sampled_from(ids), min_size=1, max_size=question.max_choices or len(ids), unique=True)
    if question.kind == QuestionKind.SCALE:
        return st.integers(1, question.points or 2)
    if question.kind == QuestionKind.NUMBER:
        low, high = question.min or 0, question.max or 0
        if question.integer:
            return st.integers(int(low), int(high))
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    no_nul = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))  # refused when read back
    return st.text(no_nul, min_size=1, max_size=question.max_length or 500).filter(lambda s: s.strip() == s)


@st.composite
def _responses(draw, template: Template) -> list[Response]:
    count = draw(st.integers(0, 5))
    out = []
    for index in range(count):
        raw = {}
        for question in template.questions:
            if draw(st.booleans()):
                raw[question.id] = draw(_answer(question))
        answers = validate_answers(template, raw, require=False)
        out.append(Response(respondent=f"P{index:05d}", team=draw(st.sampled_from([None, "sales", "support"])),
                            answers=answers))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([CORE, B2C]).flatmap(lambda t: st.tuples(st.just(t), _responses(t))))
def test_round_trip_property(case):
    template, responses = case
    if not responses:  # a header-only file is refused: there is nothing to report
        with pytest.raises(SpreadsheetError, match="no answers"):
            _round_trip(template, responses)
        return
    back = _round_trip(template, responses)
    assert [r.respondent for r in back] == [r.respondent for r in responses]
    assert [r.answers for r in back] == [_without_team_question(template, dict(r.answers)) for r in responses]


@pytest.mark.parametrize("value, text", [(5, "5"), (5.0, "5"), (62.5, "62.5"), (1e-05, "0.00001"),
                                         (10_000_000.0, "10000000"), (0.1, "0.1"),
                                         (80.125, "80.1250"), (1.5, "1.5")])
def test_numbers_are_written_without_exponent_or_separators(value, text):
    assert format_number(value) == text


def test_three_decimals_are_written_so_they_cannot_read_as_thousands():
    responses = [Response(respondent=f"P{i}", answers={"top20_revenue_share": 80.125}) for i in range(3)]
    back = parse_responses(export_csv(CORE, responses), CORE).responses
    assert [r.answers["top20_revenue_share"] for r in back] == [80.125] * 3


def test_refuses_slack_user_ids_as_respondents():
    with pytest.raises(ValueError, match="Slack user id"):
        export_csv(CORE, [Response(respondent="U0123ABCD9", answers={"company_size": "1-10"})])


def _teams_column(text: str) -> list[str]:
    return [line.split(",")[1] for line in text.lstrip(BOM).splitlines()[1:]]


def test_a_lone_blank_team_would_single_a_person_out_so_the_next_team_is_blanked_too():
    # Sales 4, Support 3, Legal 1: blanking Legal alone leaves one blank row (that person);
    # complementary suppression blanks Support too, so the blank rows are 4 people.
    teams = ["sales"] * 4 + ["support"] * 3 + ["legal"]
    responses = [Response(respondent=f"P{i}", team=t) for i, t in enumerate(teams)]
    column = _teams_column(export_csv(CORE, responses, min_team_size=3))
    assert column == ["sales"] * 4 + [""] * 4
    assert column.count("") == 0 or column.count("") >= 3


def test_small_team_blank_when_enough_others_are_blank():
    teams = ["sales"] * 3 + ["legal"] + [None] * 2  # legal 1 and 2 without a team: 3 blank rows
    responses = [Response(respondent=f"P{i}", team=t) for i, t in enumerate(teams)]
    assert _teams_column(export_csv(CORE, responses, min_team_size=3)) == ["sales"] * 3 + [""] * 3


def test_free_text_answered_by_fewer_than_the_threshold_is_left_out():
    responses = [Response(respondent=f"P{i}", team="sales",
                          answers={"company_size": "1-10", **({"ideal_customer": "Only mine"} if i == 0 else {})})
                 for i in range(4)]
    text = export_csv(CORE, responses, min_team_size=3)
    assert "Only mine" not in text
    assert parse_responses(text, CORE).responses[0].answers["company_size"] == "1-10"
    three = [r.model_copy(update={"answers": {**r.answers, "ideal_customer": f"text {i}"}})
             for i, r in enumerate(responses[:3])] + responses[3:]
    assert "text 2" in export_csv(CORE, three, min_team_size=3)


# -- prepare_export: the stored round as the bot exports it --------------------------------

TEAM = "T0001"


def _round_with(db: Database, answered: dict[str, dict], *, min_group: int = 3, close: bool = True) -> int:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM)
        workspaces.update_workspace(s, TEAM, min_group_size=min_group)
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q4 ICP check", created_by="ULEADER01")
        rounds.add_participants(s, rnd.id, [(user, None) for user in answered])
        for user, raw in answered.items():
            answers.save_answers(s, rnd.id, user, validate_answers(CORE, raw, require=False))
        if close:
            rounds.close_round(s, rnd.id)
        return rnd.id


def test_prepare_export_uses_pseudonyms_and_round_trips(db: Database):
    people = {
        "U0AAAAAAA1": {"team": "sales", "company_size": "51-200", "industry": ["software", "healthcare"]},
        "U0AAAAAAA2": {"team": "sales", "company_size": "11-50", "ideal_customer": "Fast-growing SaaS, 50-200 people"},
        "U0AAAAAAA3": {"team": "sales", "deal_size": "25k"},
        "U0AAAAAAA4": {"team": "support", "company_size": "1-10"},
        "U0AAAAAAA5": {"team": "sales"},
        "U0AAAAAAA6": {"team": "marketing"},
        "U0AAAAAAA7": {"team": "marketing"},
    }
    round_id = _round_with(db, people)
    export = prepare_export(db, TEAM)
    assert export.round_id == round_id and export.respondents == 7
    assert export.filename == f"icp-round-{round_id}.csv"
    assert not SLACK_USER_ID.search(export.csv_text)
    for user in people:
        assert user not in export.csv_text
    back = parse_responses(export.csv_text, CORE).responses
    assert sorted(r.answers.get("company_size", "-") for r in back) == ["-"] * 4 + ["1-10", "11-50", "51-200"]
    # Sales 4 is shown; support (1) and marketing (2) are blank: 3 blank rows, nobody singled out.
    assert sorted(r.team or "-" for r in back) == ["-"] * 3 + ["sales"] * 4
    # one person wrote a sentence: the report hides it, so does the export
    assert "Fast-growing" not in export.csv_text
    assert [c.id for c in export_columns(CORE)] == export.csv_text.lstrip(BOM).splitlines()[0].split(",")[2:]


def test_prepare_export_of_an_open_round_uses_finished_answers_in_steps(db: Database):
    people = {f"U0AAAAAAA{i}": {"team": "sales", "company_size": "1-10"} for i in range(5)}
    round_id = _round_with(db, people, close=False)
    with db.session() as s:
        for user in list(people)[:2]:
            rounds.mark_completed(s, round_id, user)
    with pytest.raises(ExportRefused, match="2 people have finished"):
        prepare_export(db, TEAM)
    with db.session() as s:
        for user in list(people)[2:]:
            rounds.mark_completed(s, round_id, user)
    # 5 finished, steps of 3: the first 3 to finish, as the report uses them
    assert prepare_export(db, TEAM).respondents == 3


def test_prepare_export_refuses_below_the_group_size(db: Database):
    _round_with(db, {"U0AAAAAAA1": {"company_size": "1-10"}, "U0AAAAAAA2": {"company_size": "1-10"}})
    with pytest.raises(ExportRefused, match="at least 3"):
        prepare_export(db, TEAM)


def test_prepare_export_refuses_other_workspaces_rounds(db: Database):
    round_id = _round_with(db, {f"U0AAAAAAA{i}": {"company_size": "1-10"} for i in range(3)})
    with pytest.raises(ExportRefused, match="no such survey round"):
        prepare_export(db, "T0OTHER", round_id)


def test_text_that_looks_like_a_formula_is_escaped_and_round_trips():
    from bot.services.export import export_csv
    from survey.answers import Response
    from survey.spreadsheet import parse_responses
    from survey.template import load_builtin

    template = load_builtin("icp-core")
    responses = [Response(respondent=f"P{i}", team="sales", answers={"ideal_customer": text})
                 for i, text in enumerate(["=HYPERLINK(\"http://x\")", "+1 SaaS", "@everyone", "plain"])]
    text = export_csv(template, responses)
    rows = text.lstrip("\ufeff").splitlines()
    assert any(",'=HYPERLINK" in row or "\"'=HYPERLINK" in row for row in rows)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.split(","))
    back = parse_responses(text, template)
    assert [r.answers["ideal_customer"] for r in back.responses] == [
        "=HYPERLINK(\"http://x\")", "+1 SaaS", "@everyone", "plain"]
