"""Every staff modal and message, and the leaders' help, close question and App Home, inside
Slack's documented limits (tests/fakeslack/blockkit.py) and readable on a 375 px phone.

The phone rules, by the model of tests/survey_length.py (a 343 px column, about 8 px a
character for control text):

- a closed menu shows one line: every select option and placeholder fits ``MOBILE_LINE``
  (40) characters, so no choice is cut to "…" once picked;
- a button fits the column: 8 px a character plus 40 px of padding, at most 343 px;
- the modal's top bar holds the close button, the title and the submit button: together at
  most 40 characters;
- nothing was cut by our own ``truncate`` (no text ends in "…");
- a message's ``text`` (what a notification shows) says what it is about in a sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.views import home_tab, leader_messages, messages, report_blocks, survey_modal
from bot.views.notices import notice_view
from survey.template import BUILTIN_TEMPLATES, load_builtin
from tests.fakeslack.blockkit import BlockKitValidator
from tests.survey_length import longest_answers

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLOSES = NOW + timedelta(days=7)
TITLE = "ICP survey March 2026"
MOBILE_COLUMN = 343
TOP_BAR_CHARS = 40
VALIDATOR = BlockKitValidator()


def _dicts(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def _modals() -> list[tuple[str, dict[str, Any]]]:
    out = []
    closes = "<!date^1772445600^{date_short_pretty} at {time}|Mon 09 Mar, 10:00 UTC>"
    for template_id in BUILTIN_TEMPLATES:
        template = load_builtin(template_id)
        answers = longest_answers(template)
        for index in range(len(template.sections)):
            for mode in ("answer", "edit"):
                view = survey_modal.section_view(template, index, round_id=2**62, answers=answers, mode=mode,
                                                 closes_text=closes)
                out.append((f"{template_id} step {index + 1} {mode}", view.to_dict()))
        out.append((f"{template_id} done", survey_modal.done_view(template, closes).to_dict()))
    out.append(("notice", notice_view("ICP survey", "This survey round is closed.").to_dict()))
    return out


def _messages() -> list[tuple[str, str, list[dict[str, Any]]]]:
    made = [
        ("invite", *messages.invite_blocks(7, TITLE, 6, CLOSES)),
        ("invite, no close date", *messages.invite_blocks(7, TITLE, 6, None)),
        ("snoozed", *messages.snoozed_blocks(7, TITLE, 6, CLOSES, reminders=True)),
        ("snoozed, no reminder", *messages.snoozed_blocks(7, TITLE, 6, CLOSES, reminders=False)),
        ("kept", *messages.kept_blocks(7, TITLE, 3, CLOSES)),
        ("receipt", *messages.receipt_blocks(7, TITLE, CLOSES)),
        ("receipt, closed", *messages.receipt_blocks(7, TITLE, CLOSES, open_=False)),
        ("reminder", *messages.reminder_blocks(7, TITLE, 6, CLOSES, started=False)),
        ("reminder, started", *messages.reminder_blocks(7, TITLE, 6, CLOSES, started=True)),
        ("closed", *messages.closed_blocks(TITLE)),
        ("close question", *leader_messages.close_question(7, TITLE, 4, 10, "3 days left")),
    ]
    names = list(leader_messages.USAGE)
    for leader in (True, False):
        for round_id, own in ((7, "new"), (7, "started"), (7, "done"), (None, None)):
            text, blocks = leader_messages.help_message(names, leader, TITLE if round_id else None, round_id,
                                                        "4 of 10 finished, 3 days left" if leader else None, own)
            made.append((f"help, leader={leader}, own={own}, round={round_id}", text, blocks))
    return [(name, text, _dicts(blocks)) for name, text, blocks in made]


def _homes() -> list[tuple[str, dict[str, Any]]]:
    status = report_blocks.status_blocks(round_id=7, title=TITLE, invited=10, started=2, completed=4,
                                         closes_at=CLOSES, status="open", can_remind=True, now=NOW)
    out = []
    for own in ((7, TITLE, "new"), (7, TITLE, "started"), (7, TITLE, "done"), None):
        for leader in (True, False):
            view = home_tab.home_view(profile_blocks=[], scores=[("Q4", 48.0), ("Q1", 61.0)], own_round=own,
                                      leader_blocks=status if leader else None, is_leader=leader, minutes=6,
                                      round_buttons=[leader_messages.close_button(7, TITLE)] if leader else None)
            out.append((f"home own={own and own[2]} leader={leader}", view.to_dict()))
    return out


def _texts(node: Any, key: str = "") -> list[tuple[str, str]]:
    """(path key, text) for every text object's text."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "text" and isinstance(v, str):
                found.append((key, v))
            else:
                found += _texts(v, k)
    elif isinstance(node, list):
        for item in node:
            found += _texts(item, key)
    return found


def _elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        if block.get("type") == "input":
            out.append(block["element"])
        elif block.get("type") == "actions":
            out += block["elements"]
        elif block.get("type") == "section" and block.get("accessory"):
            out.append(block["accessory"])
    return out


def _phone_problems(blocks: list[dict[str, Any]]) -> list[str]:
    problems = []
    for element in _elements(blocks):
        kind = element.get("type")
        if kind in ("static_select", "multi_static_select"):
            for option in element.get("options", []):
                if len(option["text"]["text"]) > survey_modal.MOBILE_LINE:
                    problems.append(f"option cut on a phone: {option['text']['text']!r}")
            placeholder = element.get("placeholder", {}).get("text", "")
            if len(placeholder) > survey_modal.MOBILE_LINE:
                problems.append(f"placeholder cut on a phone: {placeholder!r}")
        if kind == "button" and 8 * len(element["text"]["text"]) + 40 > MOBILE_COLUMN:
            problems.append(f"button wider than a phone: {element['text']['text']!r}")
    for key, text in _texts(blocks):
        if text.endswith("…"):
            problems.append(f"text cut to fit a limit ({key}): {text[:40]!r}")
    return problems


@pytest.mark.parametrize(("name", "view"), _modals(), ids=lambda v: v if isinstance(v, str) else "")
def test_modals_fit_slack_and_a_phone(name, view):
    assert VALIDATOR.validate_view(view) == [], name
    assert _phone_problems(view["blocks"]) == [], name
    bar = [view["title"]["text"], (view.get("close") or {}).get("text", ""), (view.get("submit") or {}).get("text", "")]
    assert sum(len(t) for t in bar) <= TOP_BAR_CHARS, (name, bar)


@pytest.mark.parametrize(("name", "text", "blocks"), _messages(), ids=lambda v: v if isinstance(v, str) else "")
def test_messages_fit_slack_and_a_phone_and_notify_usefully(name, text, blocks):
    assert VALIDATOR.validate_blocks(blocks) == [], name
    assert _phone_problems(blocks) == [], name
    assert 6 <= len(text.split()) and len(text) <= 40_000, (name, text)
    assert "ICP" in text or TITLE in text, (name, text)  # says what it is about


@pytest.mark.parametrize(("name", "view"), _homes(), ids=lambda v: v if isinstance(v, str) else "")
def test_app_home_fits_slack_and_a_phone(name, view):
    assert VALIDATOR.validate_view(view) == [], name
    assert _phone_problems(view["blocks"]) == [], name


def test_staff_notifications_name_the_round_the_time_and_anonymity():
    text, _ = messages.invite_blocks(7, TITLE, 6, CLOSES)
    assert TITLE in text and "6 minutes" in text and "anonymous" in text
    text, _ = messages.reminder_blocks(7, TITLE, 6, CLOSES, started=False)
    assert TITLE in text and "6 minutes" in text
    text, _ = messages.kept_blocks(7, TITLE, 3, CLOSES)
    assert "saved" in text and "3 min" in text


def test_every_step_says_where_the_person_is_and_that_it_is_anonymous():
    template = load_builtin("icp-core")
    for index in range(len(template.sections)):
        view = survey_modal.section_view(template, index, round_id=1, answers={}).to_dict()
        top = view["blocks"][0]["elements"][0]["text"]
        assert f"Step {index + 1} of {len(template.sections)}" in top and "min left" in top and "anonymous" in top
        assert view["notify_on_close"] is True and view["close"]["text"] == "Save & close"


def test_number_hints_match_the_number_input():
    """Slack's number input takes digits only: no hint may suggest "25k"."""
    for template_id in BUILTIN_TEMPLATES:
        template = load_builtin(template_id)
        for index in range(len(template.sections)):
            view = survey_modal.section_view(template, index, round_id=1, answers=longest_answers(template)).to_dict()
            for block in view["blocks"]:
                if block.get("type") == "input" and block["element"]["type"] == "number_input":
                    hint = block.get("hint", {}).get("text", "")
                    assert not any(token in hint.lower() for token in ("k.", "k ", "1.2k", "25k", "$")), hint


def test_the_phone_rules_catch_what_a_phone_would_cut():
    long_option = {"type": "input", "label": {"type": "plain_text", "text": "Q"}, "element": {
        "type": "static_select", "action_id": "a", "placeholder": {"type": "plain_text", "text": "Choose one"},
        "options": [{"text": {"type": "plain_text", "text": "x" * 41}, "value": "x"}]}}
    wide_button = {"type": "actions", "elements": [
        {"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": "y" * 38}}]}
    cut = {"type": "section", "text": {"type": "mrkdwn", "text": "cut here…"}}
    problems = _phone_problems([long_option, wide_button, cut])
    assert len(problems) == 3
