"""The one factory that builds the bolt app.

``create_app`` builds what every listener needs once (``bot.runtime.Runtime``), installs the
middleware that hands it to them (``bot.middleware``), and wires the listeners
(``bot.listeners``). Nothing else holds state: everything that lasts is in the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.settings import Mode, Settings
from bot.slack_client import RESPONSE_HOSTS, make_client, outbox_client

if TYPE_CHECKING:  # the listeners and the database layer are imported by wire_app, not here:
    # ``icp-bot run --http`` builds the bare App and listens before it loads them (bot.startup)
    from bot.outbox import OutboxSender
    from bot.pacing import Pacer
    from storage.db import Database

log = logging.getLogger(__name__)

ACK_WAIT = 3.0
"""Seconds a dispatching thread waits for a listener's ack: bolt's own ``ack_timeout``."""

LISTENER_THREADS = 64
"""bolt's listener pool (its default is 5). A listener keeps its thread after its ack while it
waits for Slack (views.open, views.publish, chat.update); a request whose listener finds no free
thread is not acked, and Slack gives up after 3 seconds. With Slack answering in 4 s, 16 threads
left some of 31 concurrent requests unacked (tests/e2e/test_slow_slack.py); 64 ack them all.
Threads waiting on a socket hold no GIL and cost little; the pool starts them on demand."""


class PromptAck(Ack):
    """bolt's ``ack`` that wakes the dispatching thread the moment the listener calls it.

    bolt's thread runner waits for an ack by polling ``ack.response`` every 10 ms, so every
    request held its dispatch thread for at least 10 ms, however fast the listener acked (with
    4 dispatch threads: at most 400 requests a second, and up to 10 ms on every ack). Here
    reading ``response`` from the thread that dispatched the request waits on an event until
    the ack is set (or until bolt's ack timeout), so the loop ends at the first check. Any
    other thread (the listener) reads it without waiting."""

    def __init__(self, wait: float) -> None:
        self._set = threading.Event()
        self._dispatcher = threading.get_ident()
        self._until = time.monotonic() + wait
        self._response: BoltResponse | None = None
        super().__init__()

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        if self._response is None and threading.get_ident() == self._dispatcher:
            self._set.wait(max(0.0, self._until - time.monotonic()))
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        self._response = value
        if value is not None:
            self._set.set()


_here = threading.local()  # .inline: run the next listener of this thread's request in it


class ListenerPool(ThreadPoolExecutor):
    """bolt's listener executor: a thread pool, except for a request ``PromptAckMiddleware``
    marks as a survey step, whose listener runs in the dispatching thread.

    A step's listener does its work before the ack and leaves the rest to the after-ack worker,
    so running it where the request already is saves two thread hand-overs per step (to a
    listener thread and back), each a wait for the GIL on a busy process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if not getattr(_here, "inline", False):
            return super().submit(fn, *args, **kwargs)
        _here.inline = False
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # bolt's runner handles a listener's errors itself
            done.set_exception(exc)
        return done


class PromptAckMiddleware(Middleware):
    """Gives each request a ``PromptAck`` (bolt creates its ``ack`` on first use), and marks a
    survey step to run in the dispatching thread (``ListenerPool``)."""

    def __init__(self, wait: float = ACK_WAIT) -> None:
        from bot.views import survey_modal

        self.wait = wait
        self._step = survey_modal.CALLBACK_ID

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - bolt's name
        req.context["ack"] = PromptAck(self.wait)
        body = req.body
        _here.inline = isinstance(body, dict) and body.get("type") == "view_submission" \
            and isinstance(body.get("view"), dict) and body["view"].get("callback_id") == self._step
        try:
            return next()
        finally:
            _here.inline = False


# The name bolt derives from its caller's file ("app.py") when none is given, passed so that
# App() does not walk the stack with inspect.stack(): 0.1 s of start-up with the bot's modules loaded.
BOLT_APP_NAME = "app.py"


def create_app(settings: Settings, *, db: Database, mode: Mode = Mode.SOCKET, client: WebClient | None = None,
               pacer: Pacer | None = None, clock: Callable[[], datetime] | None = None,
               outbox: OutboxSender | None = None, listener_executor: Executor | None = None) -> App:
    """The bolt app for ``mode``; settings must already hold what the mode needs.

    ``pacer`` is shared with the scheduler when one runs in the same process; ``outbox``
    sends what the listeners enqueue (by default a sender thread started on first use, see
    ``outbox_sender``). ``clock``, an inline ``outbox`` and ``listener_executor`` are for
    tests (an executor that runs listeners inline makes a dispatch return once everything it
    caused is done).
    """
    if mode == Mode.OAUTH:
        app = oauth_app(settings, db, client=client, listener_executor=listener_executor)
    else:
        app = bare_app(settings, mode, client=client, listener_executor=listener_executor)
    wire_app(app, settings, db=db, mode=mode, pacer=pacer, clock=clock, outbox=outbox,
             inline_after_ack=listener_executor is not None)
    return app


def bare_app(settings: Settings, mode: Mode, *, client: WebClient | None = None,
             listener_executor: Executor | None = None) -> App:
    """The bolt App of Socket Mode or HTTP mode with no listener yet (``wire_app`` adds them).
    Constructing it calls auth.test, so a bad token fails here; it needs neither the database
    nor the listeners, so ``icp-bot run --http`` builds it before it listens."""
    executor = listener_executor or ListenerPool(max_workers=LISTENER_THREADS, thread_name_prefix="icp-listener")
    return App(
        name=BOLT_APP_NAME,
        signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
        client=client or make_client(settings.slack_api_url, settings.slack_bot_token),
        # Socket Mode requests carry no signature; HTTP requests are always verified.
        request_verification_enabled=mode == Mode.HTTP,
        listener_executor=executor,
    )


def oauth_app(settings: Settings, db: Database, *, client: WebClient | None = None,
              listener_executor: Executor | None = None) -> App:
    """The bolt App of OAuth mode (its installation store is in the database), no listener yet."""
    from slack_bolt.oauth.oauth_settings import OAuthSettings

    from storage.slack_oauth import (  # cryptography: OAuth only
        installation_store,
        oauth_state_store,
    )

    executor = listener_executor or ListenerPool(max_workers=LISTENER_THREADS, thread_name_prefix="icp-listener")
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.slack_scopes.split(","),
        installation_store=installation_store(db, settings.slack_client_id or "", encryption_key=settings.encryption_key()),
        state_store=oauth_state_store(db),
    )
    app = App(name=BOLT_APP_NAME, signing_secret=settings.slack_signing_secret, oauth_settings=oauth_settings,
              client=client or make_client(settings.slack_api_url), listener_executor=executor)
    app.enable_token_revocation_listeners()
    return app


def wire_app(app: App, settings: Settings, *, db: Database, mode: Mode, pacer: Pacer | None = None,
             clock: Callable[[], datetime] | None = None, outbox: OutboxSender | None = None,
             inline_after_ack: bool = False) -> None:
    """Add to ``app`` the middleware that hands each listener the ``Runtime``, and the listeners."""
    from bot import listeners
    from bot.middleware import ContextFiller
    from bot.pacing import Pacer
    from bot.runtime import AfterAck, Runtime, utcnow
    from bot.services.access import Leaders

    pacer = pacer or Pacer()
    outbox = outbox or outbox_sender(settings, db, mode, pacer=pacer)
    # An injected listener executor (tests) runs everything inline, the after-ack work too.
    runtime = Runtime(db=db, leaders=Leaders(db), outbox=outbox, pacer=pacer, clock=clock or utcnow,
                      after_ack=AfterAck(inline=inline_after_ack))
    app.use(PromptAckMiddleware())
    app.use(ContextFiller(runtime, response_hosts=(*RESPONSE_HOSTS, urlparse(settings.slack_api_url).netloc)))
    listeners.register(app, lifecycle_events=mode != Mode.OAUTH)
    app.error(log_listener_error)


def outbox_sender(settings: Settings, db: Database, mode: Mode, *, pacer: Pacer | None = None,
                  inline: bool = False, clock: Callable[[], datetime] | None = None) -> OutboxSender:
    """The outbox sender for ``mode``: the bot token's client, or each installation's (OAuth)."""
    from bot.outbox import OutboxSender

    if mode == Mode.OAUTH:
        from storage.slack_oauth import installation_store

        store = installation_store(db, settings.slack_client_id or "", encryption_key=settings.encryption_key())

        def client_for_team(team_id: str) -> WebClient | None:
            installation = store.find_installation(enterprise_id=None, team_id=team_id)
            if installation is None or not installation.bot_token:
                return None
            return outbox_client(settings.slack_api_url, installation.bot_token)
    else:
        client = outbox_client(settings.slack_api_url, settings.slack_bot_token)

        def client_for_team(team_id: str) -> WebClient | None:
            return client

    return OutboxSender(db, client_for_team, pacer=pacer, inline=inline, workers=settings.icp_outbox_workers,
                        **({"clock": clock} if clock is not None else {}))


def log_listener_error(error: Exception, body: dict) -> None:
    log.exception("listener failed on a %s payload", body.get("type") or body.get("command"), exc_info=error)
