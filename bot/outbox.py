"""The outbox sender: sends what ``storage.outbox`` holds, once, off bolt's listener threads.

One sender per process drains the due messages: it claims one (a lease that a crash lets
run out), paces itself per workspace and Web API method (``bot.pacing``), calls Slack, and
settles the claim:

- **sent**: marked sent together with what the message completes (an invitation's DM channel
  and ts on its participant; a reminder's stay on its own row, where the close finds them to
  turn into closed notices; a DM that reached Slack after its round closed gets its closed
  notice queued), in one transaction (``ON_SENT``);
- **no longer needed**: a reminder whose person finished or whose round closed by its due
  time, a receipt whose round closed, is settled unsent and not reported;
- **a passing fault** (429 beyond the client's retries, 5xx, a timeout, a dropped
  connection, ``internal_error``): due again after an exponential backoff, at most
  ``MAX_ATTEMPTS`` tries. A 5xx or a timeout is not a success and not a failure: Slack may
  have posted the message, so the message is *uncertain*, and so is one whose sender died
  holding the lease. Before an uncertain ``chat.postMessage`` goes out again the sender looks
  for it in the conversation: every post carries the outbox key in its message metadata, and
  ``conversations.history`` with ``include_all_metadata`` finds it (a file upload, which carries
  no metadata, is found by its unique file name). ``chat.update`` is idempotent and is simply
  repeated;
- **a permanent refusal** (``user_not_found``, ``account_inactive``, ``channel_not_found``,
  ``not_in_channel``, ``is_archived``...): given up at once. When a batch (a kind of message of
  one round) is settled, its ``notify_user`` (the leader who started it) gets one DM saying
  how many could not be delivered and why.

What remains possible: a post whose answer was lost *and* whose conversation cannot be read
(the workspace has not granted ``im:history`` / ``channels:history`` / ``groups:history``) is sent again, once per
attempt, rather than dropped; the log says so.

Why not a task queue library: the outbox rows must commit in the same SQLAlchemy transaction
as the round that causes them, on SQLite as on PostgreSQL; procrastinate and its peers defer
on their own connection, to PostgreSQL only. The claim is a conditional UPDATE that exactly one
sender wins, so several replicas can drain one PostgreSQL outbox without doubling a message.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.pacing import Pacer
from bot.services import fanout
from bot.services.delivery import PERMANENT
from bot.views.leader_messages import undelivered_notice
from storage import outbox, rounds
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

ClientForTeam = Callable[[str], WebClient | None]

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(minutes=15)
IDLE_WAKE_SECONDS = 30.0
WORKERS = 8  # calls in flight at once (ICP_OUTBOX_WORKERS)
AHEAD = 4  # claimed ahead of the calls in flight: workers x AHEAD messages at most, in claims of workers
SETTLE_AFTER = 0.1  # seconds: calls that came back are settled together, at most this late
HORIZON = 2.0  # seconds: a workspace's method whose next slot is further off is not claimed from
RATE_LIMITED_TRIES = 4  # 429s of one claim before it goes back to the outbox with the Retry-After
POLL_WHILE_SENDING = 1.0  # seconds: a long pass looks for messages that fell due meanwhile
NOTIFY_CHANNEL = "icp_outbox"
NOTIFY_EVERY = 0.25  # seconds between two NOTIFYs of one process
PASSING_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "request_timeout",
                            "service_unavailable"})
METADATA_EVENT = "icp_align_outbox"
PERMANENT_ERRORS = PERMANENT | {"invalid_auth", "token_revoked", "account_inactive", "no_text", "invalid_blocks",
                                "msg_too_long", "message_not_found", "cant_update_message", "edit_window_closed",
                                "invalid_arguments", "missing_scope", "alt_txt_too_large", "file_uploads_disabled",
                                "invalid_thread_ts", "thread_not_found"}
CHART_ALT_TEXT_MAX = 1000  # files.getUploadURLExternal answers alt_txt_too_large beyond it
LOOKED_UP = ("chat.postMessage", "files.uploadV2")  # posts an uncertain attempt may have made


def _utcnow() -> datetime:
    return datetime.now(UTC)


# What a sent message completes, in the transaction that marks it sent (``at``: the sender's now).
def _invitation_sent(session: Session, message: OutboxMessage, channel: str | None, ts: str | None,
                     at: datetime) -> None:
    if message.round_id is not None and channel and ts:
        rounds.mark_invited(session, message.round_id, message.payload["user_id"], dm_channel=channel, ts=ts)
        fanout.closed_meanwhile(session, message.round_id, message.payload["user_id"], channel, ts,
                                invitation=True, now=at)


def _reminder_sent(session: Session, message: OutboxMessage, channel: str | None, ts: str | None,
                   at: datetime) -> None:
    """The reminder's channel and ts stay on its row (``sent_channel``, ``sent_ts``): the close
    turns it into a closed notice from there; one that reached Slack after the close gets its
    notice now."""
    if message.round_id is not None and channel and ts:
        fanout.closed_meanwhile(session, message.round_id, message.target, channel, ts, invitation=False, now=at)


ON_SENT: dict[str, Callable[[Session, OutboxMessage, str | None, str | None, datetime], None]] = {
    fanout.INVITE: _invitation_sent,
    "pulse": _invitation_sent,  # a pulse DM is the pulse round's invitation
    fanout.REMINDER: _reminder_sent,
    fanout.REMIND_LATER: _reminder_sent,
}
# Reminders that wait for the person's working hours: not sent if the person finished or the
# round closed (or passed its close date) meanwhile.
SKIP_WHEN_DONE = frozenset(fanout.REMINDER_KINDS)


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    gave_up: int = 0
    found_sent: int = 0  # uncertain messages found in the conversation: not sent again
    reported: int = 0  # undelivered notices written

    def __iadd__(self, other: DrainResult) -> DrainResult:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class _Outcome:
    """What one call came back with: exactly one of these is set."""

    response: Any = None
    found: tuple[str, str] | None = None  # an uncertain post found in its conversation
    error: SlackApiError | None = None
    lost: Exception | None = None  # no answer: the call may or may not have reached Slack


def retry_after_of(exc: SlackApiError) -> float | None:
    """The Retry-After of a 429 answer, in seconds; None for any other answer."""
    if (getattr(exc.response, "status_code", 200) or 200) != 429:
        return None
    headers = exc.response.headers or {}
    header = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(header[0] if isinstance(header, list) else header or 1)
    except ValueError:
        return 1.0


class OutboxSender:
    """Drains the outbox: in a daemon thread (``start``), or in the caller (``inline=True``,
    for tests and one-off commands).

    A pass keeps up to ``workers`` calls in flight, so that the rate is the pacer's and not
    one call's latency: it claims a few messages ahead (one transaction a batch), books
    each one's slot with the pacer, starts each call at its slot on a thread of its own, and
    settles the calls that came back together (one transaction). A workspace's method whose
    slots are more than ``HORIZON`` ahead is left out of the next claims, so that one large
    fan-out (or a close's chat.updates at Tier 3) holds back neither the other workspaces'
    messages nor the same workspace's other methods. On PostgreSQL a ``kick`` also wakes
    the senders of the other processes (``NOTIFY``)."""

    def __init__(self, db: Database, client_for_team: ClientForTeam, *, pacer: Pacer | None = None,
                 clock: Callable[[], datetime] = _utcnow, lease: timedelta = LEASE, inline: bool = False,
                 workers: int = WORKERS):
        if workers < 1:
            raise ValueError("the outbox needs at least one worker")
        self.db = db
        self.client_for_team = client_for_team
        self.pacer = pacer or Pacer()
        self.clock = clock
        self.lease = lease
        self.inline = inline
        self.workers = workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._drain_lock = threading.Lock()
        self._notify_lock = threading.Lock()
        self._notified_at = float("-inf")
        self._notify_timer: threading.Timer | None = None
        self._pool: ThreadPoolExecutor | None = None  # the sending thread's, kept between passes

    # -- running ---------------------------------------------------------------------------

    def kick(self) -> None:
        """Something was enqueued: send it now (inline) or wake the thread (started on demand),
        and the other processes' senders (PostgreSQL)."""
        if self.inline:
            self.drain()
            return
        if self._thread is None:
            self.start()
        self._wake.set()
        if self.db.dialect == "postgresql":
            self._notify_others()

    def _notify_others(self) -> None:
        """NOTIFY the other processes' senders, at most once per ``NOTIFY_EVERY`` (a burst of
        kicks, such as a digest per workspace, wakes them once, and once more at its end)."""
        with self._notify_lock:
            now = time.monotonic()
            if now - self._notified_at < NOTIFY_EVERY:
                if self._notify_timer is None:
                    self._notify_timer = threading.Timer(NOTIFY_EVERY - (now - self._notified_at), self._notify_late)
                    self._notify_timer.daemon = True
                    self._notify_timer.start()
                return
            self._notified_at = now
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
                conn.commit()
        except Exception:  # the others still find it on their next pass
            log.warning("outbox: could not notify the other senders", exc_info=True)

    def _notify_late(self) -> None:
        with self._notify_lock:
            self._notify_timer = None
            self._notified_at = float("-inf")
        self._notify_others()

    def start(self) -> None:
        """Start the sending thread; it first resumes whatever a crash or a restart left due."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="icp-outbox", daemon=True)
        self._thread.start()
        if self.db.dialect == "postgresql":
            self._listener = threading.Thread(target=self._listen, name="icp-outbox-listen", daemon=True)
            self._listener.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="icp-outbox-call")
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # the next pass tries again; never let the thread die
                log.exception("outbox pass failed")
            if self._stop.is_set():  # a pass may have taken the wake that stop() set
                break
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()
        self._pool.shutdown(wait=False)

    def _listen(self) -> None:
        """PostgreSQL: wake this sender when another process enqueued something (LISTEN)."""
        while not self._stop.is_set():
            conn = None
            try:
                raw = self.db.engine.raw_connection()
                conn = raw.driver_connection  # psycopg's own connection
                raw.detach()  # out of the pool: this thread keeps it for as long as it listens
                raw.rollback()
                conn.autocommit = True
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        self._wake.set()
            except Exception:
                log.warning("outbox: listening for the other senders failed; trying again", exc_info=True)
                self._stop.wait(5.0)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        log.debug("outbox: closing the listening connection failed", exc_info=True)

    def _seconds_to_next(self) -> float:
        try:
            with self.db.session(read_only=True) as session:
                due_at = outbox.next_due_at(session)
        except Exception:
            return IDLE_WAKE_SECONDS
        if due_at is None:
            return IDLE_WAKE_SECONDS
        return max(0.05, min(IDLE_WAKE_SECONDS, (due_at - self.clock()).total_seconds()))

    # -- one pass ----------------------------------------------------------------------------

    def drain(self, max_messages: int | None = None) -> DrainResult:
        """Send every message due now (and the undelivered notices that follow from them);
        at most ``max_messages`` claims."""
        with self._drain_lock:
            from bot.outbox_pass import SendPass  # the loop of a pass: bot.outbox_pass

            if self._pool is not None and threading.current_thread() is self._thread:
                return SendPass(self, self._pool, max_messages).run()
            with ThreadPoolExecutor(self.workers, thread_name_prefix="icp-outbox-call") as pool:
                return SendPass(self, pool, max_messages).run()

    def _client(self, team_id: str, clients: dict[str, WebClient | None]) -> WebClient | None:
        if team_id not in clients:
            try:
                clients[team_id] = self.client_for_team(team_id)
            except Exception:
                log.exception("no Slack client for team %s", team_id)
                clients[team_id] = None
        return clients[team_id]

    def _claim(self, limit: int, skip: set[tuple[str, str]]) -> list[OutboxMessage]:
        """Claim up to ``limit`` due messages: their ids read without SQLite's write lock (most
        polls of a pass held back by pacing find none), then claimed in one statement."""
        now = self.clock()
        with self.db.session(read_only=True) as session:  # most polls find nothing: no write lock for them
            ids = outbox.due_except(session, now, limit=limit, skip=sorted(skip))
        if not ids:
            return []
        with self.db.session() as session:  # claim_all checks again that each one is still claimable
            claimed = outbox.claim_all(session, ids, now, self.lease)
            for message in claimed:
                session.expunge(message)
        return claimed

    def _attempt(self, client: WebClient, message: OutboxMessage) -> _Outcome:
        """One call to Slack, on a worker thread; never raises."""
        try:
            if message.uncertain and message.method in LOOKED_UP:
                found = self._find_posted(client, message)
                if found is not None:
                    return _Outcome(found=found)
            return _Outcome(response=self._call(client, message))
        except SlackApiError as exc:
            return _Outcome(error=exc)
        except (OSError, http.client.HTTPException) as exc:  # timeouts, lost connections (URLError too)
            return _Outcome(lost=exc)
        except SlackRequestError as exc:  # files upload v2: the upload URL refused the bytes
            return _Outcome(lost=exc)
        except Exception as exc:  # a bug of ours: the message is retried, the pass goes on
            log.exception("outbox: sending %s raised", message.key)
            return _Outcome(lost=exc)

    @staticmethod
    def pacing_keys(message: OutboxMessage) -> tuple[str, ...]:
        """The pacer's keys of a message: its workspace's method, and for a post its channel."""
        keys = (f"{message.team_id}:{message.method}",)
        if message.method == "chat.postMessage":
            channel = (message.payload.get("args") or {}).get("channel") or message.target
            keys += (f"{message.team_id}:chat.postMessage:{channel}",)
        return keys

    def _no_longer_needed(self, messages: list[OutboxMessage]) -> set[int]:
        """The ids of the claimed messages not to send: a reminder planned for later whose round
        closed, or whose person finished, meanwhile; a receipt whose round closed (its closed
        receipt replaces it). One read for the whole claim: each round once, and a person only
        for a reminder."""
        checked = [m for m in messages if m.round_id is not None and m.kind in SKIP_WHEN_DONE | {fanout.RECEIPT}]
        if not checked:
            return set()
        now, unneeded = self.clock(), set()
        with self.db.session(read_only=True) as session:
            open_rounds = {rnd.id: rnd for rnd in rounds.get_rounds(session, {m.round_id for m in checked})
                           if rnd.is_open}
            for message in checked:
                rnd = open_rounds.get(message.round_id)
                if rnd is None:
                    unneeded.add(message.id)
                elif message.kind != fanout.RECEIPT:
                    participant = rounds.get_participant(session, message.round_id, message.target)
                    if (rnd.closes_at is not None and rnd.closes_at <= now) or participant is None \
                            or participant.completed_at is not None:
                        unneeded.add(message.id)
        return unneeded

    def _call(self, client: WebClient, message: OutboxMessage) -> Any:
        args = dict(message.payload.get("args") or {})
        if message.method == "chat.postMessage":
            args["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"outbox_key": message.key}}
            return client.chat_postMessage(**args)
        if message.method == "chat.update":
            return client.chat_update(**args)
        if message.method == "files.uploadV2":  # getUploadURLExternal, the upload, completeUploadExternal
            return client.files_upload_v2(content=base64.b64decode(message.payload["content_b64"]), **args)
        raise ValueError(f"the outbox does not send {message.method}")

    def _find_posted(self, client: WebClient, message: OutboxMessage) -> tuple[str, str] | None:
        """The (channel, ts) of this message if an earlier attempt did post it: a post by the
        outbox key in its metadata, a file upload (which carries no metadata) by its file name,
        in the thread it went to."""
        args = message.payload.get("args", {})
        channel = args.get("channel") or message.target
        try:
            if channel[:1] in ("U", "W"):
                channel = client.conversations_open(users=channel)["channel"]["id"]
            since = (message.first_attempt_at or message.created_at) - timedelta(minutes=1)
            if args.get("thread_ts"):
                history = client.conversations_replies(channel=channel, ts=args["thread_ts"],
                                                       include_all_metadata=True, limit=200)
            else:
                history = client.conversations_history(channel=channel, oldest=f"{since.timestamp():.6f}",
                                                       include_all_metadata=True, limit=100)
        except SlackApiError as exc:
            log.warning("outbox: cannot check whether %s was posted (%s); sending it again",
                        message.key, exc.response.get("error"))
            return None
        for posted in history.get("messages") or []:
            payload = (posted.get("metadata") or {}).get("event_payload") or {}
            if message.method == "chat.postMessage" and payload.get("outbox_key") == message.key:
                return channel, posted.get("ts")
            if message.method == "files.uploadV2" and any(
                    f.get("name") == args.get("filename") for f in posted.get("files") or []):
                return channel, posted.get("ts")
        return None

    # -- settling ----------------------------------------------------------------------------

    def _settle_sent(self, message: OutboxMessage, channel: str | None, ts: str | None) -> None:
        self._settle_all_sent([(message, channel, ts)])

    def _settle_all_sent(self, sent: list[tuple[OutboxMessage, str | None, str | None]]) -> None:
        """Mark ``sent`` sent, each with what it completes: one transaction for all of them
        (invitations: one statement each for the messages and the participants), or one each
        when that fails (a message left unsettled is found in its conversation once its lease
        runs out, never sent twice)."""
        def settle(session: Session, batch: list[tuple[OutboxMessage, str | None, str | None]]) -> None:
            outbox.mark_all_sent(session, [(m.id, channel, ts) for m, channel, ts in batch], at=self.clock())
            invited, at = [], self.clock()
            for message, channel, ts in batch:
                on_sent = ON_SENT.get(message.kind)
                if on_sent is _invitation_sent:  # the same as the hook, for the whole batch
                    if message.round_id is not None and channel and ts:
                        invited.append((message.round_id, message.payload["user_id"], channel, ts))
                elif on_sent is not None:
                    on_sent(session, message, channel, ts, at)
                if message.kind == "digest" and message.payload.get("chart") and channel and ts:
                    self._enqueue_chart(session, message, channel, ts)
            rounds.mark_all_invited(session, invited)
            fanout.closed_meanwhile_all(session, invited, invitation=True, now=at)  # reached Slack after a close

        # What a sent message completes may queue more (a closed notice for a DM that reached
        # Slack after its round closed, a digest's chart): the pass looks once more before it ends.
        self._wake.set()
        try:
            with self.db.session() as session:
                settle(session, sent)
            return
        except Exception:
            if len(sent) == 1:
                raise
            log.exception("outbox: settling %d sent messages together failed; one at a time", len(sent))
        for item in sent:
            try:
                with self.db.session() as session:
                    settle(session, [item])
            except Exception:
                log.exception("outbox: %s was sent but could not be marked sent", item[0].key)

    def _enqueue_chart(self, session: Session, digest: OutboxMessage, channel: str, ts: str) -> None:
        """The digest's chart PNG, in its thread, in the transaction that marks the digest sent:
        neither goes without the other, and a digest found posted gets its chart all the same."""
        chart = digest.payload["chart"]
        name = f"icp-alignment-{hashlib.sha256(digest.key.encode()).hexdigest()[:12]}.png"
        outbox.enqueue(session, key=f"{digest.key}:chart", team_id=digest.team_id, kind="digest-chart",
                       method="files.uploadV2", target=channel, round_id=digest.round_id,
                       notify_user=digest.notify_user, at=self.clock(),
                       payload={"args": {"channel": channel, "thread_ts": ts, "filename": name,
                                         "title": "Agreement per trait and score over rounds",
                                         "alt_txt": chart["alt_text"][:CHART_ALT_TEXT_MAX],
                                         "initial_comment": "The digest's chart, as an image."},
                                "content_b64": chart["png_b64"]})

    def _failed(self, message: OutboxMessage, exc: SlackApiError) -> DrainResult:
        error = str(exc.response.get("error") or "unknown")
        status = getattr(exc.response, "status_code", 200) or 200
        if error in PERMANENT_ERRORS:
            return self._give_up(message, error)
        if status >= 500:
            return self._retry(message, f"HTTP {status}: {error}", uncertain=True)
        retry_after = retry_after_of(exc)
        return self._retry(message, error, uncertain=error in PASSING_ERRORS and error != "ratelimited",
                           after=timedelta(seconds=retry_after) if retry_after else None)

    def _retry(self, message: OutboxMessage, error: str, *, uncertain: bool,
               after: timedelta | None = None) -> DrainResult:
        if message.attempts >= MAX_ATTEMPTS:
            return self._give_up(message, f"gave up after {message.attempts} attempts: {error}")
        delay = after or min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (message.attempts - 1)))
        log.warning("outbox: %s failed (%s); trying again in %.0f s", message.key, error, delay.total_seconds())
        with self.db.session() as session:
            outbox.retry_later(session, message.id, error=error, due_at=self.clock() + delay, uncertain=uncertain)
        return DrainResult(retried=1)

    def _give_up(self, message: OutboxMessage, error: str) -> DrainResult:
        log.warning("outbox: %s cannot be delivered: %s", message.key, error)
        with self.db.session() as session:
            outbox.give_up(session, message.id, error=error)
        return DrainResult(gave_up=1)

    def _report_undelivered(self) -> int:
        """One DM per settled batch with undelivered messages, to whoever is to be told."""
        written = 0
        with self.db.session() as session:
            for batch in outbox.undelivered_to_report(session):
                text = undelivered_notice(batch.kind, batch.round_id, batch.total, batch.errors)
                key = f"{batch.team_id}:undelivered:{batch.notify_user}:{batch.kind}-{batch.round_id}-{batch.message_ids[0]}"
                outbox.enqueue(session, key=key, team_id=batch.team_id, kind="undelivered", method="chat.postMessage",
                               target=batch.notify_user, payload={"args": {"channel": batch.notify_user, "text": text}},
                               round_id=batch.round_id, at=self.clock())
                outbox.mark_reported(session, batch.message_ids)
                written += 1
        return written
