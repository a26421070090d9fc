"""Scheduled housekeeping: close rounds whose close date has passed, queue due reminders,
digests, reports and pulses.

``run_housekeeping(db, client_for_team, now)`` is pure orchestration over the storage layer and
the round services; it holds no state between runs, so it is safe to call again after a crash,
a misfire, or from two processes at once. It calls no Slack method itself: every message is
an outbox row, written in the unit of work of the change that causes it, and sent by
``bot.outbox`` (the scheduler kicks it after the run). What happens once is decided by the
database:

- **Closing**: each round past its ``closes_at`` is closed at its ``closes_at`` with its row
  locked, and in the same unit of work every invitation and reminder DM of the round is queued
  to turn into a closed notice (``fanout.enqueue_closed_notices``), the DMs still waiting for
  someone's working hours are cancelled, and the creator's "N of M finished" DM is queued. A
  crash after the close leaves those rows for the next sender: nothing lost, nothing doubled.
- **Reminders**: for each open round, ``storage.rounds.due_for_reminder`` (invited, not
  finished, fewer than ``max_reminders``, last contact at least ``reminder_interval_hours``
  ago); each reminder is queued under ``<team>:reminder:<user>:round-<round>-<n>``, the key
  ``/icp-check remind`` uses too, so a manual and a scheduled reminder never double up, due
  in the person's working hours and counted in the same unit of work.

``client_for_team(team_id)`` builds the WebClient for a workspace, or None when the app is
not installed there, for the outbox sender (``bot.app.outbox_sender``); build it with
``app_client_for_team`` (single workspace) or ``installation_client_for_team`` (OAuth).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

from bot.pacing import Pacer
from bot.services import fanout
from bot.services.close_reports import enqueue_close_reports
from bot.services.digest import enqueue_due_digests
from bot.services.pulses import start_due_pulses
from bot.slack_client import make_client
from bot.views.leader_messages import close_notice
from storage import outbox, rounds, send_log
from storage.db import Database
from storage.errors import RoundClosed
from storage.models import SurveyRound

log = logging.getLogger(__name__)

ClientForTeam = Callable[[str], WebClient | None]

CLOSE_NOTICE = "close-notice"  # the creator's "N of M finished" DM
# Follow-ups of closes made before the outbox carried them (the sent-messages log's kinds):
# a run finishes the unfinished ones through the outbox.
LEGACY_CLOSED_KIND = "round-closed"
LEGACY_CLOSE_NOTICE_KIND = "close-notice"


# -- clients per workspace -------------------------------------------------------------------


def app_client_for_team(client: WebClient) -> ClientForTeam:
    """Single-workspace mode (Socket Mode, HTTP): the app's own client for every team."""
    return lambda team_id: client


def installation_client_for_team(store: InstallationStore, api_url: str) -> ClientForTeam:
    """OAuth mode: a client with the bot token the installation store holds for ``team_id``,
    None when the app is not (or no longer) installed there."""

    def client_for_team(team_id: str) -> WebClient | None:
        installation = store.find_installation(enterprise_id=None, team_id=team_id)
        if installation is None or not installation.bot_token:
            return None
        return make_client(api_url, installation.bot_token)

    return client_for_team


# -- the result --------------------------------------------------------------------------------


@dataclass
class HousekeepingResult:
    """What a run did; messages are counted as queued in the outbox (the sender sends them)."""

    closed: list[int] = field(default_factory=list)  # rounds this run closed
    closed_notices: int = 0  # invitations and reminder DMs queued to turn into closed notices
    cancelled: int = 0  # DMs still waiting for working hours when their round closed
    creator_notices: int = 0
    reminders: int = 0  # reminders queued, due now
    reminders_later: int = 0  # reminders queued for their person's working hours
    already: int = 0  # a reminder still waiting (an earlier run, a leader's Remind)
    digests: int = 0  # weekly digests put in the outbox
    pulses: int = 0  # StrategyCheck pulses started
    close_reports: int = 0  # closed rounds' reports put in the outbox for the digest channel
    errors: list[str] = field(default_factory=list)  # a round whose housekeeping raised

    @property
    def queued(self) -> int:
        """Messages to staff and leaders this run put in the outbox (closes and reminders)."""
        return self.closed_notices + self.creator_notices + self.reminders + self.reminders_later

    def __str__(self) -> str:
        return (f"closed {len(self.closed)} round(s) {self.closed}, queued {self.closed_notices} closed notice(s) "
                f"({self.cancelled} unsent DM(s) cancelled), {self.creator_notices} creator notice(s), "
                f"{self.reminders} reminder(s) now and {self.reminders_later} in working hours "
                f"({self.already} already waiting); {self.digests} digest(s) enqueued, {self.pulses} pulse(s) "
                f"started, {self.close_reports} report(s) of closed rounds; {len(self.errors)} error(s)")


# -- the run -----------------------------------------------------------------------------------


def run_housekeeping(db: Database, client_for_team: ClientForTeam | None, now: datetime,
                     pacer: Pacer | None = None, on_enqueued: Callable[[], None] | None = None) -> HousekeepingResult:
    """Close the rounds due to close, queue due reminders, digests, reports and pulses;
    ``on_enqueued`` (the outbox's kick) runs after each digest queued, so digests go out while
    the next ones are composed.

    ``client_for_team`` and ``pacer`` are not used any more (the run calls no Slack method:
    the outbox sender does, with its own clients and pacing); they stay so that callers need
    not change."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    result = HousekeepingResult()

    try:
        _finish_legacy_follow_ups(db, now, result)
    except Exception as exc:
        log.exception("could not queue the follow-ups of earlier closes")
        result.errors.append(f"earlier closes: {exc!r}")

    with db.session(read_only=True) as session:
        due_to_close = [r.id for r in rounds.rounds_due_to_close(session, now)]
    for round_id in due_to_close:
        _guarded(result, "close", round_id, lambda rid=round_id: _close_round(db, rid, now, result))

    try:
        result.digests = enqueue_due_digests(db, now, on_enqueued)
    except Exception as exc:
        log.exception("could not enqueue the due digests")
        result.errors.append(f"digests: {exc!r}")
    try:
        result.close_reports = enqueue_close_reports(db, now)
    except Exception as exc:
        log.exception("could not enqueue the reports of closed rounds")
        result.errors.append(f"close reports: {exc!r}")
    try:
        result.pulses = len(start_due_pulses(db, now))
    except Exception as exc:
        log.exception("could not start the due pulses")
        result.errors.append(f"pulses: {exc!r}")

    with db.session(read_only=True) as session:
        still_open = [r.id for r in rounds.open_rounds(session)
                      if r.closes_at is None or r.closes_at > now]
    for round_id in still_open:
        _guarded(result, "remind", round_id, lambda rid=round_id: _queue_due_reminders(db, rid, now, result))
    return result


def _guarded(result: HousekeepingResult, what: str, round_id: int, fn: Callable[[], None]) -> None:
    """One round's trouble never stops the others."""
    try:
        fn()
    except Exception as exc:
        log.exception("housekeeping (%s) failed for round %s", what, round_id)
        result.errors.append(f"{what} round {round_id}: {exc!r}")


# -- closing -----------------------------------------------------------------------------------


def _enqueue_creator_notice(session, rnd: SurveyRound, now: datetime) -> bool:
    if not rnd.created_by:
        return False
    counts = rounds.participation(session, rnd.id)
    text, blocks = close_notice(rnd.id, rnd.title, counts.completed, counts.invited)
    return outbox.enqueue(
        session, key=f"{rnd.team_id}:{CLOSE_NOTICE}:{rnd.created_by}:round-{rnd.id}", team_id=rnd.team_id,
        kind=CLOSE_NOTICE, method="chat.postMessage", target=rnd.created_by, round_id=rnd.id, at=now,
        payload={"args": {"channel": rnd.created_by, "text": text, "blocks": [b.to_dict() for b in blocks]}})


def _close_round(db: Database, round_id: int, now: datetime, result: HousekeepingResult) -> None:
    with db.session() as session:
        # Lock the row: a leader's /icp-check close at the same moment either happened before
        # (the round is closed: nothing to do here) or waits for this unit of work.
        rnd = session.get(SurveyRound, round_id, with_for_update=True, populate_existing=True)
        if rnd is None or not rnd.is_open:
            return
        closes_at = rnd.closes_at or now
        rnd = rounds.close_round(session, round_id, at=closes_at)
        notices = fanout.enqueue_closed_notices(session, rnd, now)
        told = _enqueue_creator_notice(session, rnd, now)
    result.closed.append(round_id)
    result.closed_notices += notices.updates
    result.cancelled += notices.cancelled
    result.creator_notices += told
    log.info("round %s closed (its close date %s passed)", round_id, closes_at.isoformat())


def _finish_legacy_follow_ups(db: Database, now: datetime, result: HousekeepingResult) -> None:
    """Closes claimed in the sent-messages log by an older version whose follow-ups never
    finished (failed, or their process died): queue them in the outbox now, once."""
    with db.session(read_only=True) as session:
        unfinished = [(m.key, m.kind) for kind in (LEGACY_CLOSED_KIND, LEGACY_CLOSE_NOTICE_KIND)
                      for status in ("failed", "claimed")
                      for m in send_log.list_messages(session, kind=kind, status=status)]
    for key, kind in unfinished:
        round_id = int(key.split(":")[1])
        with db.session() as session:
            rnd = rounds.get_round(session, round_id)
            if rnd is not None and not rnd.is_open:
                if kind == LEGACY_CLOSED_KIND:
                    result.closed_notices += fanout.enqueue_closed_notices(session, rnd, now).updates
                else:
                    result.creator_notices += _enqueue_creator_notice(session, rnd, now)
            send_log.mark_sent(session, key, channel=None, ts=None, at=now)  # handed to the outbox


# -- reminders ---------------------------------------------------------------------------------


def _queue_due_reminders(db: Database, round_id: int, now: datetime, result: HousekeepingResult) -> None:
    with db.session() as session:
        try:
            rounds.lock_open_round(session, round_id)
        except RoundClosed:
            return
        rnd = rounds.require_round(session, round_id)
        due = rounds.due_for_reminder(session, round_id, now)
        if not due:
            return
        queued = fanout.enqueue_reminders(session, rnd, due, now=now, notify_user=rnd.created_by)
    result.reminders += queued.now
    result.reminders_later += queued.later
    result.already += queued.already
