"""What every listener needs, built once by ``create_app`` and handed to each listener by
bolt middleware (``bot.middleware``) as the ``runtime`` argument."""

from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services.access import Leaders
from storage.db import Database

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class AfterAck:
    """Work a listener leaves for after its ack that only refreshes what a person sees (App
    Home), done by one worker thread that is not a bolt listener thread, coalesced by key.

    A job reads the state when it runs, so a job submitted while one with the same key is
    still waiting replaces it and keeps its place: under load a person's App Home is
    published once with everything, not once per step, and the listener threads (and the
    acks waiting for them) never queue behind Slack calls that show nothing new. A job that
    is already running is not merged: the new one runs after it, so the last state is always
    published. ``inline=True`` runs each job at once in the caller (tests: a dispatch returns
    with everything done). When the process exits, jobs still waiting get ``EXIT_WAIT`` seconds
    to run (as bolt's listener pool finishes its work), so a receipt is not lost to a restart.
    """

    EXIT_WAIT = 5.0

    def __init__(self, *, inline: bool = False, name: str = "icp-after-ack"):
        self._inline = inline
        self._name = name
        self._pending: OrderedDict[Hashable, Callable[[], None]] = OrderedDict()
        self._wake = threading.Condition()
        self._idle = True
        self._worker: threading.Thread | None = None

    def submit(self, key: Hashable, job: Callable[[], None]) -> None:
        if self._inline:
            self._run(job)
            return
        with self._wake:
            self._pending[key] = job  # a waiting job of the same key is replaced in place
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._worker.start()
                atexit.register(self.wait_idle, self.EXIT_WAIT)
            self._wake.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has run; False if ``timeout`` passed first."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._pending and self._idle, timeout)

    def _work(self) -> None:
        while True:
            with self._wake:
                self._idle = True
                self._wake.notify_all()
                self._wake.wait_for(lambda: bool(self._pending))
                _key, job = self._pending.popitem(last=False)
                self._idle = False
            self._run(job)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # one failed refresh must not stop the others
            log.exception("work after an ack failed")


@dataclass(frozen=True)
class Runtime:
    """The database, the leader check (cached), the outbox sender, the pacer, the clock, and
    the worker for what is refreshed after an ack."""

    db: Database
    leaders: Leaders
    outbox: OutboxSender
    pacer: Pacer
    clock: Callable[[], datetime] = utcnow
    after_ack: AfterAck = field(default_factory=lambda: AfterAck(inline=True))

    def now(self) -> datetime:
        return self.clock()
