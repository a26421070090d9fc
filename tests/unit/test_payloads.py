"""bot.payloads parses the payloads of Slack's documentation and bolt-python's tests, and
refuses what Slack would never send."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.payloads import BlockAction, MalformedPayload, SlashCommand, ViewSubmission, parse
from bot.views.survey_modal import element_value, metadata, state_to_raw

PAYLOADS = Path(__file__).resolve().parents[2].parent / "shared" / "slack-reference" / "payloads"
needs_reference = pytest.mark.skipif(not PAYLOADS.is_dir(),
                                     reason=f"Slack's reference payloads are not at {PAYLOADS} (dev and CI only)")


def _json(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


@needs_reference
def test_slash_commands_from_slack_and_bolt():
    for name in ("slash_command__bolt_python_test.txt", "slash_command__docs_signing_example_body.txt"):
        form = dict(parse_qsl((PAYLOADS / name).read_text().strip()))
        command = parse(SlashCommand, form)
        assert command.team_id == form["team_id"] and command.user_id == form["user_id"]
        assert command.words == form.get("text", "").split()
        assert command.response_url == form["response_url"] and command.trigger_id == form["trigger_id"]


@needs_reference
def test_block_actions_from_messages_and_the_home_tab():
    for name in ("block_actions__bolt_python_test.json", "block_actions__message__docs.json",
                 "block_actions__home_tab__docs.json"):
        body = _json(name)
        action = parse(BlockAction, body)
        assert action.user.id == body["user"]["id"]
        assert action.action.action_id == body["actions"][0]["action_id"]
        assert action.team_id == (body.get("team") or {}).get("id")
    home = parse(BlockAction, _json("block_actions__home_tab__docs.json"))
    assert home.view is not None and home.response_url is None  # App Home clicks carry no response_url


@needs_reference
def test_view_submission_from_bolt():
    body = _json("view_submission__bolt_python_test.json")
    submission = parse(ViewSubmission, body)
    assert submission.view.id == body["view"]["id"] and submission.team_id == "T111"
    assert submission.view.values == body["view"]["state"]["values"]
    assert metadata(body["view"]) == {}  # "This is for you!" is not a survey form's metadata


def test_what_slack_never_sends_is_refused():
    with pytest.raises(MalformedPayload, match="user_id"):
        parse(SlashCommand, {"team_id": "T1", "text": "help"})
    with pytest.raises(MalformedPayload, match="actions"):
        parse(BlockAction, {"type": "block_actions", "user": {"id": "U1"}, "actions": []})
    with pytest.raises(MalformedPayload, match="view"):
        parse(ViewSubmission, {"type": "view_submission", "user": {"id": "U1"}})
    with pytest.raises(MalformedPayload):
        parse(BlockAction, "not even a mapping")


def test_state_values_by_element_type():
    values = {
        "q:a": {"answer": {"type": "radio_buttons", "selected_option": {"value": "x"}}},
        "q:b": {"answer": {"type": "checkboxes", "selected_options": [{"value": "y"}, {"value": "z"}]}},
        "q:c": {"answer": {"type": "number_input", "value": "12.5"}},
        "q:d": {"answer": {"type": "plain_text_input", "value": None}},
        "q:e": {"answer": {"type": "static_select", "selected_option": None}},
        "q:f": {"answer": {"type": "multi_static_select", "selected_options": []}},
        "other": {"answer": {"type": "plain_text_input", "value": "ignored"}},
        "q:g": "not a mapping",
    }
    assert state_to_raw(values) == {"a": "x", "b": ["y", "z"], "c": "12.5", "d": None, "e": None, "f": []}
    assert element_value({"type": "datepicker", "selected_date": "2026-01-01"}) is None
    assert metadata({"private_metadata": '{"round": 3, "section": 1, "mode": "edit"}'})["round"] == 3
    assert metadata({"private_metadata": '{"round": "3", "section": 1}'}) == {}
    assert metadata({"private_metadata": "{broken"}) == {}
