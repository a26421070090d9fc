"""A slow Slack does not block acks (issue 14): with every Web API call answered 4 s late, the
real HTTP server (uvicorn, the production listener pool size, the outbox's own thread) acks a
fan-out start plus 30 concurrent answers, clicks, App Home opens and a leader's status within
Slack's 3 seconds, because the Slack calls run after the ack, off the requests' path.

Marked ``system``: a real server under real latency takes ~6 s, longer than a default test may."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.app import LISTENER_THREADS, create_app, outbox_sender
from bot.server import EVENTS_PATH
from bot.settings import Mode

from .conftest import http_settings
from .helpers import (
    LEADER,
    SECRET,
    SECTION_CALLBACK,
    STAFF,
    SlackClientSim,
    designed_answers,
    message_with,
    open_modal,
    question_ids,
    start_round,
)
from .test_http_server import serve_uvicorn

pytestmark = pytest.mark.system

SLACK_LATENCY = 4.0  # seconds for every Web API answer
ACK_LIMIT = 3.0  # Slack's: an interaction not acked within 3 s fails for the person


def test_a_slow_slack_does_not_block_acks(fake, db):
    settings = http_settings(fake)
    listeners = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")  # production's size
    sender = outbox_sender(settings, db, Mode.HTTP)  # its own thread, as in production
    app = create_app(settings, db=db, mode=Mode.HTTP, listener_executor=listeners, outbox=sender)
    answering, clicking = STAFF[:5], STAFF[5:]
    try:
        with serve_uvicorn(app) as base:
            sim = SlackClientSim(fake, base + EVENTS_PATH, SECRET, command="/icp-check", timeout=15)
            # While Slack is fast: a round is out, five people are in their survey, the leader
            # has the start form of a second round open.
            start_round(fake, sim)
            for user in answering:
                sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
                open_modal(sim, user, SECTION_CALLBACK, timeout=10)
            sim.slash(LEADER, "start")
            open_modal(sim, LEADER, "round_start", timeout=10)

            fake.slow("*", SLACK_LATENCY)
            requests: list[tuple[str, Callable[[], object]]] = [
                ("start a fan-out", lambda: sim.submit(LEADER, values={"users": STAFF, "delivery": "now"}))]
            for i, user in enumerate(answering):
                view = fake.current_view(user)
                answers = {f"q:{q}": v for q, v in designed_answers(i).items() if q in question_ids(view)}
                requests.append((f"answer {user}", lambda u=user, a=answers: sim.submit(u, values=a)))
            for user in clicking:
                message = message_with(fake, user, "survey_start")
                requests.append((f"click {user}", lambda u=user, m=message: sim.click(u, m, "survey_start")))
            for user in STAFF:
                requests.append((f"home {user}", lambda u=user: sim.home_opened(u)))
            for _ in range(10):
                requests.append(("status", lambda: sim.slash(LEADER, "status")))
            assert len(requests) == 31

            start = threading.Barrier(len(requests))

            def timed(send: Callable[[], object]) -> tuple[float, object]:
                start.wait(timeout=10)
                began = time.monotonic()
                response = send()
                return time.monotonic() - began, response

            with ThreadPoolExecutor(max_workers=len(requests)) as clients:
                futures = [(name, clients.submit(timed, send)) for name, send in requests]
                results = [(name, *future.result(timeout=30)) for name, future in futures]
            late = {name: round(elapsed, 2) for name, elapsed, _ in results if elapsed >= ACK_LIMIT}
            failed = {name: response.status for name, _, response in results if response.status != 200}
            assert not late and not failed, f"late acks: {late}; failed: {failed}"
            # the work after the acks did reach Slack (its answers are still held)
            fake.wait_for(lambda: all(user in fake.home_views for user in STAFF), timeout=10)
    finally:
        fake.slow("*", None)
        fake.release_held()  # the answers still held come at once; the rest of the work is fast
        listeners.shutdown(wait=True)
        sender.stop()
