"""The after-ack worker: jobs run off the caller's thread, in order, coalesced by key while
they wait, and a failing job does not stop the ones after it."""

from __future__ import annotations

import threading

from bot.runtime import AfterAck


def test_waiting_jobs_of_one_key_run_once_as_the_latest_in_their_place():
    worker = AfterAck()
    gate, ran = threading.Event(), []
    threads: set[str] = set()

    def blocker():
        threads.add(threading.current_thread().name)
        gate.wait(5)

    worker.submit("block", blocker)
    worker.submit("home:U1", lambda: ran.append("U1 first"))
    worker.submit("home:U2", lambda: ran.append("U2"))
    worker.submit("home:U1", lambda: ran.append("U1 latest"))  # replaces the waiting one
    gate.set()
    assert worker.wait_idle(5)
    assert ran == ["U1 latest", "U2"]
    assert threads == {"icp-after-ack"}


def test_a_job_submitted_while_its_key_runs_runs_again_after_it():
    worker = AfterAck()
    started, gate, ran = threading.Event(), threading.Event(), []

    def first():
        started.set()
        gate.wait(5)
        ran.append("first")

    worker.submit("home:U1", first)
    assert started.wait(5)
    worker.submit("home:U1", lambda: ran.append("second"))
    gate.set()
    assert worker.wait_idle(5)
    assert ran == ["first", "second"]


def test_a_failing_job_is_logged_and_the_next_one_runs(caplog):
    worker = AfterAck()
    ran = []

    def broken():
        raise RuntimeError("Slack is down")

    worker.submit("a", broken)
    worker.submit("b", lambda: ran.append("b"))
    assert worker.wait_idle(5)
    assert ran == ["b"]
    assert any("work after an ack failed" in r.getMessage() for r in caplog.records)


def test_inline_runs_in_the_caller():
    worker = AfterAck(inline=True)
    ran = []
    worker.submit("k", lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]


def test_waiting_jobs_run_before_the_process_exits(tmp_path):
    """A receipt queued just before a restart still goes out: the worker is drained at exit."""
    import subprocess
    import sys

    done = tmp_path / "done"
    script = (
        "import atexit, sys, threading\n"
        "from bot.runtime import AfterAck\n"
        "gate = threading.Event()\n"
        "worker = AfterAck()\n"
        "worker.submit('k', lambda: (gate.wait(5), open(sys.argv[1], 'w').write('sent')))\n"
        "atexit.register(gate.set)  # runs first at exit (atexit is last in, first out)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(done)], check=True, timeout=30)
    assert done.read_text() == "sent"
