"""Listening before the database layer is loaded: ``icp-bot run --http`` builds the bare bolt
App (settings checked, auth.test passed) and listens, and only then loads the database layer
and the listeners, checks the schema (migrating it when behind, on SQLite or with --migrate)
and wires the app, in a background thread (``Startup``). SQLAlchemy's ORM, pydantic's
payload models and the listeners are most of the bot's start-up (benchmarks/README.md).

A request that arrives before that is done is never answered wrongly nor lost: it waits for
the build (``ThreadedSlackRequestHandler``), and is dispatched as it would have been. One kind
is acknowledged at once: a slash command of ``ACK_FIRST_COMMANDS``, whose listener always
acks first with an empty body (and answers through the command's response_url), gets that
same empty 200 while it waits, so Slack's 3 s do not run out during a restart. If the build
fails (the schema is behind, the database cannot be reached), the process exits with the
error (``icp-bot run`` returns 2), requests that waited are answered 503, and a slash command
acknowledged early is told through its response_url that the bot did not start.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from urllib.parse import urlparse

log = logging.getLogger(__name__)

ACK_FIRST_COMMANDS = frozenset({"/icp-check"})
"""Slash commands whose listener acks first with nothing (bot.listeners.commands.icp_check)."""

NOT_STARTED = "ICP Align could not start, so it did not run this command (its log says why). Try again once it is back."


class Startup:
    """The rest of the bot's start-up, run once in a background thread; requests wait for it."""

    def __init__(self, build: Callable[[], None], *, response_hosts: Iterable[str] = (),
                 ack_first: Iterable[str] = ACK_FIRST_COMMANDS) -> None:
        self._build = build
        self._done = threading.Event()
        self.error: BaseException | None = None
        self.response_hosts = frozenset(response_hosts)
        self.ack_first = frozenset(ack_first)
        self.on_failure: Callable[[], None] = lambda: None

    def start(self) -> None:
        threading.Thread(target=self._run, name="icp-startup", daemon=True).start()

    def _run(self) -> None:
        try:
            self._build()
        except BaseException as exc:  # noqa: BLE001 - any failure stops the server
            self.error = exc
        finally:
            self._done.set()
        if self.error is not None:
            self.on_failure()

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self.error is None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build is done; True if it succeeded."""
        self._done.wait(timeout)
        return self.ready

    def acks_first(self, body: object) -> bool:
        """Whether ``body`` is a slash command that may be acknowledged before the build is done."""
        return isinstance(body, dict) and "type" not in body and body.get("command") in self.ack_first

    def tell_not_started(self, body: dict) -> None:
        """Tell the person who ran a command acknowledged early that it did not run."""
        url = body.get("response_url")
        if not isinstance(url, str) or urlparse(url).netloc not in self.response_hosts:
            return
        data = json.dumps({"response_type": "ephemeral", "text": NOT_STARTED}).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - a Slack host, checked above
        except OSError as exc:
            log.warning("could not tell a command's response_url that the bot did not start: %s",
                        type(exc).__name__)
