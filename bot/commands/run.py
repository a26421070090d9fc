"""``icp-bot run``: the bot itself, in Socket Mode, HTTP or OAuth mode."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli import configure_logging


def run(args: argparse.Namespace) -> int:
    from bot.app import create_app, outbox_sender
    from bot.pacing import Pacer
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
        db.upgrade_if_behind()  # a restart at head costs one query, not Alembic's import
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
    from bot.services import digest

    digest.CHART_PNG = settings.icp_digest_chart_png
    pacer = Pacer(limits=settings.pacing_limits())  # one pacer for the listeners, the outbox and the scheduler
    clock = settings.clock()  # None unless the test-only ICP_CLOCK_OFFSET shifts it
    if clock is not None:
        logging.getLogger("bot.cli").warning("ICP_CLOCK_OFFSET=%s: the bot's clock is shifted (test-only setting)",
                                            settings.icp_clock_offset)
    outbox = outbox_sender(settings, db, mode, pacer=pacer, clock=clock)
    app = create_app(settings, db=db, mode=mode, pacer=pacer, outbox=outbox, clock=clock)
    outbox.start()  # first resumes whatever a crash or a restart left in the outbox
    scheduler = None
    if not args.no_scheduler:
        from bot.housekeeping import app_client_for_team, installation_client_for_team
        from bot.scheduler import start_scheduler

        if mode == Mode.OAUTH:
            client_for_team = installation_client_for_team(app.installation_store, settings.slack_api_url)
        else:
            client_for_team = app_client_for_team(app.client)
        scheduler = start_scheduler(db, client_for_team, args.housekeeping_interval, pacer=pacer, outbox=outbox,
                                    clock=clock)
    try:
        if mode == Mode.SOCKET:
            run_socket_mode(app, settings.slack_app_token or "")
        else:
            run_http(app, args.host, args.port, settings.icp_log_level)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        outbox.stop()
    return 0
