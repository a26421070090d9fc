"""The ``icp-bot`` command line.

Slack and the database are imported only by the commands that need them, so that
``icp-bot report`` on a spreadsheet starts fast and works with no Slack app at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"  # bot.server.DEFAULT_HOST; not imported so `icp-bot report` stays light


def _cmd_report(args: argparse.Namespace) -> int:
    from survey.report import build_report
    from survey.report_format import FORMATS
    from survey.spreadsheet import RowError, SpreadsheetError, read_responses
    from survey.template import TemplateError, resolve_template

    try:
        template = resolve_template(args.template)
        result = read_responses(args.answers, template, skip_invalid=args.skip_invalid)
    except (TemplateError, SpreadsheetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, SpreadsheetError) and any(isinstance(e, RowError) for e in exc.errors):
            print("Nothing was reported. Fix the rows above, or pass --skip-invalid to report "
                  "the valid rows only.", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(f"skipped: {error}", file=sys.stderr)
    report = build_report(template, result.responses, min_group_size=args.min_group_size,
                          bootstrap=args.bootstrap, seed=args.seed)
    sys.stdout.write(FORMATS[args.format](report, template))
    return 0


def _cmd_template_validate(args: argparse.Namespace) -> int:
    from survey.template import TemplateError, load_template

    try:
        template = load_template(args.file)
    except TemplateError as exc:
        print(f"invalid template {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(f"{args.file}: template '{template.id}' v{template.version} is valid: "
          f"{len(template.sections)} sections, {len(template.questions)} questions")
    return 0


def _cmd_template_install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.settings import SettingsError, load_settings
    from storage import templates, workspaces
    from storage.db import Database
    from storage.errors import TemplateConflict
    from survey.template import BUILTIN_TEMPLATES, TemplateError, load_template

    try:
        template = load_template(args.file)
        settings = load_settings()
    except TemplateError as exc:
        print(f"invalid template {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if template.id in BUILTIN_TEMPLATES:
        print(f"error: '{template.id}' is the id of a built-in template; give yours another id",
              file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    if not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` first",
              file=sys.stderr)
        return 2
    try:
        with db.session() as session:
            workspaces.get_or_create_workspace(session, args.team)
            stored = templates.save_template(session, args.team, template, Path(args.file).read_text("utf-8"))
    except TemplateConflict as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"template '{stored.key}' v{stored.version} is available to workspace {args.team}: "
          "leaders can choose it in /icp-check start")
    return 0


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.settings import SettingsError, load_settings
    from storage.db import Database

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    db.upgrade()
    print(f"database at {db.url.render_as_string(hide_password=True)} is up to date")
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, stream=None):
    """The process's one log handler (stderr), with the privacy filter on it: whatever logs,
    bolt, slack_sdk, uvicorn or the bot, no answer, token or secret reaches the output.
    Returns the handler (tests read their own stream and remove it)."""
    import logging

    from bot.log_privacy import install

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    install(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":  # a line per migration plugin and per job run is noise
        for chatty in ("alembic", "apscheduler"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    return handler


def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from storage.slack_oauth import generate_key

    print(generate_key())
    return 0


def _cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY."""
    from bot.settings import SettingsError, load_settings
    from storage.db import Database
    from storage.slack_oauth import TokenKeyError, rotate_tokens

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    key = settings.encryption_key()
    if key is None:
        print("error: ICP_ENCRYPTION_KEY is not set: set it to NEW,OLD (the new key first, then the "
              "key the tokens are encrypted with now)", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    if not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` first",
              file=sys.stderr)
        return 2
    try:
        written = rotate_tokens(db, key)
    except TokenKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{written} stored Slack tokens are now encrypted with the first key of ICP_ENCRYPTION_KEY; "
          "the other keys can be removed from it")
    return 0


def _up_to_date_database():
    """DATABASE_URL's database when its schema is current; else None, having said why."""
    from bot.settings import SettingsError, load_settings
    from storage.db import Database

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    db = Database(settings.database_url)
    if not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` first",
              file=sys.stderr)
        return None
    return db


def _cmd_forget(args: argparse.Namespace) -> int:
    from storage.privacy import forget_user

    db = _up_to_date_database()
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


def _cmd_db_copy(args: argparse.Namespace) -> int:
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


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.deps import Deps
    from bot.server import run_http, run_socket_mode
    from bot.settings import Mode, SettingsError, load_settings
    from storage.db import Database

    mode = Mode.OAUTH if args.oauth else Mode.HTTP if args.http else Mode.SOCKET
    if args.housekeeping_interval < 1:
        print("error: --housekeeping-interval must be at least 1 second", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        settings.require(mode)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.icp_log_level)
    db = Database(settings.database_url)
    if db.dialect == "sqlite" or args.migrate:
        db.upgrade()
    elif not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` "
              "(or start with --migrate)", file=sys.stderr)
        return 2
    if mode == Mode.OAUTH:
        from storage.slack_oauth import TokenKeyError, check_stored_tokens

        try:
            check_stored_tokens(db, settings.encryption_key())
        except TokenKeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    deps = Deps(db=db)  # one pacer for the listeners and the scheduler
    app = create_app(settings, db=db, mode=mode, deps=deps)
    scheduler = None
    if not args.no_scheduler:
        from bot.housekeeping import app_client_for_team, installation_client_for_team
        from bot.scheduler import start_scheduler

        if mode == Mode.OAUTH:
            client_for_team = installation_client_for_team(app.installation_store, settings.slack_api_url)
        else:
            client_for_team = app_client_for_team(app.client)
        scheduler = start_scheduler(db, client_for_team, args.housekeeping_interval, pacer=deps.pacer)
    try:
        if mode == Mode.SOCKET:
            run_socket_mode(app, settings.slack_app_token or "")
        else:
            run_http(app, args.host, args.port, settings.icp_log_level)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icp-bot", description="ICP Align: does your team agree on its ideal customer?")
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser("report", help="alignment report of a spreadsheet of answers (CSV)")
    report.add_argument("--template", default="icp-core", help="built-in template id or a YAML file (default icp-core)")
    report.add_argument("--answers", required=True, help="CSV: respondent, team, one column per question id")
    report.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    report.add_argument("--skip-invalid", action="store_true", help="report the valid rows when some are malformed")
    report.add_argument("--min-group-size", type=int, default=3, help="hide figures of smaller groups (default 3)")
    report.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the interval")
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (same seed, same interval)")
    report.set_defaults(func=_cmd_report)

    template = sub.add_parser("template", help="survey templates")
    template_sub = template.add_subparsers(dest="template_command", required=True)
    validate = template_sub.add_parser("validate", help="check a template YAML file")
    validate.add_argument("file")
    validate.set_defaults(func=_cmd_template_validate)
    install = template_sub.add_parser("install", help="make a template available to a workspace")
    install.add_argument("file")
    install.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    install.set_defaults(func=_cmd_template_install)

    run = sub.add_parser("run", help="connect to Slack (Socket Mode by default)")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--http", action="store_true", help="serve HTTP at /slack/events (SLACK_SIGNING_SECRET)")
    how.add_argument("--oauth", action="store_true", help="HTTP with OAuth for many workspaces")
    run.add_argument("--host", default=DEFAULT_HOST,
                     help="HTTP address to listen on (default 127.0.0.1: loopback, for a TLS reverse "
                          "proxy on the same host; 0.0.0.0 listens on every interface, e.g. in a container)")
    run.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    run.add_argument("--migrate", action="store_true", help="apply migrations before start (PostgreSQL)")
    run.add_argument("--no-scheduler", action="store_true",
                     help="do not close due rounds or send reminders from this process")
    run.add_argument("--housekeeping-interval", type=int, default=300, metavar="SECONDS",
                     help="how often to close due rounds and send due reminders (default 300)")
    run.set_defaults(func=_cmd_run)

    keys = sub.add_parser("keys", help="the key that encrypts stored Slack tokens (ICP_ENCRYPTION_KEY)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="print a new key for ICP_ENCRYPTION_KEY")
    generate.set_defaults(func=_cmd_keys_generate)
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every stored token with the first key of ICP_ENCRYPTION_KEY=new,old",
        description="Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY. "
                    "Set ICP_ENCRYPTION_KEY=NEW,OLD (start the bot with it too), run this, then drop OLD. "
                    "Plaintext tokens from before encryption are encrypted as well.")
    rotate.set_defaults(func=_cmd_keys_rotate)

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    upgrade.set_defaults(func=_cmd_db_upgrade)
    copy = db_sub.add_parser(
        "copy", help="copy every row of DATABASE_URL into an empty database (e.g. SQLite -> PostgreSQL)",
        description="Migrate the target to the current schema and copy every table of DATABASE_URL into "
                    "it in one transaction; a target that holds any row is refused. Stop the bot first.")
    copy.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://icp@db/icp")
    copy.set_defaults(func=_cmd_db_copy)

    forget = sub.add_parser(
        "forget", help="erase a person's Slack user id from a workspace's data",
        description="Erase USER_ID from the workspace: closed rounds keep their answers under the round's "
                    "pseudonym (their reports do not change), open rounds lose the person and their "
                    "answers, leadership and every other mention of the id go.")
    forget.add_argument("user_id", metavar="USER_ID", help="the person's Slack user id (U...)")
    forget.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    forget.set_defaults(func=_cmd_forget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "min_group_size", 3) < 1:
        parser.error("--min-group-size must be at least 1")
    from sqlalchemy.exc import OperationalError

    try:
        return args.func(args)
    except OperationalError as exc:
        # The database named by DATABASE_URL cannot be reached: say so, without a traceback.
        reason = str(exc.orig or exc).splitlines()[0]
        print(f"error: cannot use the database of DATABASE_URL ({reason}). Check the URL and that the "
              "server is running.", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
