"""Survey steps acked per second in HTTP mode, ICP Align against a bare bolt app.

ICP Align is ``icp-bot run --http`` (a child process) against the fake Slack of
tests/fakeslack, which runs in this process. For each level of concurrency a round is
opened for that many people (stored with the storage layer, invitations sent with the
bot's own outbox), each person clicks Start (the bot opens the first
section's modal in the fake), then a separate load-generator process (benchmarks._loadgen)
runs one client per person, each submitting signed ``view_submission`` payloads of the
modal it holds and following the acks to the next step. The floor is a bolt App with one
view listener that only acks, under the same uvicorn and ``ThreadedSlackRequestHandler``
(benchmarks._bare_app), fed the same modals by the same load generator.

CPU per acked step is the server process's CPU time (utime + stime, all threads, until it
is quiet again after the last ack) divided by the acks. After each ICP run, every section
whose submission was acked is checked in the database: an answer missing there is lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    SECRET,
    Table,
    cpu_seconds,
    free_port,
    log_tail,
    median,
    parser,
    percentile,
    settle_cpu,
    start_bare_app,
    start_icp_bot,
    stop,
    wait_listening,
)

TEAM = "T0001"
LEADER = "U0LEAD"
ACK_LIMIT = 3.0  # Slack shows an error to the user when an interaction is not acked in 3 s


def _users(n: int) -> list[str]:
    return [f"U0P{i:05d}" for i in range(1, n + 1)]


class World:
    """The fake Slack, the database and the two servers, for the whole benchmark."""

    def __init__(self, workdir: Path, database_url: str | None, people: int, quick: bool = False):
        from tests.fakeslack import FakeSlack

        self.workdir, self.quick = workdir, quick
        self.database_url = database_url or f"sqlite:///{workdir / 'icp.db'}"
        self.fake = FakeSlack(schema_path=False, socket_mode=False).start()
        self.fake.add_user(LEADER, "lead", is_admin=True)
        for user in _users(people):
            self.fake.add_user(user, user.lower())
        # the servers and the load generator start first and in parallel (the bot migrates
        # the database itself: SQLite always, PostgreSQL with --migrate)
        self.icp_port, self.bare_port = free_port(), free_port()
        self.icp = start_icp_bot(self.icp_port, self.fake.api_url, self.database_url, workdir,
                                 extra=["--migrate"] if database_url else [])
        self.bare = start_bare_app(self.bare_port, self.fake.api_url, workdir)
        self.loadgen = subprocess.Popen([sys.executable, "-m", "benchmarks._loadgen"], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            from slack_sdk import WebClient

            from storage.db import Database
            from tests.fakeslack import SlackClientSim

            self.client = WebClient(token=self.fake.bot_token, base_url=self.fake.api_url)
            self.sim = SlackClientSim(self.fake, f"http://127.0.0.1:{self.icp_port}/slack/events", SECRET)
            if json.loads(self.loadgen.stdout.readline() or "{}") != {"ready": True}:
                raise RuntimeError("the load generator did not start")
            wait_listening(self.icp_port, self.icp)
            wait_listening(self.bare_port, self.bare)
            self.db = Database(self.database_url)
        except BaseException:
            self.loadgen.stdin.close()
            stop(self.icp, self.bare, self.loadgen, graceful=False)
            self.fake.stop()
            raise

    def load(self, port: int, pid: int, clients: list[dict[str, Any]], steps: int,
             deadline: float) -> dict[str, Any]:
        """One load run against ``port``: the generator's result plus the server's CPU."""
        job = {"port": port, "secret": SECRET, "clients": clients, "steps": steps, "deadline": deadline}
        cpu0 = cpu_seconds(pid)
        self.loadgen.stdin.write(json.dumps(job) + "\n")
        self.loadgen.stdin.flush()
        line = self.loadgen.stdout.readline()
        if not line:
            raise RuntimeError("the load generator died")
        result = json.loads(line)
        result["cpu"] = settle_cpu(pid) - cpu0
        acks = result["statuses"].get("200", 0)
        result["acks"] = acks
        result["rate"] = acks / result["wall"] if result["wall"] > 0 else None
        result["p99"] = percentile(result["latencies"], 99)
        result["late"] = sum(1 for x in result["latencies"] if x > ACK_LIMIT)
        result["cpu_ms"] = 1000 * result["cpu"] / acks if acks else None
        result["failed"] = len(result["latencies"]) - acks
        result["requests"] = len(result["latencies"])
        return result

    def close(self) -> None:
        self.loadgen.stdin.close()  # it ends at the end of its input
        stop(self.icp, self.bare, graceful=not self.quick)
        self.loadgen.wait(timeout=30)
        self.fake.stop()
        self.db.dispose()

    def open_round(self, users: list[str]) -> tuple[int, list[dict[str, Any]]]:
        """A new round for ``users`` (the previous one closed), invitations sent, and the first
        modal each person got from the bot on clicking Start."""
        from bot.outbox import OutboxSender
        from bot.pacing import Pacer
        from bot.services.fanout import enqueue_invitations
        from storage import rounds, templates

        seen = {u: len(self.fake.messages(u)) for u in users}  # messages of earlier rounds
        with self.db.session() as s:
            for old in rounds.open_rounds(s, TEAM):
                rounds.close_round(s, old.id)
            stored = templates.latest_template(s, TEAM, "icp-core")
            rnd = rounds.create_round(s, TEAM, stored.id, title="Benchmark round", created_by=LEADER)
            rounds.add_participants(s, rnd.id, [(u, None) for u in users])
            enqueue_invitations(s, rnd, stored.template, users, notify_user=LEADER, now=rnd.opened_at)
            round_id = rnd.id
        sender = OutboxSender(self.db, lambda team_id: self.client, pacer=Pacer(1000.0, 1000), inline=True)
        sender.drain()

        # The bot's own outbox sender (running in icp-bot) may send some of them first: what
        # counts is that every person got exactly one invitation.
        def invited() -> list[int]:
            return [sum("survey_start" in json.dumps(m.blocks or []) for m in self.fake.messages(u)[seen[u]:])
                    for u in users]

        try:
            self.fake.wait_for(lambda: all(n >= 1 for n in invited()), timeout=60)
        except TimeoutError:
            raise RuntimeError(f"invitations: {sum(n >= 1 for n in invited())} of {len(users)} sent") from None
        if any(n > 1 for n in invited()):
            raise RuntimeError("invitations: someone got two")

        def click(user: str) -> dict[str, Any]:
            message = next(m for m in reversed(self.fake.messages(user))
                           if "survey_start" in json.dumps(m.blocks or []))
            before = self.fake.current_view(user)
            resp = self.sim.click(user, message, "survey_start")
            if resp.status != 200:
                raise RuntimeError(f"click: {resp.status} {resp.body}")
            view = self.fake.wait_for(lambda: (v := self.fake.current_view(user)) is not None
                                      and v is not before and v.callback_id == "survey_section" and v,
                                      timeout=30)
            return {"user": user, "team": TEAM, "view": view.to_api()}

        with ThreadPoolExecutor(8) as pool:
            return round_id, list(pool.map(click, users))

    def lost_answers(self, round_id: int, acked: dict[str, list[int]]) -> int:
        """(person, question) pairs of acked sections that are not in the database (questions
        that the person's answers hide are not asked, so not counted)."""
        from storage import answers as answer_store
        from storage import rounds, templates
        from survey.answers import is_shown

        lost = 0
        with self.db.session(read_only=True) as s:
            template = templates.get_template(s, rounds.require_round(s, round_id).template_id)
            for user, sections in acked.items():
                stored = answer_store.answers_of(s, round_id, user)
                for index in sections:
                    # a question the stored answers hide (show_if) is neither asked nor stored
                    lost += sum(1 for q in template.sections[index].questions
                                if q.id not in stored and is_shown(q, stored))
        return lost


def run(levels: list[int], steps: int, repeat: int, database_url: str | None = None,
        deadline: float = 240.0, quick: bool = False) -> Table:
    table = Table(f"Survey steps, HTTP mode ({'PostgreSQL' if database_url else 'SQLite'}), "
                  f"{steps} steps per person, medians of {repeat}")
    with tempfile.TemporaryDirectory(prefix="icp-bench-") as tmp:
        world = World(Path(tmp), database_url, max(levels), quick)
        try:
            for level in levels:
                icp_runs, floor_runs, lost = [], [], 0
                for _ in range(repeat):
                    round_id, clients = world.open_round(_users(level))
                    icp = world.load(world.icp_port, world.icp.pid, clients, steps, deadline)
                    lost += world.lost_answers(round_id, icp["acked_sections"])
                    icp_runs.append(icp)
                    floor_runs.append(world.load(world.bare_port, world.bare.pid, clients, steps, deadline))
                _rows(table, level, icp_runs, floor_runs, lost)
        except Exception:
            print(log_tail(Path(tmp)), file=sys.stderr)
            raise
        finally:
            world.close()
            errors = [line for line in (Path(tmp) / f"icp-bot-{world.icp_port}.log").read_text(errors="replace")
                      .splitlines() if " ERROR " in line]
            if errors:
                table.notes.append(f"icp-bot logged {len(errors)} ERROR lines; the first: {errors[0][:300]}")
    table.notes.append("floor: a bolt App whose view listener only acks, same uvicorn + "
                       "ThreadedSlackRequestHandler, same load generator (a separate process)")
    return table


def _rows(table: Table, level: int, icp: list[dict], floor: list[dict], lost: int) -> None:
    def med(runs: list[dict], key: str) -> float | None:
        return median([r[key] for r in runs])

    rate = table.add(f"steps acked/s, {level} concurrent", med(icp, "rate"), med(floor, "rate"), "/s",
                     ">= 0.6", None, lower_is_better=False)
    rate.passed = rate.ratio is not None and rate.ratio >= 0.6
    late = med(icp, "late")
    requests = med(icp, "requests")
    p99 = table.add(f"p99 ack, {level} concurrent", med(icp, "p99"), med(floor, "p99"), "s",
                    "<= 2x, none past 3 s", None,
                    note=f"requests answered after 3 s: {late:.0f} of {requests:.0f} (floor {med(floor, 'late'):.0f})")
    p99.passed = p99.ratio is not None and p99.ratio <= 2 and late == 0
    table.add(f"acks past 3 s, {level} concurrent", late, med(floor, "late"), "count", "0", late == 0)
    cpu = table.add(f"CPU per acked step, {level} concurrent", med(icp, "cpu_ms"), med(floor, "cpu_ms"), "ms",
                    "<= 2.5x", None)
    cpu.passed = cpu.ratio is not None and cpu.ratio <= 2.5
    failed = sum(r["failed"] for r in icp)
    statuses: dict[str, int] = {}
    for r in icp:
        for k, v in r["statuses"].items():
            if k != "200":
                statuses[k] = statuses.get(k, 0) + v
    how = ", ".join(f"{v} x {k}" for k, v in sorted(statuses.items())) or "none"
    table.add(f"answers lost / requests not acked, {level} concurrent", float(lost + failed), None, "count", "0",
              lost + failed == 0, note=f"{lost} answers of acked steps missing in the database; {failed} requests "
                                       f"without a 200 ack ({how}), all runs")


def main(argv: list[str] | None = None) -> Table:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--levels", default="20,100,300", help="concurrent clients, comma-separated")
    p.add_argument("--steps", type=int, default=10, help="steps each client submits (default 10)")
    args = p.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    steps, repeat = args.steps, args.repeat
    if args.quick:
        levels, steps, repeat = [3], 2, 1
    started = time.monotonic()
    table = run(levels, steps, repeat, args.database_url, quick=args.quick)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
