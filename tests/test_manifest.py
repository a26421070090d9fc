"""manifest.yml: valid against Slack's manifest schema, and it declares what the bot uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.settings import DEFAULT_SCOPES, load_settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "manifest.yml"
SCHEMA = (ROOT.parent / "shared" / "slack-reference" / "schemas"
          / "slackapi-manifest-schema__schemas_manifest.schema.1.0.0.json")

# Every scope and what needs it; nothing more.
NEEDED_SCOPES = {
    "commands",  # /icp-check
    "chat:write",  # invitations, reminders, reports, DMs to leaders
    "chat:write.public",  # the digest into a public channel the bot was not added to
    "im:write",  # open the DM an export is shared into
    "users:read",  # users.info / users.list: admins as leaders, time zones, audience
    "usergroups:read",  # usergroups.users.list: a user group as the audience
    "channels:read",  # conversations.members of a public channel
    "groups:read",  # conversations.members of a private channel
    "files:write",  # the CSV export
    "im:history",  # conversations.history: was a DM whose answer got lost posted after all?
    "channels:history",  # the same for a post to a public channel
    "groups:history",  # the same for a post to a private channel the bot was added to
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_manifest_validates_against_slacks_schema(manifest):
    if not SCHEMA.is_file():
        pytest.skip(f"Slack's manifest schema is not available at {SCHEMA} "
                    "(the shared slack-reference folder is only present in the dev setup)")
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_catches_a_broken_manifest(manifest):
    """The validation above can fail: a misspelt key or a bad event is rejected."""
    if not SCHEMA.is_file():
        pytest.skip(f"Slack's manifest schema is not available at {SCHEMA}")
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(manifest))
    broken["features"]["slash_commands"][0]["commandd"] = broken["features"]["slash_commands"][0].pop("command")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_slash_command(manifest):
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/icp-check"]
    command = commands[0]
    assert command["usage_hint"].strip()
    for sub in ("start", "status", "report", "close", "ratify", "fit"):
        assert sub in command["usage_hint"]
    assert len(command["description"]) <= 100
    assert command.get("should_escape") is True  # mentions arrive as <@U...> ids


def test_app_home_tabs(manifest):
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True


def test_interactivity_socket_mode_and_events(manifest):
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "app_uninstalled", "tokens_revoked"}


def test_bot_scopes_equal_the_oauth_default(manifest, tmp_path, monkeypatch):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == set(DEFAULT_SCOPES.split(","))
    # the default the OAuth flow actually requests, with no SLACK_SCOPES in the environment
    monkeypatch.delenv("SLACK_SCOPES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert set(load_settings().slack_scopes.split(",")) == set(scopes)


def test_no_scope_beyond_what_the_features_need(manifest):
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == NEEDED_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"]  # no user token is asked for


def test_display_information_fits_slacks_limits(manifest):
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
    assert len(manifest["features"]["bot_user"]["display_name"]) <= 80
