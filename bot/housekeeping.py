"""Scheduled housekeeping: close rounds whose close date has passed, and send due reminders.

``run_housekeeping(db, client_for_team, now)`` is pure orchestration over the storage layer and
the round service; it holds no state between runs, so it is safe to call again after a crash,
a misfire, or from two processes at once. What happens once is decided by the database:

- **Closing**: each round past its ``closes_at`` is closed at its ``closes_at`` and, in the same
  unit of work, ``closed:<round>`` (turn the invitations into closed notices) and
  ``closed-notice:<round>`` (DM the creator "N of M finished") are claimed in the sent-messages
  log. Only the process whose claim wins does the follow-up, so it happens once; because the
  claims commit with the close, a crash after the close leaves claims that a later run takes
  over (``reclaim`` once they are stale) instead of a closed round nobody was told about.
- **Reminders**: for each open round, ``storage.rounds.due_for_reminder`` (invited, not
  finished, fewer than ``max_reminders``, last contact at least ``reminder_interval_hours``
  ago), each DMed under the key ``remind:<round>:<user>:<n>`` that ``/icp-check remind`` uses
  too, so a manual and a scheduled reminder never double up.

Retries and takeovers of failed or abandoned messages follow ``bot.services.delivery``.

``client_for_team(team_id)`` returns the WebClient to use for a workspace, or None when the
app is not installed there (nothing is sent; the close itself still happens). Build it with
``app_client_for_team`` (single workspace) or ``installation_client_for_team`` (OAuth).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import InstallationStore

from bot.pacing import Pacer
from bot.services import fanout
from bot.services.close_reports import enqueue_close_reports
from bot.services.delivery import NOT_INSTALLED, record_failure, take_over
from bot.services.digest import enqueue_due_digests
from bot.services.pulses import start_due_pulses
from bot.slack_client import make_client
from bot.views.leader_messages import close_notice
from storage import rounds, send_log
from storage.db import Database
from storage.models import SurveyRound

log = logging.getLogger(__name__)

ClientForTeam = Callable[[str], WebClient | None]

CLOSED_KIND = "round-closed"  # closed:<round>: invitations turned into closed notices
CLOSE_NOTICE_KIND = "close-notice"  # closed-notice:<round>: the creator's DM
REMINDER_KIND = "reminder"  # remind:<round>:<user>:<n>, as bot.services.fanout.send_reminders



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


class _Clients:
    """``client_for_team`` called at most once per team and run."""

    def __init__(self, client_for_team: ClientForTeam):
        self._factory = client_for_team
        self._cache: dict[str, WebClient | None] = {}

    def get(self, team_id: str) -> WebClient | None:
        if team_id not in self._cache:
            try:
                self._cache[team_id] = self._factory(team_id)
            except Exception:
                log.exception("no Slack client for team %s", team_id)
                self._cache[team_id] = None
            if self._cache[team_id] is None:
                log.warning("team %s has no installation: nothing is sent there", team_id)
        return self._cache[team_id]


# -- the result --------------------------------------------------------------------------------


@dataclass
class HousekeepingResult:
    closed: list[int] = field(default_factory=list)  # rounds this run closed
    invitations_updated: int = 0  # invitations and receipts turned into closed notices
    creator_notices: int = 0
    reminders: int = 0
    already: int = 0  # claimed by someone else (another process, an earlier run)
    unreachable: int = 0
    failed: int = 0
    digests: int = 0  # weekly digests put in the outbox
    pulses: int = 0  # StrategyCheck pulses started
    close_reports: int = 0  # closed rounds' reports put in the outbox for the digest channel
    errors: list[str] = field(default_factory=list)  # a round whose housekeeping raised

    @property
    def sent(self) -> int:
        """Slack messages posted or updated by this run."""
        return self.invitations_updated + self.creator_notices + self.reminders

    def __str__(self) -> str:
        return (f"closed {len(self.closed)} round(s) {self.closed}, updated {self.invitations_updated} "
                f"invitation(s), {self.creator_notices} creator notice(s), {self.reminders} reminder(s); "
                f"{self.digests} digest(s) enqueued, {self.pulses} pulse(s) started, {self.already} already claimed, {self.unreachable} unreachable, {self.failed} failed, "
                f"{len(self.errors)} error(s)")


# -- the run -----------------------------------------------------------------------------------


def run_housekeeping(db: Database, client_for_team: ClientForTeam, now: datetime,
                     pacer: Pacer | None = None, on_enqueued: Callable[[], None] | None = None) -> HousekeepingResult:
    """Close the rounds due to close, finish interrupted closes, send due reminders."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    clients = _Clients(client_for_team)
    result = HousekeepingResult()

    # Earlier runs' failed or abandoned follow-ups first, so that this run's own failures
    # wait for the next run instead of being retried at once.
    _retry_close_follow_ups(db, clients, now, pacer, result)

    with db.session(read_only=True) as session:
        due_to_close = [r.id for r in rounds.rounds_due_to_close(session, now)]
    for round_id in due_to_close:
        _guarded(result, "close", round_id, lambda rid=round_id: _close_round(db, clients, rid, now, pacer, result))

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
        _guarded(result, "remind", round_id,
                 lambda rid=round_id: _send_due_reminders(db, clients, rid, now, pacer, result))
    return result


def _guarded(result: HousekeepingResult, what: str, round_id: int, fn: Callable[[], None]) -> None:
    """One round's trouble (a revoked token, a dropped connection) never stops the others."""
    try:
        fn()
    except Exception as exc:
        log.exception("housekeeping (%s) failed for round %s", what, round_id)
        result.errors.append(f"{what} round {round_id}: {exc!r}")


# -- closing -----------------------------------------------------------------------------------


def _close_round(db: Database, clients: _Clients, round_id: int, now: datetime, pacer: Pacer | None,
                 result: HousekeepingResult) -> None:
    with db.session() as session:
        # Lock the row: a leader's /icp-check close at the same moment either happened before
        # (the round is closed: nothing to do here) or waits for this unit of work.
        rnd = session.get(SurveyRound, round_id, with_for_update=True, populate_existing=True)
        if rnd is None or not rnd.is_open:
            return
        closes_at = rnd.closes_at or now
        rounds.close_round(session, round_id, at=closes_at)
        if not send_log.claim(session, f"closed:{round_id}", kind=CLOSED_KIND, team_id=rnd.team_id,
                              target=str(round_id), at=now):
            return  # someone else closed it (only possible if the row lock was bypassed)
        if rnd.created_by:
            send_log.claim(session, f"closed-notice:{round_id}", kind=CLOSE_NOTICE_KIND,
                           team_id=rnd.team_id, target=rnd.created_by, at=now)
        team_id, creator = rnd.team_id, rnd.created_by
    result.closed.append(round_id)
    log.info("round %s closed (its close date %s passed)", round_id, closes_at.isoformat())
    _refresh_invitations(db, clients, round_id, team_id, pacer, result, now)
    if creator:
        _notify_creator(db, clients, round_id, team_id, creator, pacer, result, now)


def _retry_close_follow_ups(db: Database, clients: _Clients, now: datetime, pacer: Pacer | None,
                            result: HousekeepingResult) -> None:
    """Finish the follow-ups of closes that failed for a passing reason or were abandoned."""
    with db.session(read_only=True) as session:
        pending = [(m.key, m.kind, m.team_id, m.target)
                   for kind in (CLOSED_KIND, CLOSE_NOTICE_KIND)
                   for status in ("failed", "claimed")
                   for m in send_log.list_messages(session, kind=kind, status=status)]
    for key, kind, team_id, target in pending:
        round_id = int(key.split(":")[1])
        if not take_over(db, key, now):
            continue
        if kind == CLOSED_KIND:
            _guarded(result, "close", round_id, lambda rid=round_id, k=key, t=team_id:
                     _refresh_invitations(db, clients, rid, t, pacer, result, now, key=k))
        else:
            _guarded(result, "close", round_id, lambda rid=round_id, t=team_id, c=target:
                     _notify_creator(db, clients, rid, t, c, pacer, result, now))


def _refresh_invitations(db: Database, clients: _Clients, round_id: int, team_id: str,
                         pacer: Pacer | None, result: HousekeepingResult, now: datetime,
                         key: str | None = None) -> None:
    key = key or f"closed:{round_id}"
    client = clients.get(team_id)
    if client is None:
        with db.session() as session:
            send_log.mark_failed(session, key, NOT_INSTALLED)
        return
    try:
        updated = fanout.refresh_invitations_after_close(db, client, round_id, pacer)
    except Exception as exc:  # a connection lost beyond the client's retries: a later run retries
        log.exception("could not turn the invitations of round %s into closed notices", round_id)
        with db.session() as session:
            send_log.mark_failed(session, key, repr(exc))
        result.failed += 1
        result.errors.append(f"close round {round_id}: {exc!r}")
        return
    with db.session() as session:
        send_log.mark_sent(session, key, channel=None, ts=None, at=now)
    result.invitations_updated += updated


def _notify_creator(db: Database, clients: _Clients, round_id: int, team_id: str, creator: str,
                    pacer: Pacer | None, result: HousekeepingResult, now: datetime) -> None:
    key = f"closed-notice:{round_id}"
    client = clients.get(team_id)
    if client is None:
        with db.session() as session:
            send_log.mark_failed(session, key, NOT_INSTALLED)
        return
    with db.session(read_only=True) as session:
        rnd = rounds.require_round(session, round_id)
        counts = rounds.participation(session, round_id)
    text, blocks = close_notice(round_id, rnd.title, counts.completed, counts.invited)
    if pacer:
        pacer.wait(f"{team_id}:chat.postMessage")
    try:
        response = client.chat_postMessage(channel=creator, text=text, blocks=blocks)
    except SlackApiError as exc:
        _record_failure(db, key, exc, result, f"the close notice of round {round_id}")
        return
    with db.session() as session:
        send_log.mark_sent(session, key, channel=response["channel"], ts=response["ts"], at=now)
    result.creator_notices += 1


def _record_failure(db: Database, key: str, exc: SlackApiError, result: HousekeepingResult,
                    what: str) -> None:
    if record_failure(db, key, exc):
        result.unreachable += 1
    else:
        result.failed += 1
        log.warning("%s failed: %s", what, exc.response.get("error"))


# -- reminders ---------------------------------------------------------------------------------


def _send_due_reminders(db: Database, clients: _Clients, round_id: int, now: datetime,
                        pacer: Pacer | None, result: HousekeepingResult) -> None:
    with db.session(read_only=True) as session:
        team_id = rounds.require_round(session, round_id).team_id
    client = clients.get(team_id)
    if client is None:
        return
    outcome = fanout.send_reminders(db, client, round_id, now=now, pacer=pacer, only_due=True)
    result.reminders += outcome.sent
    result.already += outcome.already
    result.unreachable += len(outcome.unreachable)
    result.failed += outcome.failed
