"""The operator's commands: ``icp-bot db upgrade|copy``, ``keys generate|rotate`` and ``forget``."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import open_db, settings_or_none


def db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import Database

    settings = settings_or_none()
    if settings is None:
        return 2
    db = Database(settings.database_url)
    db.upgrade()
    print(f"database at {db.url.render_as_string(hide_password=True)} is up to date")
    return 0


def db_copy(args: argparse.Namespace) -> int:
    from bot.settings import SettingsError, load_settings
    from storage.copy import CopyError, copy_database
    from storage.db import Database

    try:
        settings = load_settings(database_url=args.to)  # the target URL, checked as DATABASE_URL is
        source_url = load_settings().database_url
    except SettingsError as exc:
        print(f"error: {exc}".replace("DATABASE_URL", "--to"), file=sys.stderr)
        return 2
    source, target = Database(source_url), Database(settings.database_url)
    try:
        result = copy_database(source, target, progress=lambda table, n: print(f"  {table}: {n} rows"))
    except CopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = target.url.render_as_string(hide_password=True)
    print(f"copied {result.total} rows in {len(result.rows)} tables to {shown}")
    for name in result.skipped:
        print(f"  not copied: {name} (created at run time by another library)")
    return 0


def keys_generate(args: argparse.Namespace) -> int:
    from storage.slack_oauth import generate_key

    print(generate_key())
    return 0


def keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY."""
    from storage.slack_oauth import TokenKeyError, rotate_tokens

    settings = settings_or_none()
    if settings is None:
        return 2
    key = settings.encryption_key()
    if key is None:
        print("error: ICP_ENCRYPTION_KEY is not set: set it to NEW,OLD (the new key first, then the "
              "key the tokens are encrypted with now)", file=sys.stderr)
        return 2
    db = open_db(settings, migrate_sqlite=False)
    if db is None:
        return 2
    try:
        written = rotate_tokens(db, key)
    except TokenKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{written} stored Slack tokens are now encrypted with the first key of ICP_ENCRYPTION_KEY; "
          "the other keys can be removed from it")
    return 0


def forget(args: argparse.Namespace) -> int:
    from storage.privacy import forget_user

    db = open_db(migrate_sqlite=False)
    if db is None:
        return 2
    try:
        with db.session() as session:
            done = forget_user(session, args.team, args.user_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not done.anything:
        print(f"nothing of {args.user_id} is stored for workspace {args.team}")
        return 0
    print(f"{args.user_id} is forgotten in workspace {args.team}: "
          f"{done.closed_rounds} closed round(s) keep {done.answers_kept} answer(s) under the round's pseudonym; "
          f"removed from {done.open_rounds} open round(s) with {done.answers_deleted} answer(s); "
          f"{'no longer a leader; ' if done.leader else ''}"
          f"{done.log_entries} sent-message entries and {done.other_rows} other row(s) anonymised")
    return 0
