"""PromptAck: the thread that dispatched a request wakes when the listener acks (bolt polls
every 10 ms otherwise); other threads never wait on it."""

from __future__ import annotations

import threading

from bot.app import PromptAck


def test_the_dispatching_thread_gets_the_ack_the_listener_sets():
    ack = PromptAck(wait=5.0)
    listener_may_ack = threading.Event()

    def listener():
        assert ack.response is None  # a listener thread reads without waiting
        listener_may_ack.wait(5)
        ack(text="done")

    worker = threading.Thread(target=listener)
    worker.start()
    listener_may_ack.set()
    response = ack.response  # waits here until the listener acks, not for a 10 ms tick
    worker.join(5)
    assert response is not None and response.status == 200 and "done" in response.body


def test_without_an_ack_the_dispatching_thread_gets_none_at_the_deadline():
    ack = PromptAck(wait=0.0)  # past its deadline: bolt then logs "did not call ack()"
    assert ack.response is None
