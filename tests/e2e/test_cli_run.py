"""`icp-bot run` as an admin starts it: a separate process configured only by the environment,
connecting to the fake Slack in Socket Mode, or serving HTTP on a port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .helpers import LEADER, SECRET, SlackClientSim, command

pytestmark = pytest.mark.system  # starts `icp-bot run` as a process

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def icp_bot(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[subprocess.Popen]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "ICP_"))}
    log = (tmp_path / "bot.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "run", *args],
        cwd=tmp_path, env={**clean, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'icp.db'}",
                           **env},
        stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _log(tmp_path: Path) -> str:
    return (tmp_path / "bot.log").read_text()


def test_socket_mode_from_the_command_line(fake, tmp_path):
    env = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": fake.app_token, "SLACK_API_URL": fake.api_url}
    with icp_bot(tmp_path, env, "--no-scheduler") as proc:
        fake.socket.wait_connected(timeout=30)
        assert proc.poll() is None, _log(tmp_path)
        sim = SlackClientSim(fake, socket_mode=True, command="/icp-check")
        reply = command(fake, sim, LEADER, "help", timeout=20)
        assert "/icp-check start" in reply["text"]
    assert (tmp_path / "icp.db").exists()  # SQLite created and migrated on start


def test_http_mode_from_the_command_line(fake, tmp_path):
    port = _free_port()
    env = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url}
    with icp_bot(tmp_path, env, "--http", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler") as proc:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, _log(tmp_path)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, _log(tmp_path)
                time.sleep(0.1)
        sim = SlackClientSim(fake, f"http://127.0.0.1:{port}/slack/events", SECRET, command="/icp-check")
        reply = command(fake, sim, LEADER, "help", timeout=20)
        assert "/icp-check start" in reply["text"]
        forged = SlackClientSim(fake, f"http://127.0.0.1:{port}/slack/events", "wrong", command="/icp-check")
        assert forged.slash(LEADER, "help").status == 401


def test_a_missing_setting_stops_start_up_naming_it(tmp_path):
    with icp_bot(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1"}) as proc:
        assert proc.wait(timeout=30) == 2
    assert "SLACK_APP_TOKEN" in _log(tmp_path)


def test_http_mode_exits_with_the_error_when_the_database_cannot_be_opened(fake, tmp_path):
    """The database is opened after the server listens (bot.startup); its failure still stops
    `icp-bot run --http` with exit code 2 and the reason in the log, rather than serving."""
    env = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-directory' / 'icp.db'}"}
    with icp_bot(tmp_path, env, "--http", "--host", "127.0.0.1", "--port", str(_free_port()),
                 "--no-scheduler") as proc:
        assert proc.wait(timeout=30) == 2
    assert "start-up failed" in _log(tmp_path) and "unable to open database file" in _log(tmp_path)
