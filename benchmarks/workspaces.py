"""A weekly digest due for 200 workspaces in OAuth mode, with 1 and 2 worker processes.

Each worker is ``icp-bot run --oauth`` (a child process, scheduler on, housekeeping every
second) on one PostgreSQL database: the installations (bot tokens) are in the database,
and the fake Slack of tests/fakeslack (rate limits on, per workspace) knows the 200 teams
and their tokens. The workers share the outbox: the housekeeping run (one process at a time,
an advisory lock) enqueues the digests, every worker's sender claims and posts them.

A run: the workers are started with every digest set for later in the week, and are
listening; then one transaction sets each workspace's digest to a new channel, due a
minute ago. The clock starts at that commit and stops when the fake accepts the last
workspace's digest. Doubles (a workspace that got two) and missing ones (none within the
time bound) are counted, and so are the 429s and the most digests any workspace got
within one second (Slack allows one message a second to a channel).

PostgreSQL only (several processes on one database): without ``--database-url`` it says so
and exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import (
    SECRET,
    Table,
    bot_env,
    free_port,
    icp_bot_command,
    log_tail,
    median,
    parser,
    stop,
    wait_listening,
)

CLIENT_ID = "111.222"
CLIENT_SECRET = "fake-client-secret"
NEEDS_POSTGRES = "benchmarks.workspaces needs PostgreSQL (several worker processes share one database): " \
                 "pass --database-url postgresql://..."


def _teams(n: int) -> list[str]:
    return [f"T9W{i:05d}" for i in range(1, n + 1)]


def _token(team: str) -> str:
    return f"xoxb-{team.lower()}"


def setup(database_url: str, teams: list[str]):
    """The database (installations, workspaces with their digest not due) and a started fake."""
    from slack_sdk.oauth.installation_store import Installation

    from storage import workspaces
    from storage.db import Database
    from storage.slack_oauth import installation_store
    from tests.fakeslack import FakeSlack

    fake = FakeSlack(rate_limits=True, schema_path=False, socket_mode=False).start()
    for team in teams:
        fake.add_team(team, _token(team))
    db = Database(database_url)
    db.upgrade()
    store = installation_store(db, CLIENT_ID)
    now = datetime.now(UTC)
    with db.session() as s:
        for team in teams:
            workspaces.get_or_create_workspace(s, team, name=f"Workspace {team}")
            _not_due(s, team, now)
    for team in teams:
        if store.find_installation(enterprise_id=None, team_id=team) is None:
            store.save(Installation(app_id=fake.app_id, team_id=team, team_name=team, bot_token=_token(team),
                                    bot_id=fake.bot_id, bot_user_id=fake.bot_user_id, bot_scopes="chat:write",
                                    user_id="U0LEAD", installed_at=time.time()))
    return fake, db


def _not_due(session, team: str, now: datetime) -> None:
    """The digest's weekly moment later today (UTC): the last one was almost a week ago,
    past the late limit, so nothing is due."""
    from storage import workspaces

    later = now + timedelta(hours=1)
    workspaces.update_workspace(session, team, timezone="UTC", digest_weekday=later.weekday(),
                                digest_time=f"{later:%H:%M}", digest_channel=None, digest_set_by="U0LEAD")


def make_due(db, teams: list[str], channel: str) -> float:
    """Every workspace's digest to ``channel``, due a minute ago; the monotonic time of the commit."""
    from storage import workspaces

    earlier = datetime.now(UTC) - timedelta(minutes=1)
    with db.session() as s:
        for team in teams:
            workspaces.update_workspace(s, team, digest_channel=channel, digest_weekday=earlier.weekday(),
                                        digest_time=f"{earlier:%H:%M}")
    return time.monotonic()


def reset(db, teams: list[str]) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        for team in teams:
            _not_due(s, team, now)


def start_worker(port: int, fake, database_url: str, workdir: Path) -> subprocess.Popen:
    env = bot_env(fake.api_url, database_url)
    env.pop("SLACK_BOT_TOKEN")
    env.update(SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET, SLACK_SIGNING_SECRET=SECRET,
               ICP_ALLOW_PLAINTEXT_TOKENS="1")
    log = open(workdir / f"icp-bot-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*icp_bot_command(), "run", "--oauth", "--host", "127.0.0.1", "--port", str(port),
                             "--housekeeping-interval", "1"], env=env, cwd=workdir, stdout=log, stderr=log)


def run_once(fake, db, database_url: str, teams: list[str], workers: int, run_no: int, workdir: Path,
             timeout: float, graceful: bool) -> dict:
    channel = f"C9DIG{run_no:03d}"
    fake.add_channel(channel, f"digest-{run_no}")
    ports = [free_port() for _ in range(workers)]
    procs = [start_worker(port, fake, database_url, workdir) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_listening(port, proc)
        with fake.lock:
            fake.team_calls.clear()
            fake.calls.clear()
            fake.rate_limited_count = 0
        t0 = make_due(db, teams, channel)
        wanted = set(teams)

        def arrived() -> set[str]:
            return {team for team, method, _, ok in fake.team_calls if method == "chat.postMessage" and ok}

        try:
            fake.wait_for(lambda: arrived() >= wanted, timeout=timeout)
        except TimeoutError:
            pass
        time.sleep(0.5)  # a double would come within the pass that sent the first
        with fake.lock:
            posts = [(team, at) for team, method, at, ok in fake.team_calls if method == "chat.postMessage" and ok]
            throttled = fake.rate_limited_count
        per_team: dict[str, list[float]] = {}
        for team, at in posts:
            per_team.setdefault(team, []).append(at)
        densest = max((sum(1 for t in times if 0 <= t - first < 1.0) for times in per_team.values()
                       for first in times), default=0)
        return {"last": max(at for _, at in posts) - t0 if posts else None,
                "first": min(at for _, at in posts) - t0 if posts else None,
                "missing": len(wanted - set(per_team)), "doubled": sum(len(v) - 1 for v in per_team.values()),
                "throttled": throttled, "densest": densest}
    finally:
        stop(*procs, graceful=graceful)
        reset(db, teams)


def run(n: int, worker_counts: list[int], repeat: int, database_url: str, quick: bool = False) -> Table:
    table = Table(f"Weekly digest to {n:,} workspaces, OAuth mode (PostgreSQL), medians of {repeat}",
                  headers=("2 workers" if len(worker_counts) > 1 else f"{worker_counts[0]} worker(s)",
                           f"{worker_counts[0]} worker" if len(worker_counts) > 1 else "-"))
    teams = _teams(n)
    fake, db = setup(database_url, teams)
    results: dict[int, list[dict]] = {w: [] for w in worker_counts}
    with tempfile.TemporaryDirectory(prefix="icp-workspaces-") as tmp:
        workdir = Path(tmp)
        try:
            run_no = int(time.time()) % 1000
            for _ in range(repeat):
                for workers in worker_counts:
                    run_no += 1
                    results[workers].append(run_once(fake, db, database_url, teams, workers, run_no, workdir,
                                                     timeout=60 + n / 5, graceful=not quick))
        except Exception:
            print(log_tail(workdir), file=sys.stderr)
            raise
        finally:
            fake.stop()
            db.dispose()
        errors = [line for path in workdir.glob("*.log") for line in path.read_text(errors="replace").splitlines()
                  if " ERROR " in line]
    if errors:
        table.notes.append(f"icp-bot logged {len(errors)} ERROR lines; the first: {errors[0][:300]}")
    _rows(table, n, worker_counts, results)
    return table


def _rows(table: Table, n: int, worker_counts: list[int], results: dict[int, list[dict]]) -> None:
    many, one = worker_counts[-1], worker_counts[0]

    def med(workers: int, key: str) -> float | None:
        return median([r[key] for r in results[workers]])

    pair = (lambda key: (med(many, key), med(one, key))) if many != one else (lambda key: (med(one, key), None))
    first = table.add(f"first digest, {n:,} workspaces", *pair("first"), "s", "within 4 s of due", None,
                      note="housekeeping runs every second, so up to 1 s of it is the wait for the next run")
    first.passed = first.value is not None and first.value <= 4 and (first.floor is None or first.floor <= 4)
    last = table.add(f"last digest, {n:,} workspaces", *pair("last"), "s", "faster with 2 workers", None,
                     note="each run: " + "; ".join(
                         f"{w} worker(s) " + ", ".join(f"{r['last']:.1f} s" for r in results[w] if r["last"])
                         for w in worker_counts))
    last.passed = last.ratio is not None and last.ratio < 1
    bad = sum(r["missing"] + r["doubled"] for rs in results.values() for r in rs)
    table.add(f"digests missing / doubled, {n:,} workspaces", float(bad), None, "count", "0", bad == 0,
              note=f"{sum(r['missing'] for rs in results.values() for r in rs)} missing, "
                   f"{sum(r['doubled'] for rs in results.values() for r in rs)} doubled (all runs)")
    throttled = sum(r["throttled"] for rs in results.values() for r in rs)
    densest = max(r["densest"] for rs in results.values() for r in rs)
    table.add("429s from the fake (per-workspace limits), all runs", float(throttled), None, "count", "0",
              throttled == 0, note=f"the most digests one workspace got within 1 s: {densest}")


def main(argv: list[str] | None = None) -> Table | None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--workspaces", type=int, default=200, help="workspaces with a digest due (default 200)")
    p.add_argument("--workers", default="1,2", help="worker processes to compare, comma-separated (default 1,2)")
    args = p.parse_args(argv)
    database_url = args.database_url or os.environ.get("ICP_BENCH_DATABASE_URL")
    if not database_url or not database_url.startswith(("postgresql", "postgres")):
        print(NEEDS_POSTGRES)
        return None
    n, workers, repeat = args.workspaces, [int(x) for x in args.workers.split(",")], args.repeat
    if args.quick:
        n, repeat = 5, 1
    started = time.monotonic()
    table = run(n, workers, repeat, database_url, args.quick)
    table.notes.append("each worker: `icp-bot run --oauth --housekeeping-interval 1`; the clock starts when the "
                       "digests fall due (one commit) and stops at the last one the fake accepted")
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
