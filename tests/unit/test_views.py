"""Block Kit builders: Slack's limits, anonymity and escaping on what leaders and staff see."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.views import messages, report_blocks, survey_modal
from survey.answers import Response
from survey.report import build_report
from survey.spreadsheet import read_responses
from survey.template import load_builtin

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SAMPLE = Path(str(resources.files("survey.samples").joinpath("icp-sample-30.csv")))  # not cwd-relative


def _dicts(blocks) -> list[dict]:
    return [b.to_dict() for b in blocks]


def test_time_left_reads_naturally():
    assert report_blocks.time_left(NOW + timedelta(days=3, hours=4, minutes=5), NOW) == "3 days 4 hours left"
    assert report_blocks.time_left(NOW + timedelta(days=1), NOW) == "1 day left"
    assert report_blocks.time_left(NOW + timedelta(hours=1, minutes=59), NOW) == "1 hour left"
    assert report_blocks.time_left(NOW + timedelta(minutes=30), NOW) == "30 minutes left"
    assert report_blocks.time_left(NOW - timedelta(seconds=1), NOW) == "past the close date"


def test_status_shows_counts_rate_and_time_left_but_no_people():
    blocks = _dicts(report_blocks.status_blocks(
        round_id=4, title="Q1 ICP", invited=10, started=3, completed=6,
        closes_at=NOW + timedelta(days=2), status="open", can_remind=True, now=NOW))
    text = json.dumps(blocks)
    assert "finished: 6 (60%)" in text and "started, not finished: 3" in text
    assert "2 days left" in text
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == report_blocks.REMIND and "4 who have not finished" in button["text"]["text"]
    closed = json.dumps(_dicts(report_blocks.status_blocks(
        round_id=4, title="Q1", invited=10, started=0, completed=10, closes_at=NOW, status="closed",
        can_remind=True, now=NOW)))
    assert report_blocks.REMIND not in closed


def test_report_of_the_sample_fits_a_message():
    template = load_builtin("icp-core")
    report = build_report(template, read_responses(SAMPLE, template).responses,
                          bootstrap=50)
    blocks = _dicts(report_blocks.report_blocks(report, "Q1", round_id=1, post_channel="C1", for_channel=False))
    assert len(blocks) <= 50
    assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks)
    dumped = json.dumps(blocks, ensure_ascii=False)
    # the headline opens the report: score in words, agreed, split with every team, next step
    assert blocks[1]["text"]["text"].startswith("*Alignment score: 51/100: your team partly agrees*")
    head = blocks[2]["text"]["text"]
    assert head.startswith("*Agreed on*\n:large_green_circle: *Top-20% revenue share*: 65%")
    assert ("*Decision maker*: Marketing: Another C-level executive (88%) · Sales: VP (50%) · "
            "Support: Manager / team lead (90%)") in head
    assert "*Next:* Ratify the 4 agreed ICP traits" in head
    # jargon only in the closing details line
    details = blocks[-2]["elements"][0]["text"]
    assert details.startswith("Details: score 51.0, 95% interval")
    assert "Krippendorff" in details and "Benjamini-Hochberg" in details
    before = json.dumps(blocks[:-2], ensure_ascii=False)
    assert "alpha" not in before and "r_WG" not in before and "IQR" not in before
    # traits sorted by agreement, short names
    lines = [ln for b in blocks if b["type"] == "section" for ln in b["text"]["text"].split("\n") if "░" in ln or "█" in ln]
    values = [float(ln.split("` ")[1].split()[0]) for ln in lines]
    assert len(values) == 17 and values == sorted(values, reverse=True)
    assert "*Company size*: 51-200 employees (63%)" in dumped
    assert blocks[-1]["elements"][0]["value"] == "1:C1"


def test_channel_post_leaves_quotes_out_unless_the_template_allows_them():
    template = load_builtin("icp-core")
    responses = read_responses("survey/samples/icp-sample-30.csv", template).responses
    report = build_report(template, responses, bootstrap=0)
    quote = report.texts[0].quotes[0]
    assert quote[:30] not in json.dumps(_dicts(report_blocks.report_blocks(report, "Q1")))
    assert quote[:30] not in json.dumps(_dicts(report_blocks.report_blocks(report, "Q1", for_channel=True)))
    assert quote[:30] in json.dumps(_dicts(report_blocks.report_blocks(report, "Q1", for_channel=False)))
    allowing = template.model_copy(update={"quotes_in_channel": True})
    shared = build_report(allowing, responses, bootstrap=0)
    assert quote[:30] in json.dumps(_dicts(report_blocks.report_blocks(shared, "Q1", for_channel=True)))


def test_free_text_in_a_report_never_pings_or_links():
    template = load_builtin("icp-core")
    responses = [Response(respondent=f"X{i}", team="sales",
                          answers={"company_size": "51-200",
                                   "ideal_customer": "<!channel> see <https://evil.example|this> <@U0BOSS>"})
                 for i in range(3)]
    dumped = json.dumps(_dicts(report_blocks.report_blocks(build_report(template, responses, bootstrap=0), "Q1",
                                                           for_channel=False)))
    assert "&lt;!channel&gt;" in dumped
    assert "<!channel>" not in dumped and "<https://evil" not in dumped and "<@U0BOSS>" not in dumped


def test_hidden_report_offers_no_post_button():
    template = load_builtin("icp-core")
    report = build_report(template, [Response(respondent="A", answers={"company_size": "51-200"})])
    dumped = json.dumps(_dicts(report_blocks.report_blocks(report, "tiny", round_id=1, post_channel="C1")))
    assert "Not enough answers" in dumped and report_blocks.POST_REPORT not in dumped


def test_snoozed_invitation_promises_a_reminder_only_when_one_can_come():
    _, with_reminder = messages.snoozed_blocks(1, "Q1", 8, NOW, reminders=True)
    _, without = messages.snoozed_blocks(1, "Q1", 8, NOW, reminders=False)
    assert "remind you" in json.dumps(_dicts(with_reminder))
    assert "remind you" not in json.dumps(_dicts(without))


def test_every_section_modal_fits_slack_limits_and_prefills():
    template = load_builtin("icp-core")
    answers = {"company_size": "51-200", "industry": ["software"], "deal_size": 25000, "innovation_attitude": 4,
               "geographic_reach": "global"}  # regions is asked after national, named regions or global
    for index, section in enumerate(template.sections):
        view = survey_modal.section_view(template, index, round_id=7, answers=answers).to_dict()
        assert len(view["blocks"]) <= 100 and len(view["title"]["text"]) <= 24
        assert len(view["private_metadata"]) <= 3000
        inputs = [b for b in view["blocks"] if b["type"] == "input"]
        assert [b["block_id"] for b in inputs] == [f"q:{q.id}" for q in section.questions]
        for block in inputs:
            element = block["element"]
            assert len(element.get("options", [])) <= 10 or element["type"].endswith("select")
    who = next(i for i, s in enumerate(template.sections) if s.id == "who_where")
    view = survey_modal.section_view(template, who, round_id=7, answers=answers).to_dict()
    size = next(b for b in view["blocks"] if b.get("block_id") == "q:company_size")
    assert size["element"]["initial_option"]["value"] == "51-200"


def _answer_sets(template) -> list[dict]:
    """Saved answers that exercise every way a value is pre-filled: none, the longest, the first
    and last options, numbers with and without decimals, values no longer among the options."""
    from survey.template import QuestionKind
    from tests.survey_length import longest_answers

    first, last, odd = {}, {}, {}
    for q in template.questions:
        if q.kind == QuestionKind.SINGLE:
            first[q.id], last[q.id], odd[q.id] = q.options[0].id, q.options[-1].id, "gone"
        elif q.kind == QuestionKind.SCALE:
            first[q.id], last[q.id], odd[q.id] = 1, q.points, 99
        elif q.kind == QuestionKind.MULTI:
            first[q.id], last[q.id], odd[q.id] = [q.options[0].id], [o.id for o in q.options], ["gone"]
        elif q.kind == QuestionKind.NUMBER:
            first[q.id], last[q.id], odd[q.id] = q.min if q.min is not None else 0, 12.5, 3.0
        else:
            first[q.id], last[q.id], odd[q.id] = "x", "Mid-size software companies", ""
    return [{}, longest_answers(template), first, last, odd]


def test_the_cached_section_payload_is_the_section_view():
    """The ack's modal, built from cached parts, is exactly the slack_sdk-built view, for every
    step, mode and kind of saved answer of the built-in templates (twice: cold, then cached)."""
    from survey.template import BUILTIN_TEMPLATES

    for key in BUILTIN_TEMPLATES:
        template = load_builtin(key)
        for answers in _answer_sets(template):
            for index in range(len(template.sections)):
                for mode in ("answer", "edit"):
                    for closes in (None, "<!date^1700000000^{date_short}|Tue 14 Nov>"):
                        expected = survey_modal.section_view(template, index, round_id=41, answers=answers,
                                                             mode=mode, closes_text=closes).to_dict()
                        for _ in range(2):
                            assert survey_modal.section_payload(template, index, round_id=41, answers=answers,
                                                                mode=mode, closes_text=closes) == expected
