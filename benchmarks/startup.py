"""Start-up to the first ack, and idle memory: ``icp-bot run --http`` against a bare bolt app.

Each run starts the server as a child process (on a SQLite file already migrated, as on a
restart; ICP Align still runs its start-up checks and migrations as it always does) and, from
the moment of ``Popen``, sends a signed ``/icp-check help`` every 10 ms until one is acked
with 200, then waits for the help's answer through its response_url (ICP Align acks a slash
command that arrives while its database layer is still loading, and answers it once that is
done: bot.startup). Idle RSS is read from /proc one second after that answer (after the ack
for the floor, which answers nothing), so it counts the whole start-up. The floor is the bare
bolt app of benchmarks._bare_app (same uvicorn, same ThreadedSlackRequestHandler, auth.test
at start like ICP Align), timed and measured the same way, in the same run.

The project's modules are byte-compiled first, as ``pip install`` does: with
PYTHONDONTWRITEBYTECODE set (as in some shells and containers) an editable install would
otherwise compile every module of the bot from source on each start (about 0.2 s of CPU),
which a deployed bot does not pay.
"""

from __future__ import annotations

import tempfile
import time
import urllib.error
from pathlib import Path

from benchmarks.common import (
    SECRET,
    Table,
    byte_compile_project,
    free_port,
    log_tail,
    median,
    parser,
    rss_mib,
    start_bare_app,
    start_icp_bot,
    stop,
)

LEADER = "U0LEAD"
IDLE_AFTER = 1.0


def first_ack(proc, port: int, fake, timeout: float = 60.0) -> tuple[float, str]:
    """Seconds from now until a signed slash command to ``port`` is acked with 200, and that
    command's response_url."""
    from tests.fakeslack import SlackClientSim

    sim = SlackClientSim(fake, f"http://127.0.0.1:{port}/slack/events", SECRET, command="/icp-check", timeout=10)
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            sent = sim.slash(LEADER, "help")
            if sent.status == 200:
                return time.monotonic() - began, sent.response_url
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.01)
    raise TimeoutError(f"no ack within {timeout} s")


def measure(start, port: int, fake, idle_after: float, graceful: bool,
            answers: bool) -> tuple[float, float | None, float]:
    """(seconds to the first ack, seconds to its answer or None, idle RSS). The RSS is read
    ``idle_after`` seconds after the answer when the server ``answers`` (ICP Align's help
    answers through the response_url once its start-up is done), after the ack otherwise."""
    began = time.monotonic()
    proc = start()
    try:
        _, response_url = first_ack(proc, port, fake)
        elapsed = time.monotonic() - began
        answered = None
        if answers:
            fake.wait_for(lambda: fake.responses(response_url), timeout=60)
            answered = time.monotonic() - began
        time.sleep(idle_after)
        return elapsed, answered, rss_mib(proc.pid)
    finally:
        stop(proc, graceful=graceful)


def run(repeat: int, database_url: str | None = None, idle_after: float = IDLE_AFTER, quick: bool = False) -> Table:
    from storage.db import Database
    from tests.fakeslack import FakeSlack

    byte_compile_project()
    table = Table(f"Start-up to first ack and idle memory ({'PostgreSQL' if database_url else 'SQLite'}), "
                  f"medians of {repeat}")
    with tempfile.TemporaryDirectory(prefix="icp-startup-") as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir / 'icp.db'}"
        db = Database(url)
        db.upgrade()
        db.dispose()
        fake = FakeSlack(schema_path=False, socket_mode=False).start()
        fake.add_user(LEADER, "lead", is_admin=True)
        icp, floor = [], []
        try:
            for _ in range(repeat):
                port = free_port()
                icp.append(measure(lambda p=port: start_icp_bot(p, fake.api_url, url, workdir), port, fake,
                                   idle_after, not quick, True))
                port = free_port()
                floor.append(measure(lambda p=port: start_bare_app(p, fake.api_url, workdir), port, fake,
                                     idle_after, not quick, False))
        except Exception:
            print(log_tail(workdir))
            raise
        finally:
            fake.stop()
    t = table.add("start-up to first ack", median([x[0] for x in icp]), median([x[0] for x in floor]), "s",
                  "<= 2x", None)
    t.passed = t.ratio is not None and t.ratio <= 2
    table.add("start-up to the help's answer (its response_url; floor: its ack)", median([x[1] for x in icp]),
              median([x[0] for x in floor]), "s", "reported", None)
    m = table.add(f"idle RSS ({idle_after:g} s after the answer; floor: after the ack)", median([x[2] for x in icp]),
                  median([x[2] for x in floor]), "MiB", "<= 2x", None)
    m.passed = m.ratio is not None and m.ratio <= 2
    table.notes.append("ICP Align: `icp-bot run --http` (scheduler on, as by default); floor: a bolt App whose "
                       "listeners only ack, under bot.server.run_http")
    return table


def main(argv: list[str] | None = None) -> Table:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    started = time.monotonic()
    table = run(repeat, args.database_url, 0.1 if args.quick else IDLE_AFTER, args.quick)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
