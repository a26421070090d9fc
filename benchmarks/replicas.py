"""Survey steps acked per second with 1 and 2 ``icp-bot run --http`` replicas on one PostgreSQL.

The machinery of ``benchmarks.survey_steps`` (fake Slack in this process, rounds opened with
the storage layer, the separate load-generator process ``benchmarks._loadgen``). Each replica
count gets a new empty database on the server given (dropped afterwards). The load
balancer is the load generator itself: client ``i`` keeps its keep-alive connection to
replica ``i mod k``, as an L4 balancer or a keep-alive HTTP proxy would pin it; the replicas
share nothing but the database (the scheduler runs in each, under its advisory lock, and
every replica's outbox sender claims from the one outbox).

For each replica count: the replicas are started, and for each level a round is opened for
that many people, each clicks Start, and each submits ``--steps`` steps. Figures per run:
steps acked per second, p99 ack, acks past 3 s, CPU per acked step (all replicas together)
and answers lost (acked sections missing from the database, and requests without a 200 ack).

PostgreSQL only: without ``--database-url`` it says so and exits.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Table,
    free_port,
    log_tail,
    median,
    parser,
    settle_cpu,
    start_icp_bot,
    stop,
    wait_listening,
)
from benchmarks.survey_steps import World, _users

SCALING = 1.5  # what 2 replicas should ack against 1, at least (the machine has 2 cores)
NEEDS_POSTGRES = "benchmarks.replicas needs PostgreSQL (several replicas share one database): " \
                 "pass --database-url postgresql://..."


class Replicas(World):
    """``World`` with ``k`` icp-bot replicas instead of one and no bare app."""

    def __init__(self, workdir: Path, database_url: str, people: int, replicas: int, quick: bool = False):
        import json
        import subprocess

        from benchmarks.common import ROOT
        from tests.fakeslack import FakeSlack

        self.workdir, self.quick, self.database_url = workdir, quick, database_url
        self.fake = FakeSlack(schema_path=False, socket_mode=False).start()
        self.fake.add_user("U0LEAD", "lead", is_admin=True)
        for user in _users(people):
            self.fake.add_user(user, user.lower())
        self.ports = [free_port() for _ in range(replicas)]
        self.servers = [start_icp_bot(port, self.fake.api_url, database_url, workdir, extra=["--migrate"])
                        for port in self.ports]
        self.loadgen = subprocess.Popen([sys.executable, "-m", "benchmarks._loadgen"], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            from slack_sdk import WebClient

            from benchmarks.common import SECRET
            from storage.db import Database
            from tests.fakeslack import SlackClientSim

            self.client = WebClient(token=self.fake.bot_token, base_url=self.fake.api_url)
            self.sim = SlackClientSim(self.fake, f"http://127.0.0.1:{self.ports[0]}/slack/events", SECRET)
            if json.loads(self.loadgen.stdout.readline() or "{}") != {"ready": True}:
                raise RuntimeError("the load generator did not start")
            for port, server in zip(self.ports, self.servers, strict=True):
                wait_listening(port, server, timeout=60)
            self.db = Database(database_url)
            self._warm_up(SlackClientSim, SECRET)
        except BaseException:
            self.loadgen.stdin.close()
            stop(*self.servers, self.loadgen, graceful=False)
            self.fake.stop()
            raise

    def _warm_up(self, sim_class, secret: str) -> None:
        """One person clicks Start on each replica first, and the replicas go quiet: a replica's
        first interactions import and parse what later ones reuse (seconds on this machine),
        which is start-up, not throughput."""
        main_sim = self.sim
        try:
            for port in self.ports:
                self.sim = sim_class(self.fake, f"http://127.0.0.1:{port}/slack/events", secret)
                try:
                    self.open_round(_users(1))
                except RuntimeError:  # a first click past 3 s: warm all the same
                    pass
        finally:
            self.sim = main_sim
        for server in self.servers:
            settle_cpu(server.pid, quiet=0.02, interval=0.25, limit=20.0)

    def spread(self, clients: list[dict[str, Any]], steps: int, deadline: float) -> dict[str, Any]:
        """One load run, client ``i`` on replica ``i mod k``; CPU summed over the replicas."""
        import json

        from benchmarks.common import SECRET, cpu_seconds, percentile
        from benchmarks.survey_steps import ACK_LIMIT

        spread = [{**c, "port": self.ports[i % len(self.ports)]} for i, c in enumerate(clients)]
        job = {"port": self.ports[0], "secret": SECRET, "clients": spread, "steps": steps, "deadline": deadline}
        cpu0 = sum(cpu_seconds(s.pid) for s in self.servers)
        self.loadgen.stdin.write(json.dumps(job) + "\n")
        self.loadgen.stdin.flush()
        line = self.loadgen.stdout.readline()
        if not line:
            raise RuntimeError("the load generator died")
        result = json.loads(line)
        cpu = sum(settle_cpu(s.pid) for s in self.servers) - cpu0
        acks = result["statuses"].get("200", 0)
        result.update(acks=acks, rate=acks / result["wall"] if result["wall"] > 0 else None,
                      p99=percentile(result["latencies"], 99),
                      late=sum(1 for x in result["latencies"] if x > ACK_LIMIT),
                      cpu_ms=1000 * cpu / acks if acks else None, failed=len(result["latencies"]) - acks)
        return result

    def close(self) -> None:
        self.loadgen.stdin.close()
        stop(*self.servers, graceful=not self.quick)
        self.loadgen.wait(timeout=30)
        self.fake.stop()
        self.db.dispose()


@contextmanager
def fresh_database(database_url: str) -> Iterator[str]:
    """A new empty database on the server of ``database_url`` for one replica count (so that
    neither count inherits the other's rounds), dropped afterwards; ``database_url`` itself
    where the user may not create databases."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import normalize_url

    url = normalize_url(database_url)
    name = f"icp_replicas_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError:
        admin.dispose()
        yield database_url
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(replicas: int, levels: list[int], steps: int, repeat: int, database_url: str,
            quick: bool) -> dict[int, dict[str, Any]]:
    """level -> runs and lost answers, for ``replicas`` replicas."""
    out: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix=f"icp-replicas-{replicas}-") as tmp, \
            fresh_database(database_url) as url:
        world = Replicas(Path(tmp), url, max(levels), replicas, quick)
        try:
            for level in levels:
                runs, lost = [], 0
                for _ in range(repeat):
                    round_id, clients = world.open_round(_users(level))
                    result = world.spread(clients, steps, deadline=240.0)
                    lost += world.lost_answers(round_id, result["acked_sections"])
                    runs.append(result)
                out[level] = {"runs": runs, "lost": lost}
        except Exception:
            print(log_tail(Path(tmp)), file=sys.stderr)
            raise
        finally:
            world.close()
    return out


def run(levels: list[int], steps: int, repeat: int, database_url: str, quick: bool = False,
        counts: tuple[int, ...] = (1, 2)) -> Table:
    results = {k: measure(k, levels, steps, repeat, database_url, quick) for k in counts}
    many, one = counts[-1], counts[0]
    table = Table(f"Survey steps, HTTP mode, {' and '.join(map(str, counts))} replicas on one PostgreSQL, "
                  f"{steps} steps per person, medians of {repeat}",
                  headers=(f"{many} replicas", f"{one} replica"))
    for level in levels:
        def med(k: int, key: str, level: int = level) -> float | None:
            return median([r[key] for r in results[k][level]["runs"]])

        rate = table.add(f"steps acked/s, {level} concurrent", med(many, "rate"), med(one, "rate"), "/s",
                         f">= {SCALING}x", None, lower_is_better=False)
        rate.passed = rate.ratio is not None and rate.ratio >= SCALING
        late = [r["late"] for k in counts for r in results[k][level]["runs"]]
        table.add(f"p99 ack, {level} concurrent", med(many, "p99"), med(one, "p99"), "s", "none past 3 s",
                  not any(late),
                  note=f"acks past 3 s: {med(many, 'late'):.0f} ({many} replicas), {med(one, 'late'):.0f} ({one})")
        cpu = table.add(f"CPU per acked step (all replicas), {level} concurrent", med(many, "cpu_ms"),
                        med(one, "cpu_ms"), "ms", "<= 1.25x", None)
        cpu.passed = cpu.ratio is not None and cpu.ratio <= 1.25
        lost = {k: results[k][level]["lost"] + sum(r["failed"] for r in results[k][level]["runs"]) for k in counts}
        table.add(f"answers lost / requests not acked, {level} concurrent", float(lost[many]), float(lost[one]),
                  "count", "0", all(v == 0 for v in lost.values()),
                  note=", ".join(f"{k} replica(s): {results[k][level]['lost']} answers missing, "
                                 f"{sum(r['failed'] for r in results[k][level]['runs'])} requests without a 200 ack"
                                 for k in counts))
    table.notes.append("load balancing: the load generator pins client i to replica i mod k (keep-alive), "
                       "as an L4 balancer would")
    return table


def main(argv: list[str] | None = None) -> Table | None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--levels", default="100", help="concurrent clients, comma-separated (default 100)")
    p.add_argument("--steps", type=int, default=10, help="steps each client submits (default 10)")
    args = p.parse_args(argv)
    database_url = args.database_url or os.environ.get("ICP_BENCH_DATABASE_URL")
    if not database_url or not database_url.startswith(("postgresql", "postgres")):
        print(NEEDS_POSTGRES)
        return None
    levels, steps, repeat = [int(x) for x in args.levels.split(",")], args.steps, args.repeat
    if args.quick:
        levels, steps, repeat = [3], 2, 1
    started = time.monotonic()
    table = run(levels, steps, repeat, database_url, args.quick)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
