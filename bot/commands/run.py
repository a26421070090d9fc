"""``icp-bot run``: the bot itself, in Socket Mode, HTTP or OAuth mode.

In HTTP mode the server listens as soon as the settings are checked and auth.test has passed;
the database layer, the schema check and the listeners follow in a background thread, and
requests wait for them (``bot.startup``). Socket Mode and OAuth mode start in one piece.
"""

from __future__ import annotations

import argparse
import logging
import sys
from urllib.parse import urlparse

from bot.cli import configure_logging


class StartupError(Exception):
    """A start-up check failed; the message is printed and ``icp-bot run`` returns 2."""


def run(args: argparse.Namespace) -> int:
    from bot.allocator import limit_malloc_arenas
    from bot.settings import Mode, SettingsError, load_settings

    limit_malloc_arenas()  # before any thread: a long-running server's memory levels off

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
    if mode == Mode.HTTP:
        return _run_http(args, settings)
    try:
        db = _open_database(args, settings)
        app, stop = _build(args, settings, db, mode)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if mode == Mode.SOCKET:
            from bot.server import run_socket_mode

            run_socket_mode(app, settings.slack_app_token or "")
        else:
            from bot.server import run_http

            _serve_http_threads_fairly()
            run_http(app, args.host, args.port, settings.icp_log_level)
    finally:
        stop()
    return 0


GIL_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (CPython's default is 0.005). In HTTP
mode one event-loop thread reads, verifies and answers every request while the dispatch and
listener threads run the steps: with 5 ms turns each handoff can keep an ack waiting 5 ms, and
under 300 concurrent people the steps acked per second went from 183 to 226 and the p99 ack
from 2.1 s to 1.7 s with 1 ms turns (benchmarks.survey_steps, README "Performance")."""


def _serve_http_threads_fairly() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def _run_http(args: argparse.Namespace, settings) -> int:
    """Listen first (the bare App, auth.test passed), build the rest in ``bot.startup.Startup``."""
    from bot.app import bare_app
    from bot.server import run_http
    from bot.settings import Mode
    from bot.slack_client import RESPONSE_HOSTS
    from bot.startup import Startup

    app = bare_app(settings, Mode.HTTP)
    stops = []
    _serve_http_threads_fairly()

    def build() -> None:
        db = _open_database(args, settings)
        stops.append(_build(args, settings, db, Mode.HTTP, app=app)[1])

    startup = Startup(build, response_hosts=(*RESPONSE_HOSTS, urlparse(settings.slack_api_url).netloc))
    try:
        run_http(app, args.host, args.port, settings.icp_log_level, startup=startup)
    finally:
        for stop in stops:
            stop()
    if startup.error is not None:
        if isinstance(startup.error, StartupError):
            print(f"error: {startup.error}", file=sys.stderr)
        else:
            logging.getLogger("bot.cli").error("start-up failed", exc_info=startup.error)
        return 2
    return 0


def _open_database(args: argparse.Namespace, settings):
    """The database, its schema at this version's head (migrated when behind on SQLite or with
    --migrate), and in OAuth mode its stored tokens readable with the configured key."""
    from storage.db import Database

    db = Database(settings.database_url)
    if db.dialect == "sqlite" or args.migrate:
        db.upgrade_if_behind()  # a restart at head costs one query, not Alembic's import
    elif not db.is_up_to_date():
        raise StartupError("the database schema is behind this version; run `icp-bot db upgrade` "
                           "(or start with --migrate)")
    if args.oauth:
        from storage.slack_oauth import TokenKeyError, check_stored_tokens

        try:
            check_stored_tokens(db, settings.encryption_key())
        except TokenKeyError as exc:
            raise StartupError(str(exc)) from exc
    return db


def _build(args: argparse.Namespace, settings, db, mode, app=None):
    """The wired app, its outbox sender and scheduler started; returns (app, stop)."""
    from bot.app import bare_app, oauth_app, outbox_sender, wire_app
    from bot.pacing import Pacer
    from bot.services import digest
    from bot.settings import Mode

    digest.CHART_PNG = settings.icp_digest_chart_png
    pacer = Pacer(limits=settings.pacing_limits())  # one pacer for the listeners, the outbox and the scheduler
    clock = settings.clock()  # None unless the test-only ICP_CLOCK_OFFSET shifts it
    if clock is not None:
        logging.getLogger("bot.cli").warning("ICP_CLOCK_OFFSET=%s: the bot's clock is shifted (test-only setting)",
                                            settings.icp_clock_offset)
    outbox = outbox_sender(settings, db, mode, pacer=pacer, clock=clock)
    if app is None:
        app = oauth_app(settings, db) if mode == Mode.OAUTH else bare_app(settings, mode)
    wire_app(app, settings, db=db, mode=mode, pacer=pacer, outbox=outbox, clock=clock)
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

    def stop() -> None:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        outbox.stop()

    return app, stop
