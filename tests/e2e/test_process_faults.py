"""`icp-bot run` processes against the fake Slack over HTTP, killed and doubled: a bot killed
(SIGKILL) mid fan-out and restarted invites everyone exactly once; two scheduler processes on
one PostgreSQL database post one digest and send each invitation once.

The fan-outs are put in the outbox the way ``/icp-check start`` does (``fanout
.enqueue_invitations`` in the round's unit of work), then the processes send them. The bot's
clock is shifted with the test-only ``ICP_CLOCK_OFFSET``: past a killed sender's leases on
restart, just before the digest's due time for the schedulers. Every wait is bounded."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.outbox import LEASE
from bot.services import fanout, workspace_settings
from storage import outbox, rounds, templates, workspaces
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import PG_ENV

from .helpers import LEADER, SECRET, STAFF, TEAM, FakeSlack

pytestmark = pytest.mark.system  # starts `icp-bot run` processes

ROOT = Path(__file__).resolve().parents[2]
DIGEST_CHANNEL = "C0DIGEST"
WAIT = 60.0  # seconds: the bound of every wait on a process (start-up on a loaded machine included)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def bot_process(tmp_path: Path, name: str, fake: FakeSlack, database_url: str,
                *args: str, **env: str) -> Iterator[subprocess.Popen]:
    """`icp-bot run --http` on a free port, configured by the environment only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "ICP_"))}
    log = (tmp_path / f"{name}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "run", "--http",
         "--host", "127.0.0.1", "--port", str(_free_port()), *args],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        env={**clean, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": fake.bot_token,
             "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, **env})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))


def _wait(predicate: Callable[[], Any], what: str, tmp_path: Path, procs: list[subprocess.Popen],
          timeout: float = WAIT) -> Any:
    """Poll ``predicate`` until truthy; fail naming ``what`` (with the logs) past ``timeout`` or
    when a process died."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        for proc in procs:
            assert proc.poll() is None, f"a bot process exited ({proc.returncode}) waiting for {what}\n{_logs(tmp_path)}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s\n{_logs(tmp_path)}"
        time.sleep(0.05)


def _round_with_invitations(db: Database, people: list[str]) -> int:
    now = datetime.now(UTC)
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM)
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q3 ICP check", created_by=LEADER, opened_at=now,
                                  closes_at=now + timedelta(days=7))
        rounds.add_participants(s, rnd.id, [(u, None) for u in people])
        fanout.enqueue_invitations(s, rnd, stored.template, people, notify_user=LEADER, now=now)
        return rnd.id


def _statuses(db: Database, kind: str) -> dict[str, int]:
    with db.session(read_only=True) as s:
        counts: dict[str, int] = {}
        for message in s.query(OutboxMessage).filter_by(kind=kind):
            counts[message.status] = counts.get(message.status, 0) + 1
        return counts


def _invited(db: Database, round_id: int) -> set[str]:
    with db.session(read_only=True) as s:
        return {p.user_id for p in rounds.list_participants(s, round_id) if p.invite_ts}


def _dm_counts(fake: FakeSlack) -> dict[str, int]:
    return {user: len(fake.messages(user)) for user in STAFF}


def test_a_bot_killed_mid_fan_out_and_restarted_invites_everyone_once(fake, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'icp.db'}"
    db = Database(database_url)
    db.upgrade()
    round_id = _round_with_invitations(db, STAFF)
    # The 5th invitation is posted and its answer never comes: the kill lands mid-call.
    fake.accept_then_drop("chat.postMessage", hold=None, after=4)
    with bot_process(tmp_path, "first", fake, database_url, "--no-scheduler") as first:
        _wait(lambda: sum(_dm_counts(fake).values()) >= 5, "5 invitations posted", tmp_path, [first])
        first.send_signal(signal.SIGKILL)  # kill -9: no clean-up of any kind
        first.wait(timeout=10)
    # The sender has several calls in flight: when the kill lands, the held 5th (and maybe
    # others, posted but not yet settled) is claimed and unsettled; nothing is in a DM twice.
    statuses = _statuses(db, "invite")
    assert statuses.get("sending", 0) >= 1 and sum(statuses.values()) == len(STAFF)
    assert len(_invited(db, round_id)) == statuses.get("sent", 0) < sum(_dm_counts(fake).values())
    assert max(_dm_counts(fake).values()) == 1

    # Restarted after the dead sender's lease ran out (the clock shifted past it, not waited for).
    later = str((LEASE + timedelta(minutes=1)).total_seconds())
    with bot_process(tmp_path, "second", fake, database_url, "--no-scheduler", ICP_CLOCK_OFFSET=later) as second:
        _wait(lambda: _statuses(db, "invite") == {"sent": len(STAFF)}, "every invitation sent", tmp_path, [second])
    assert _dm_counts(fake) == dict.fromkeys(STAFF, 1)
    assert _invited(db, round_id) == set(STAFF)
    assert fake.calls_to("conversations.history"), "the uncertain 5th was looked up, not re-posted blindly"
    assert "ICP_CLOCK_OFFSET" in (tmp_path / "second.log").read_text()  # the shift is never silent
    db.dispose()


HOUSEKEEPING_RUN = re.compile(r"housekeeping(: | skipped)")


def _housekeeping_runs(tmp_path: Path, name: str) -> int:
    return len(HOUSEKEEPING_RUN.findall((tmp_path / f"{name}.log").read_text()))


def _configure_digest_due_soon(db: Database, lead_seconds: float) -> tuple[datetime, float]:
    """A weekly digest whose moment comes ``lead_seconds`` after a process started now with the
    returned ICP_CLOCK_OFFSET; returns (the due moment on the bot's clock, the offset)."""
    now = datetime.now(UTC)
    due = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM)
    workspace_settings.change_setting(db, TEAM, "timezone", "UTC")
    choice = workspace_settings.parse_digest_args(
        [f"<#{DIGEST_CHANNEL}>", due.strftime("%A").lower(), due.strftime("%H:%M")], workspace_settings.read(db, TEAM))
    workspace_settings.set_digest(db, TEAM, choice, LEADER)
    return due, (due - now).total_seconds() - lead_seconds


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason=(
    f"two scheduler processes share one database only on PostgreSQL; set {PG_ENV} (.ci/run does). "
    "SQLite runs one process by design"))
def test_two_scheduler_processes_on_one_postgres_post_one_digest_and_each_invitation_once(fake, tmp_path,
                                                                                          postgres_url):
    database_url = postgres_url.render_as_string(hide_password=False)
    db = Database(database_url)
    db.upgrade()
    fake.add_channel(DIGEST_CHANNEL, "leadership", members=[LEADER])
    round_id = _round_with_invitations(db, STAFF)
    due, offset = _configure_digest_due_soon(db, lead_seconds=6)  # both bots' clocks start 6 s before it
    fake.wall_clock = lambda: time.time() + offset  # Slack's clock agrees with the bots'
    fake.slow("chat.postMessage", 0.2)  # a fan-out long enough for both senders to take part

    env = {"ICP_CLOCK_OFFSET": f"{offset:.3f}", "ICP_LOG_LEVEL": "DEBUG"}
    with bot_process(tmp_path, "one", fake, database_url, "--housekeeping-interval", "1", **env) as one, \
            bot_process(tmp_path, "two", fake, database_url, "--housekeeping-interval", "1", **env) as two:
        procs = [one, two]
        _wait(lambda: fake.messages(DIGEST_CHANNEL), "the digest", tmp_path, procs)
        _wait(lambda: _statuses(db, "invite") == {"sent": len(STAFF)}, "every invitation sent", tmp_path, procs)
        # Both schedulers run again after the digest went out: neither posts it a second time.
        seen = {name: _housekeeping_runs(tmp_path, name) for name in ("one", "two")}
        _wait(lambda: all(_housekeeping_runs(tmp_path, n) > seen[n] + 1 for n in seen),
              "two more housekeeping runs in each process", tmp_path, procs)
        with db.session(read_only=True) as s:
            assert outbox.pending_count(s) == 0
    assert len(fake.messages(DIGEST_CHANNEL)) == 1
    assert _statuses(db, "digest") == {"sent": 1}
    assert _dm_counts(fake) == dict.fromkeys(STAFF, 1) and _invited(db, round_id) == set(STAFF)
    posted_at = float(fake.messages(DIGEST_CHANNEL)[0].ts)
    assert posted_at >= due.timestamp() - 1  # not before its due time (message ts are whole seconds)
    db.dispose()


def test_a_bot_killed_while_posting_a_due_digest_posts_it_once_after_the_restart(fake, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'icp.db'}"
    db = Database(database_url)
    db.upgrade()
    fake.add_channel(DIGEST_CHANNEL, "leadership", members=[LEADER])
    _, offset = _configure_digest_due_soon(db, lead_seconds=3)
    fake.wall_clock = lambda: time.time() + offset  # Slack's clock agrees with the bot's, as NTP makes them
    fake.accept_then_drop("chat.postMessage", hold=None)  # the digest is posted, its answer never comes
    with bot_process(tmp_path, "first", fake, database_url, "--housekeeping-interval", "1",
                     ICP_CLOCK_OFFSET=f"{offset:.3f}") as first:
        _wait(lambda: fake.messages(DIGEST_CHANNEL), "the digest posted", tmp_path, [first])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert _statuses(db, "digest") == {"sending": 1}

    later = offset + (LEASE + timedelta(minutes=1)).total_seconds()  # the same week, past the lease
    with bot_process(tmp_path, "second", fake, database_url, "--housekeeping-interval", "1",
                     ICP_CLOCK_OFFSET=f"{later:.3f}", ICP_LOG_LEVEL="DEBUG") as second:
        _wait(lambda: _statuses(db, "digest") == {"sent": 1}, "the digest settled", tmp_path, [second])
        seen = _housekeeping_runs(tmp_path, "second")
        _wait(lambda: _housekeeping_runs(tmp_path, "second") > seen + 1, "two more housekeeping runs", tmp_path,
              [second])
    assert len(fake.messages(DIGEST_CHANNEL)) == 1
    assert _statuses(db, "digest") == {"sent": 1}
    with db.session(read_only=True) as s:
        (digest_row,) = s.query(OutboxMessage).filter_by(kind="digest").all()
        assert digest_row.sent_ts == fake.messages(DIGEST_CHANNEL)[0].ts  # found, not re-posted
    db.dispose()
