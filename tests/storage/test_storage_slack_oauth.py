"""Slack tokens at rest: encrypted with ICP_ENCRYPTION_KEY, read back, rotated to a new key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.oauth.installation_store.models import Installation
from sqlalchemy import select

from storage.db import Database
from storage.models import slack_bots, slack_installations
from storage.slack_oauth import (
    TokenKeyError,
    generate_key,
    installation_store,
    is_encrypted,
    rotate_tokens,
    token_cipher,
)

CLIENT = "111.222"
BOT_TOKEN = "xoxb-1111111111111-2222222222222-abcdefghijklmnopqrstuvwx"
USER_TOKEN = "xoxp-1111111111111-3333333333333-4444444444444-0123456789abcdef"
REFRESH = "xoxe-1-abcdefghijklmnopqrstuvwxyz0123456789"


def _installation(team: str = "T0001", **tokens) -> Installation:
    return Installation(
        app_id="A0001", enterprise_id=None, team_id=team, team_name="Acme", user_id="U0LEAD",
        bot_token=tokens.get("bot_token", BOT_TOKEN), bot_id="B0001", bot_user_id="U0BOT",
        bot_scopes="commands,chat:write", bot_refresh_token=tokens.get("bot_refresh_token", REFRESH),
        bot_token_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        user_token=tokens.get("user_token", USER_TOKEN), user_scopes="identify",
        user_refresh_token=tokens.get("user_refresh_token", REFRESH + "u"),
        user_token_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        installed_at=datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
    )


def _stored(db: Database) -> list[str]:
    """Every token value as it lies in the database."""
    values = []
    with db.engine.connect() as conn:
        for table in (slack_bots, slack_installations):
            for row in conn.execute(select(table)).mappings():
                values += [row[c] for c in ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
                           if c in row and row[c] is not None]
    return values


def test_tokens_are_encrypted_at_rest_and_read_back(db):
    key = generate_key()
    store = installation_store(db, CLIENT, encryption_key=key)
    store.save(_installation())
    stored = _stored(db)
    assert len(stored) == 6  # installation: 4 tokens, bot: 2
    plaintexts = {BOT_TOKEN, USER_TOKEN, REFRESH, REFRESH + "u"}
    for value in stored:
        assert is_encrypted(value)
        assert not any(p in value for p in plaintexts)
        assert token_cipher(key).decrypt(value.encode()).decode() in plaintexts

    found = installation_store(db, CLIENT, encryption_key=key).find_installation(enterprise_id=None, team_id="T0001")
    assert found is not None
    assert (found.bot_token, found.user_token, found.bot_refresh_token, found.user_refresh_token) == (
        BOT_TOKEN, USER_TOKEN, REFRESH, REFRESH + "u")
    bot = store.find_bot(enterprise_id=None, team_id="T0001")
    assert bot is not None and bot.bot_token == BOT_TOKEN
    # a user lookup goes through find_bot for the latest bot token too
    assert store.find_installation(enterprise_id=None, team_id="T0001", user_id="U0LEAD").bot_token == BOT_TOKEN
    store.delete_installation(enterprise_id=None, team_id="T0001")
    store.delete_bot(enterprise_id=None, team_id="T0001")
    assert _stored(db) == []


def test_without_a_key_tokens_are_plaintext_and_encrypted_ones_refuse_to_load(db):
    installation_store(db, CLIENT).save(_installation())
    assert BOT_TOKEN in _stored(db)  # ICP_ALLOW_PLAINTEXT_TOKENS=1: what slack_sdk stores
    installation_store(db, CLIENT, encryption_key=generate_key()).save(_installation(team="T0002"))
    with pytest.raises(TokenKeyError, match="ICP_ENCRYPTION_KEY is not set"):
        installation_store(db, CLIENT).find_installation(enterprise_id=None, team_id="T0002")


def test_a_wrong_key_is_a_clear_error(db):
    installation_store(db, CLIENT, encryption_key=generate_key()).save(_installation())
    with pytest.raises(TokenKeyError) as info:
        installation_store(db, CLIENT, encryption_key=generate_key()).find_bot(enterprise_id=None, team_id="T0001")
    assert "ICP_ENCRYPTION_KEY" in str(info.value) and "new,old" in str(info.value)


def test_rotation_re_encrypts_every_token_with_the_new_key(db):
    old, new = generate_key(), generate_key()
    installation_store(db, CLIENT).save(_installation(team="T0001"))  # from before encryption
    installation_store(db, CLIENT, encryption_key=old).save(_installation(team="T0002"))
    # while rotating both keys read, the new one writes
    both = f"{new},{old}"
    assert installation_store(db, CLIENT, encryption_key=both).find_bot(
        enterprise_id=None, team_id="T0002").bot_token == BOT_TOKEN

    assert rotate_tokens(db, both) == 12
    stored = _stored(db)
    assert all(is_encrypted(v) for v in stored)
    new_only = token_cipher(new)
    assert all(new_only.decrypt(v.encode()) for v in stored)  # InvalidToken if any is not
    for team in ("T0001", "T0002"):  # the old key can go now
        found = installation_store(db, CLIENT, encryption_key=new).find_installation(enterprise_id=None, team_id=team)
        assert found.bot_token == BOT_TOKEN and found.user_refresh_token == REFRESH + "u"
    with pytest.raises(TokenKeyError):
        installation_store(db, CLIENT, encryption_key=old).find_bot(enterprise_id=None, team_id="T0001")


def test_rotation_with_a_missing_old_key_changes_nothing(db):
    installation_store(db, CLIENT, encryption_key=generate_key()).save(_installation())
    before = _stored(db)
    with pytest.raises(TokenKeyError, match="nothing was changed"):
        rotate_tokens(db, generate_key())
    assert _stored(db) == before


def test_malformed_keys_are_refused_without_echoing_them():
    with pytest.raises(ValueError) as info:
        token_cipher(f"{generate_key()},not-a-key-secretpart")
    assert "key 2 of 2" in str(info.value) and "secretpart" not in str(info.value)
    assert token_cipher(None) is None and token_cipher(" , ") is None
