"""One pass of the outbox sender (``bot.outbox.OutboxSender.drain``): claim a few messages
ahead, start each call at the slot the pacer booked for it, keep up to ``workers`` calls in
flight (never two to one conversation at once, so a conversation's messages keep their order),
settle the calls that came back in batches, and stop when nothing more is due. The sender
itself (claims, settling, retries, the uncertain-send lookup, waking) is ``bot.outbox``; this
module is only the loop that schedules its calls.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.outbox import (
    AHEAD,
    HORIZON,
    POLL_WHILE_SENDING,
    RATE_LIMITED_TRIES,
    SETTLE_AFTER,
    DrainResult,
    _Outcome,
    retry_after_of,
)
from storage import outbox
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.outbox import OutboxSender

log = logging.getLogger("bot.outbox")

BUSY_RECHECK = 0.1  # seconds: the soonest a pass claims again while its paced methods are held back


def _conversation(keys: tuple[str, ...]) -> str | None:
    """The pacing key of the conversation a post goes to (None for other methods)."""
    return keys[1] if len(keys) > 1 else None


class SendPass:
    """One pass of ``OutboxSender.drain``: claim ahead, call at each slot, settle in batches."""

    def __init__(self, sender: OutboxSender, pool: ThreadPoolExecutor, max_messages: int | None):
        self.sender, self.pool, self.max_messages = sender, pool, max_messages
        self.result = DrainResult()
        self.clients: dict[str, WebClient | None] = {}
        self.queue: list[tuple[float, int, OutboxMessage, WebClient, tuple[str, ...]]] = []  # by slot
        self.running: dict[Future, tuple[OutboxMessage, WebClient, tuple[str, ...]]] = {}
        self.rate_limited: dict[int, int] = {}  # message id -> 429s in this claim
        self.claimed = 0
        self.exhausted_at: float | None = None  # when a claim last found nothing more due
        self.done: list[tuple[tuple[OutboxMessage, WebClient, tuple[str, ...]], _Outcome]] = []
        self.busy: dict[str, int] = {}  # pacing key of a conversation (or method) -> calls in flight
        self.done_since = 0.0
        self._order = itertools.count()

    def run(self) -> DrainResult:
        sender = self.sender
        while True:
            if sender._stop.is_set() and self.queue:
                self._give_back(len(self.queue))  # stopping: the calls in flight finish, the rest is left due
            self._claim_more()
            self._start_due()
            if not self.queue and not self.running:
                self._settle_done()
                if self.queue:
                    continue  # rate limited: booked again
                if (self.exhausted_at is None or sender._wake.is_set()) and self._room() \
                        and not sender._stop.is_set():
                    continue  # a kick came in meanwhile (a chart queued by its digest), or messages are still due
                reported = sender._report_undelivered()
                self.result.reported += reported
                if reported and self._room():
                    self.exhausted_at = None
                    continue  # the undelivered notices go out in this pass too
                return self.result
            self._wait_and_settle()

    def _room(self) -> bool:
        return self.max_messages is None or self.claimed < self.max_messages

    def _want(self) -> int:
        """How many messages a claim would ask for now: 0 while the queue has no room for a
        batch (claims come in batches, not one per call that came back) or the pass is full."""
        sender = self.sender
        want = sender.workers * AHEAD - len(self.queue) - len(self.running)
        if self.max_messages is not None:
            want = min(want, self.max_messages - self.claimed)
        if want <= 0 or (want < sender.workers and (self.queue or self.running)):
            return 0
        return want

    def _claim_more(self) -> None:
        sender = self.sender
        want = self._want()
        if sender._stop.is_set() or not want:
            return
        if self.exhausted_at is not None and not sender._wake.is_set() \
                and time.monotonic() - self.exhausted_at < POLL_WHILE_SENDING:
            return
        sender._wake.clear()
        backlogs: dict[tuple[str, str], float] = {}  # a paced (workspace, method) -> its backlog
        for _, _, message, _, keys in self.queue:
            if (message.team_id, message.method) not in backlogs:
                backlogs[(message.team_id, message.method)] = sender.pacer.backlog(keys[0])
        busy = {pair for pair, backlog in backlogs.items() if backlog > HORIZON}
        batch = sender._claim(want, busy)
        self.claimed += len(batch)
        self.exhausted_at = time.monotonic() if len(batch) < want and not busy else None
        if busy and len(batch) < want:  # look again when the first held-back method may be claimed again
            again = max(BUSY_RECHECK, min(backlogs[pair] for pair in busy) - HORIZON)
            self.exhausted_at = time.monotonic() - POLL_WHILE_SENDING + min(again, POLL_WHILE_SENDING)
        unneeded = sender._no_longer_needed(batch)
        if unneeded:
            with sender.db.session() as session:
                for message_id in sorted(unneeded):
                    outbox.skip(session, message_id, reason="no longer needed")
        for message in batch:
            if message.id not in unneeded:
                self._queue(message)

    def _queue(self, message: OutboxMessage) -> None:
        sender = self.sender
        client = sender._client(message.team_id, self.clients)
        if client is None:
            self.result += sender._give_up(message, "not_installed")
            return
        self._book(message, client, sender.pacing_keys(message))

    def _book(self, message: OutboxMessage, client: WebClient, keys: tuple[str, ...]) -> None:
        """Queue ``message`` at its pacer slot; a slot later than half the lease (a long
        Retry-After) is not waited for while holding the claim: the message goes back to the
        outbox, due at that slot."""
        sender = self.sender
        delay = sender.pacer.reserve(*keys)
        if delay > sender.lease.total_seconds() / 2:
            sender.pacer.release(*keys)
            with sender.db.session() as session:
                outbox.retry_later(session, message.id, error="paced past half its lease",
                                   due_at=sender.clock() + timedelta(seconds=delay), uncertain=False)
            return
        heapq.heappush(self.queue, (time.monotonic() + delay, next(self._order), message, client, keys))

    def _give_back(self, count: int) -> None:
        """The ``count`` latest-queued messages back to the outbox, due now (unclaimed, not
        uncertain: they were never sent), and their pacer slots freed."""
        sender = self.sender
        self.queue.sort()
        kept, back = self.queue[:-count], self.queue[-count:]
        self.queue = kept
        heapq.heapify(self.queue)
        with sender.db.session() as session:
            for _, _, message, _, keys in back:
                outbox.retry_later(session, message.id, error="given back unsent", due_at=sender.clock(),
                                   uncertain=False)
                sender.pacer.release(*keys)

    def _start_due(self) -> None:
        """Start the calls whose slot has come, but one at a time per channel: two messages to one
        conversation (an invitation and the summary to a leader) arrive in the order enqueued."""
        now, held = time.monotonic(), []
        while self.queue and self.queue[0][0] <= now and len(self.running) < self.sender.workers:
            entry = heapq.heappop(self.queue)
            _, _, message, client, keys = entry
            conversation = _conversation(keys)
            if conversation in self.busy:
                held.append(entry)
                continue
            if conversation is not None:
                self.busy[conversation] = self.busy.get(conversation, 0) + 1
            self.running[self.pool.submit(self.sender._attempt, client, message)] = (message, client, keys)
        for entry in held:
            heapq.heappush(self.queue, entry)

    def _wait_and_settle(self) -> None:
        slots = [slot for slot, _, _, _, keys in self.queue if _conversation(keys) not in self.busy]
        next_slot = min(slots) - time.monotonic() if slots else None  # one held for its conversation waits for a call
        if not self.running:
            # a kick (something new is due) may end the wait only when a claim has room for it:
            # else the kick stays set, and each wait would return at once until the next slot
            waiting_for = self.sender._wake if self._want() else self.sender._stop
            waiting_for.wait(max(0.0, min(next_slot or 0.0, POLL_WHILE_SENDING)))
            return
        timeout = None if next_slot is None or len(self.running) >= self.sender.workers else max(0.0, next_slot)
        if self.exhausted_at is not None:
            timeout = min(timeout if timeout is not None else POLL_WHILE_SENDING, POLL_WHILE_SENDING)
        if self.done:
            timeout = min(timeout if timeout is not None else SETTLE_AFTER, SETTLE_AFTER)
        done, _ = wait_for_futures(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        if done and not self.done:
            self.done_since = time.monotonic()
        for future in done:
            message, client, keys = self.running.pop(future)
            conversation = _conversation(keys)
            if conversation is not None:
                self.busy[conversation] -= 1
                if not self.busy[conversation]:
                    del self.busy[conversation]
            self.done.append(((message, client, keys), future.result()))
        if len(self.done) >= self.sender.workers or time.monotonic() - self.done_since >= SETTLE_AFTER:
            self._settle_done()

    def _settle_done(self) -> None:
        """Settle the calls that came back: the sent ones in one transaction."""
        sender, sent, outcomes, self.done = self.sender, [], self.done, []
        for (message, client, keys), outcome in outcomes:
            if outcome.found is not None:
                sent.append((message, *outcome.found))
                log.info("outbox: %s was posted before its answer got lost; not sent again", message.key)
                self.result.found_sent += 1
            elif outcome.response is not None:
                sent.append((message, outcome.response.get("channel"), outcome.response.get("ts")))
                for key in keys:
                    sender.pacer.went_through(key)
                self.result.sent += 1
            elif outcome.error is not None:
                retry_after = retry_after_of(outcome.error)
                tries = self.rate_limited.get(message.id, 0) + 1
                if retry_after is not None:
                    sender.pacer.penalize(keys[0], retry_after)
                    log.info("outbox: Slack answered 429 to %s (Retry-After %s s); slowing down", message.key,
                             retry_after)
                if retry_after is not None and tries < RATE_LIMITED_TRIES:
                    self.rate_limited[message.id] = tries
                    self._book(message, client, keys)
                else:
                    self.result += sender._failed(message, outcome.error)
            elif outcome.lost is not None:
                self.result += sender._retry(message, f"connection: {outcome.lost!r}", uncertain=True)
        if sent:
            sender._settle_all_sent(sent)
