"""``icp-bot run --http`` listens before its database layer is loaded (``bot.startup``): a
request that arrives meanwhile is held, never answered wrongly nor lost.

The server is ``bot.server.run_http`` under a real uvicorn (in a thread); the start-up is held
open by a gate the test opens, so "before ready" is a state, not a race. What happens after an
ack is awaited on the fake, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

from bot.app import bare_app, outbox_sender, wire_app
from bot.server import EVENTS_PATH, run_http
from bot.settings import Mode
from bot.slack_client import RESPONSE_HOSTS
from bot.startup import NOT_STARTED, Startup
from tests.fakeslack import FakeSlack

from .conftest import http_settings
from .helpers import LEADER, SECRET, SlackClientSim

WAIT = 20.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(fake: FakeSlack, build: Callable[[object], None], listeners) -> Iterator[tuple[SlackClientSim, Startup, threading.Thread]]:
    """``run_http`` with a Startup that runs ``build(app)``; yields once the port listens."""
    settings = http_settings(fake)
    app = bare_app(settings, Mode.HTTP, listener_executor=listeners)
    startup = Startup(lambda: build(app), response_hosts=(*RESPONSE_HOSTS, urlparse(fake.api_url).netloc))
    port = _free_port()
    server = threading.Thread(target=run_http, args=(app, "127.0.0.1", port, "error", startup), daemon=True)
    server.start()
    sim = SlackClientSim(fake, f"http://127.0.0.1:{port}{EVENTS_PATH}", SECRET, command="/icp-check", timeout=WAIT)
    import socket

    deadline = time.monotonic() + WAIT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not listen"
            time.sleep(0.02)
    try:
        yield sim, startup, server
    finally:
        startup.on_failure()  # the hook run_http gave the start-up: it stops the server
        server.join(timeout=WAIT)


@pytest.fixture
def listeners() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="listener") as pool:
        yield pool


def test_a_command_before_the_database_layer_is_ready_is_acked_and_answered_once_it_is(fake, db, listeners):
    gate = threading.Event()

    def build(app) -> None:
        assert gate.wait(WAIT)
        settings = http_settings(fake)
        wire_app(app, settings, db=db, mode=Mode.HTTP, outbox=outbox_sender(settings, db, Mode.HTTP, inline=True))

    with serving(fake, build, listeners) as (sim, startup, server):
        early = sim.slash(LEADER, "help")
        assert early.status == 200 and early.body in ("", b"")  # what icp_check's ack() sends
        assert not startup.ready and fake.responses(early.response_url) == []  # held, not answered

        with ThreadPoolExecutor(max_workers=1) as pool:  # another command waits, it is not acked blind
            other = SlackClientSim(fake, sim.bot_url, SECRET, command="/not-ours", timeout=WAIT)
            waiting = pool.submit(other.slash, LEADER, "help")
            time.sleep(0.3)
            assert not waiting.done()
            gate.set()
            assert waiting.result(timeout=WAIT).status == 404  # bolt's answer to a command it has no listener for

        reply = sim.expect(lambda: (fake.responses(early.response_url) or [None])[0], timeout=WAIT)
        assert "/icp-check start" in reply["text"]  # the help a leader gets, as when the bot is up
        assert startup.ready and len(fake.responses(early.response_url)) == 1
        assert sim.slash(LEADER, "help").status == 200  # and from then on as always
        assert server.is_alive()


def test_a_failed_start_up_stops_the_server_and_tells_who_was_acked(fake, db, listeners):
    gate = threading.Event()

    def build(app) -> None:
        assert gate.wait(WAIT)
        raise RuntimeError("the database cannot be reached")

    with serving(fake, build, listeners) as (sim, startup, server):
        early = sim.slash(LEADER, "help")
        assert early.status == 200
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = SlackClientSim(fake, sim.bot_url, SECRET, command="/not-ours", timeout=WAIT)
            waiting = pool.submit(other.slash, LEADER, "help")
            time.sleep(0.3)
            gate.set()
            assert waiting.result(timeout=WAIT).status == 503  # not a wrong answer: none
        reply = sim.expect(lambda: (fake.responses(early.response_url) or [None])[0], timeout=WAIT)
        assert reply["text"] == NOT_STARTED
        server.join(timeout=WAIT)
        assert not server.is_alive()  # run_http returned: `icp-bot run` exits with the error
        assert isinstance(startup.error, RuntimeError)
