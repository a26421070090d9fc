"""The in-process scheduler: one interval job that runs ``bot.housekeeping.run_housekeeping``.

APScheduler 3's ``BackgroundScheduler`` (a daemon thread next to the bolt app) with the default
in-memory job store. No persistent job store is needed: the job carries no state and is
re-added on every start, and everything that must happen once (a close, a closed notice, a
reminder) is decided by the database, not by the scheduler. A missed or coalesced run, a
restart or a second scheduler only means a later run does the work, never that it is done twice.

With several replicas on PostgreSQL only one of them runs each round of housekeeping: before a
run the job takes a session-level advisory lock (``pg_try_advisory_lock``) on a connection
it holds for the whole run, and skips the run when another process holds the lock; it then only
composes the due digests the run has not got to (each claimed by its key: ``storage.locks``),
so with many workspaces the digests are shared out between the workers. On SQLite
(one process) the job just runs; units of work are serialised by SQLite's write lock anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from bot.housekeeping import ClientForTeam, HousekeepingResult, run_housekeeping
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services.digest import enqueue_due_digests
from storage.db import Database

log = logging.getLogger(__name__)

JOB_ID = "housekeeping"
DEFAULT_INTERVAL_SECONDS = 300
# An arbitrary constant, distinct from storage.db's migration lock key.
HOUSEKEEPING_LOCK_KEY = 0x1C9A40B5


@contextmanager
def housekeeping_lock(db: Database) -> Iterator[bool]:
    """Yield True when this process may run housekeeping now, False when another holds it.

    PostgreSQL: ``pg_try_advisory_lock`` on a connection checked out for the duration and
    unlocked before it goes back to the pool (if unlocking fails, the connection is discarded,
    which ends its session and so its lock). Other databases: always True.
    """
    if db.dialect != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": HOUSEKEEPING_LOCK_KEY}).scalar())
        conn.commit()  # the lock is session-level: no transaction stays open during the run
        try:
            yield got
        finally:
            if got:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": HOUSEKEEPING_LOCK_KEY})
                    conn.commit()
                except Exception:
                    log.exception("could not release the housekeeping lock; dropping the connection")
                    conn.invalidate()


def run_once(db: Database, client_for_team: ClientForTeam, *, pacer: Pacer | None = None,
             now: datetime | None = None, outbox: OutboxSender | None = None) -> HousekeepingResult | None:
    """One scheduled run: None when another process holds the lock (the run is skipped).
    The outbox is woken afterwards to send what the run enqueued."""
    now = now or datetime.now(UTC)
    kick = outbox.kick if outbox is not None else None
    with housekeeping_lock(db) as mine:
        if mine:
            result = run_housekeeping(db, client_for_team, now, pacer=pacer, on_enqueued=kick)
    if not mine:
        log.debug("housekeeping skipped: another process is running it; composing due digests beside it")
        _help_with_digests(db, now, kick)
        return None
    if outbox is not None:
        outbox.kick()
    if result.queued or result.closed or result.errors:
        log.info("housekeeping: %s", result)
    else:
        log.debug("housekeeping: nothing to do")
    return result


def _help_with_digests(db: Database, now: datetime, kick: Callable[[], None] | None) -> None:
    """The due digests the housekeeping run has not got to yet, claimed one by one (see
    ``enqueue_due_digests``): composing 200 workspaces' digests is the slow part of a
    housekeeping run, and the other workers share it out this way."""
    try:
        added = enqueue_due_digests(db, now, kick)
    except Exception:
        log.exception("could not enqueue the due digests")
        return
    if added:
        log.info("housekeeping: composed %s digest(s) beside the process running it", added)
        if kick is not None:
            kick()


def _job(db: Database, client_for_team: ClientForTeam, pacer: Pacer | None, outbox: OutboxSender | None,
         clock: Callable[[], datetime] | None = None) -> None:
    try:
        run_once(db, client_for_team, pacer=pacer, outbox=outbox, now=clock() if clock else None)
    except Exception:  # the next run tries again; APScheduler would only log it less clearly
        log.exception("housekeeping run failed")


def start_scheduler(db: Database, client_for_team: ClientForTeam,
                    interval_seconds: int = DEFAULT_INTERVAL_SECONDS, *,
                    pacer: Pacer | None = None, run_now: bool = True,
                    outbox: OutboxSender | None = None,
                    clock: Callable[[], datetime] | None = None) -> BackgroundScheduler:
    """Start a BackgroundScheduler with the ``housekeeping`` interval job; returns it (call
    ``shutdown()`` on exit). ``run_now`` makes the first run right away rather than after one
    interval, so a restart catches up at once. A run that overlaps the next is not doubled
    (``max_instances=1``), missed runs collapse into one (``coalesce``), and a run later than
    one interval is dropped for the next one (``misfire_grace_time``). ``clock``: the runs'
    "now" (ICP_CLOCK_OFFSET's shifted clock in process-level tests)."""
    if interval_seconds < 1:
        raise ValueError("interval_seconds must be at least 1")
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    # APScheduler reads next_run_time=None as "paused": leave it out for the default.
    first_run = {"next_run_time": datetime.now(UTC)} if run_now else {}
    scheduler.add_job(
        _job,
        "interval",
        seconds=interval_seconds,
        args=(db, client_for_team, pacer, outbox, clock),
        id=JOB_ID,
        name="close due rounds and send due reminders",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=interval_seconds,
        replace_existing=True,
        **first_run,
    )
    scheduler.start()
    log.info("scheduler started: housekeeping every %s s", interval_seconds)
    return scheduler
