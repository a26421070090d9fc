"""slack_sdk's OAuth installation and state stores on the bot's own database, with the
Slack tokens encrypted at rest.

Their tables are created by the Alembic migrations (never by ``create_tables()``), so a
multi-workspace deployment has one schema to upgrade.

Encryption: with ``encryption_key`` (``ICP_ENCRYPTION_KEY``: one or more Fernet keys,
comma-separated, the first one encrypts) every token column (bot, user and refresh tokens of
``slack_bots`` and ``slack_installations``) is written as a Fernet token and read back through
MultiFernet, so rows written with an older key listed after the new one stay readable until
``rotate_tokens`` re-encrypts them. The columns are wrapped with a SQLAlchemy type rather than
by copying slack_sdk's save/find logic, so every query of slack_sdk's store goes through it.
A plaintext Slack token (``xox...``, from before encryption was turned on) is still read, and
``rotate_tokens`` encrypts it; an encrypted one read without the right key raises
``TokenKeyError`` naming the setting, instead of handing Slack a ciphertext as a token.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import String, TypeDecorator, select, update

from storage.db import Database
from storage.models import (
    SLACK_BOTS_TABLE,
    SLACK_INSTALLATIONS_TABLE,
    SLACK_OAUTH_STATES_TABLE,
    slack_bots,
    slack_installations,
)

KEY_SETTING = "ICP_ENCRYPTION_KEY"
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
TOKEN_COLUMN_WIDTH = 200  # slack_sdk's String(200)
_PLAINTEXT_PREFIX = "xox"  # every Slack bot, user and refresh token; a Fernet token starts "gAAAA"


class TokenKeyError(RuntimeError):
    """A stored token cannot be decrypted: the key is wrong, missing, or was dropped too soon."""


def token_cipher(keys: str | Sequence[str] | None) -> MultiFernet | None:
    """The cipher for ``keys`` (comma-separated or a list; the first encrypts), None for none.

    Raises ValueError, without echoing a key, when one is not a Fernet key."""
    if keys is None:
        return None
    parts = [k.strip() for k in (keys.split(",") if isinstance(keys, str) else keys) if k.strip()]
    if not parts:
        return None
    fernets = []
    for position, key in enumerate(parts, 1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"key {position} of {len(parts)} is not a Fernet key (32 url-safe base64-encoded "
                "bytes; make one with `icp-bot keys generate`)") from exc
    return MultiFernet(fernets)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def is_encrypted(value: str | None) -> bool:
    return value is not None and not value.startswith(_PLAINTEXT_PREFIX)


def _decrypt(cipher: MultiFernet | None, value: str) -> str:
    if cipher is None:
        raise TokenKeyError(f"the database holds encrypted Slack tokens and {KEY_SETTING} is not set: "
                            "set it to the key they were encrypted with")
    try:
        return cipher.decrypt(value.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise TokenKeyError(
            f"a stored Slack token cannot be decrypted with {KEY_SETTING}: the key is wrong, or the "
            "token was encrypted with a key no longer listed (after a new key, keep the old one "
            f"listed: {KEY_SETTING}=new,old, until `icp-bot keys rotate` has run)") from exc


class EncryptedToken(TypeDecorator[str]):
    """A token column: Fernet-encrypted on write when there is a cipher, decrypted on read."""

    impl = String(200)
    cache_ok = False  # carries a cipher, which is not part of a cache key

    def __init__(self, cipher: MultiFernet | None) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None or self.cipher is None:
            return value
        encrypted = self.cipher.encrypt(value.encode("utf-8")).decode("ascii")
        if dialect.name == "postgresql" and len(encrypted) > TOKEN_COLUMN_WIDTH:
            # slack_sdk's columns are VARCHAR(200): a Fernet token holds a Slack token of < 80 characters
            raise ValueError(f"an encrypted Slack token takes {len(encrypted)} characters and the column "
                             f"holds {TOKEN_COLUMN_WIDTH}: the token columns must be widened by a migration")
        return encrypted

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None or not is_encrypted(value):
            return value
        return _decrypt(self.cipher, value)


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store with its token columns encrypted."""

    def __init__(self, client_id: str, engine, cipher: MultiFernet | None, **kwargs) -> None:
        super().__init__(client_id=client_id, engine=engine, **kwargs)
        self.cipher = cipher
        for table in (self.bots, self.installations):
            for name in TOKEN_COLUMNS:
                if name in table.c:
                    table.c[name].type = EncryptedToken(cipher)


def installation_store(db: Database, client_id: str, *,
                       encryption_key: str | Sequence[str] | None = None) -> EncryptedInstallationStore:
    """The OAuth installation store; tokens encrypted when ``encryption_key`` is given
    (``ICP_ENCRYPTION_KEY``'s value). Without a key tokens are written in plaintext (only with
    ``ICP_ALLOW_PLAINTEXT_TOKENS=1``, see bot.settings), and encrypted ones refuse to load."""
    return EncryptedInstallationStore(
        client_id=client_id,
        engine=db.engine,
        cipher=token_cipher(encryption_key),
        bots_table_name=SLACK_BOTS_TABLE,
        installations_table_name=SLACK_INSTALLATIONS_TABLE,
    )


def oauth_state_store(db: Database, expiration_seconds: int = 600) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(
        expiration_seconds=expiration_seconds, engine=db.engine, table_name=SLACK_OAUTH_STATES_TABLE
    )


def rotate_tokens(db: Database, encryption_key: str | Sequence[str]) -> int:
    """Re-encrypt every stored token with the first key of ``encryption_key``, in one
    transaction; plaintext tokens are encrypted. Returns how many tokens were written.

    Every other listed key must still decrypt what it encrypted; a token none of them opens
    raises TokenKeyError and nothing is changed."""
    cipher = token_cipher(encryption_key)
    if cipher is None:
        raise ValueError(f"{KEY_SETTING} is empty: there is no key to encrypt with")
    written = 0
    with db.engine.begin() as conn:
        for table in (slack_bots, slack_installations):
            columns = [table.c[name] for name in TOKEN_COLUMNS if name in table.c]
            for row in conn.execute(select(table.c.id, *columns)).mappings().all():
                values = {}
                for column in columns:
                    value = row[column.name]
                    if value is None:
                        continue
                    if is_encrypted(value):
                        try:
                            values[column.name] = cipher.rotate(value.encode("ascii")).decode("ascii")
                        except (InvalidToken, UnicodeError) as exc:
                            raise TokenKeyError(
                                f"a token in {table.name} (row {row['id']}) opens with none of the keys "
                                f"in {KEY_SETTING}; nothing was changed") from exc
                    else:
                        values[column.name] = cipher.encrypt(value.encode("utf-8")).decode("ascii")
                if values:
                    conn.execute(update(table).where(table.c.id == row["id"]).values(**values))
                    written += len(values)
    return written


def check_stored_tokens(db: Database, encryption_key: str | Sequence[str] | None) -> int:
    """Raise TokenKeyError unless every stored token opens with ``encryption_key``; returns how
    many encrypted tokens there are. Run at start-up: a wrong key otherwise only shows when
    bolt's authorize fails (logged at INFO) on the next request."""
    cipher = token_cipher(encryption_key)
    encrypted = 0
    with db.engine.connect() as conn:
        for table in (slack_bots, slack_installations):
            columns = [table.c[name] for name in TOKEN_COLUMNS if name in table.c]
            for row in conn.execute(select(*columns)).all():
                for value in row:
                    if is_encrypted(value):
                        _decrypt(cipher, value)
                        encrypted += 1
    return encrypted
