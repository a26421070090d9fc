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
(the workspace has not granted ``im:history`` / ``channels:history``) is sent again, once per
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
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


class OutboxSender:
    """Drains the outbox: in a daemon thread (``start``), or in the caller (``inline=True``,
    for tests and one-off commands)."""

    def __init__(self, db: Database, client_for_team: ClientForTeam, *, pacer: Pacer | None = None,
                 clock: Callable[[], datetime] = _utcnow, lease: timedelta = LEASE, inline: bool = False):
        self.db = db
        self.client_for_team = client_for_team
        self.pacer = pacer or Pacer()
        self.clock = clock
        self.lease = lease
        self.inline = inline
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drain_lock = threading.Lock()

    # -- running ---------------------------------------------------------------------------

    def kick(self) -> None:
        """Something was enqueued: send it now (inline) or wake the thread (started on demand)."""
        if self.inline:
            self.drain()
            return
        if self._thread is None:
            self.start()
        self._wake.set()

    def start(self) -> None:
        """Start the sending thread; it first resumes whatever a crash or a restart left due."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="icp-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # the next pass tries again; never let the thread die
                log.exception("outbox pass failed")
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()

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
        """Send every message due now (and the undelivered notices that follows from them)."""
        result = DrainResult()
        with self._drain_lock:
            clients: dict[str, WebClient | None] = {}

            def room() -> bool:
                return max_messages is None or result.sent + result.gave_up + result.retried < max_messages

            while room():
                with self.db.session(read_only=True) as session:
                    ids = outbox.due(session, self.clock(), limit=50)
                if not ids:
                    result.reported += self._report_undelivered()
                    with self.db.session(read_only=True) as session:
                        if not outbox.due(session, self.clock(), limit=1):
                            return result
                    continue
                for message_id in ids:
                    if not room():
                        break
                    result += self._send_one(message_id, clients)
        return result

    def _client(self, team_id: str, clients: dict[str, WebClient | None]) -> WebClient | None:
        if team_id not in clients:
            try:
                clients[team_id] = self.client_for_team(team_id)
            except Exception:
                log.exception("no Slack client for team %s", team_id)
                clients[team_id] = None
        return clients[team_id]

    def _send_one(self, message_id: int, clients: dict[str, WebClient | None]) -> DrainResult:
        now = self.clock()
        with self.db.session() as session:
            message = outbox.claim(session, message_id, now, self.lease)
            if message is None:
                return DrainResult()
            session.expunge(message)
        if self._no_longer_needed(message):
            with self.db.session() as session:
                outbox.skip(session, message.id, reason="no longer needed")
            return DrainResult()
        client = self._client(message.team_id, clients)
        if client is None:
            return self._give_up(message, "not_installed")
        if message.uncertain and message.method in LOOKED_UP:
            found = self._find_posted(client, message)
            if found is not None:
                self._settle_sent(message, *found)
                log.info("outbox: %s was posted before its answer got lost; not sent again", message.key)
                return DrainResult(found_sent=1)
        self.pacer.wait(f"{message.team_id}:{message.method}")
        try:
            response = self._call(client, message)
        except SlackApiError as exc:
            return self._failed(message, exc)
        except (OSError, http.client.HTTPException) as exc:  # timeouts, lost connections (URLError too)
            return self._retry(message, f"connection: {exc!r}", uncertain=True)
        except SlackRequestError as exc:  # files upload v2: the upload URL refused the bytes
            return self._retry(message, f"upload: {exc}", uncertain=True)
        self._settle_sent(message, response.get("channel"), response.get("ts"))
        return DrainResult(sent=1)

    def _no_longer_needed(self, message: OutboxMessage) -> bool:
        """A reminder planned for later whose round closed, or whose person finished, meanwhile;
        a receipt whose round closed (its closed receipt replaces it)."""
        if message.round_id is None or message.kind not in SKIP_WHEN_DONE | {fanout.RECEIPT}:
            return False
        with self.db.session(read_only=True) as session:
            rnd = rounds.get_round(session, message.round_id)
            participant = rounds.get_participant(session, message.round_id, message.target)
        if message.kind == fanout.RECEIPT:
            return rnd is None or not rnd.is_open
        return (rnd is None or not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= self.clock())
                or participant is None or participant.completed_at is not None)

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
        with self.db.session() as session:
            outbox.mark_sent(session, message.id, channel=channel, ts=ts, at=self.clock())
            on_sent = ON_SENT.get(message.kind)
            if on_sent is not None:
                on_sent(session, message, channel, ts, self.clock())
            if message.kind == "digest" and message.payload.get("chart") and channel and ts:
                self._enqueue_chart(session, message, channel, ts)

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
        retry_after = None
        if status == 429:
            header = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get("retry-after")
            retry_after = float(header[0] if isinstance(header, list) else header or 1)
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
