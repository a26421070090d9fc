"""bot.payloads parses the payloads of Slack's documentation and bolt-python's tests, and
refuses what Slack would never send."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.payloads import BlockAction, MalformedPayload, SlashCommand, ViewSubmission, parse
from bot.views.forms import (
    FitMetadata,
    RatifyMetadata,
    SurveyStepMetadata,
    element_value,
    read_metadata,
    read_row_id,
)
from bot.views.survey_modal import question_values

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
    # "This is for you!" is not a survey form's metadata
    assert read_metadata(SurveyStepMetadata, body["view"]["private_metadata"]) is None


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
    assert question_values(values) == {"a": "x", "b": ["y", "z"], "c": "12.5", "d": None, "e": None, "f": []}
    assert element_value({"type": "datepicker", "selected_date": "2026-01-01"}) == "2026-01-01"
    assert element_value({"type": "rich_text_input", "rich_text_value": {}}) is None
    assert element_value({"type": "multi_users_select", "selected_users": ["U1"]}) == ["U1"]


def test_form_metadata_is_read_or_refused():
    step = read_metadata(SurveyStepMetadata, '{"round": 3, "section": 1, "mode": "edit"}')
    assert step is not None and (step.round, step.section, step.mode) == (3, 1, "edit")
    assert read_metadata(SurveyStepMetadata, step.dump()) == step
    for bad in ('{"round": "3", "section": 1}', "{broken", "", None, "[1, 2]", '{"round": true, "section": 0}',
                '{"round": 1000000000000000000000000000000, "section": 0}', '{"round": 0, "section": 0}',
                '{"round": 3, "section": 1, "mode": "delete"}', '{"round": 3, "section": -1}'):
        assert read_metadata(SurveyStepMetadata, bad) is None, bad
    ratify = read_metadata(RatifyMetadata, '{"round": 2, "template": 5, "ranges": {"deal": [10, 5, null]}}')
    assert ratify is not None and ratify.ranges == {"deal": (10.0, 5.0, None)}
    assert read_metadata(RatifyMetadata, '{"round": 2, "template": 5, "ranges": {"deal": [null, 5, 6]}}') is None
    assert read_metadata(RatifyMetadata, '{"round": 2, "template": 5, "ranges": {"deal": ["NaN", 5, 6]}}') is None
    assert read_metadata(FitMetadata, '{"version": 1, "template": 9}') == FitMetadata(version=1, template=9)
    assert read_metadata(FitMetadata, '{"version": 1}') is None


def test_row_ids_in_button_values():
    assert read_row_id("42") == 42
    for bad in ("", None, "0", "-1", "4.2", "²", "١٢", "1" * 20, str(2**63), " 4"):
        assert read_row_id(bad) is None, bad
