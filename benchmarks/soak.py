"""A soak: ``icp-bot run --http`` under mixed traffic for ``--minutes`` (default 10), errors,
answers lost and memory.

The bot is a child process (its own SQLite file, the scheduler on) on loopback; the fake
Slack (tests/fakeslack, no rate limits, no Block Kit validation: this process's CPU is not
the bot's) and the traffic run here. Traffic comes in cycles until the time is up, every
request through one token bucket (``--rate`` requests a second, at most):

1. the leader starts a round for a user group of ``--fanout`` staff (one fan-out) and waits
   for every invitation;
2. ``--answerers`` of them (a different few each cycle) answer the whole round through its
   modals, four at a time, as Slack's client does (click, views.open, one submission per
   step following the acks);
3. meanwhile the leader runs ``status``, ``report`` and ``help`` and staff open App Home;
4. the leader closes the round (the command, then the confirmed button).

Reported: requests, errors (a status other than 200, or an answer past 3 s), answers lost
(every answer in a step whose submission was acked is looked up in the database at the end),
the bot's RSS at the start, after a minute and at the end, and its slope per hour from a
sample every 5 s (least squares) after the first minute and over the last half of the run: a
warm-up (caches filling, allocator arenas growing to the traffic's peak) shows as a last-half
slope near 0, a leak keeps its slope.

``--trace DIR`` (diagnostic, slows the bot down): the bot runs under ``tracemalloc``
(``benchmarks._traced_bot``) from the first request on and writes a snapshot at 1, 5, 10, 20,
30 ... minutes and at the end; the Python heap's growth between the first and the last, by
line, is printed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import (
    HOST,
    SECRET,
    Table,
    bot_env,
    free_port,
    log_tail,
    parser,
    percentile,
    rss_mib,
    start_icp_bot,
    stop,
    wait_listening,
)

TEAM = "T0001"
LEADER = "U0LEAD"
GROUP = "S0STAFF"
ACK_LIMIT = 3.0  # Slack's: an answer later than this is an error the person sees
COMMANDS = ("status", "report", "help")


def _staff(n: int) -> list[str]:
    return [f"U0S{i:05d}" for i in range(1, n + 1)]


@dataclass
class Traffic:
    """Every request the soak made, and the answers whose step was acked."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acked: list[tuple[int, str, str]] = field(default_factory=list)  # (round, user, question id)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if status != 200 or seconds > ACK_LIMIT:
                self.errors.append(f"{what}: {status} in {seconds:.2f} s")


class Driver:
    """Slack's side: signed requests to the bot, each timed and counted, at a bounded rate."""

    def __init__(self, fake, url: str, rate: float, traffic: Traffic, patience: float = 1.0):
        from bot.pacing import TokenBucket
        from tests.fakeslack import SlackClientSim

        self.fake, self.traffic = fake, traffic
        self.patience = patience  # the waits' factor: a traced bot is several times slower
        self.sim = SlackClientSim(fake, url, SECRET, command="/icp-check", timeout=30)
        self.bucket = TokenBucket(rate, max(1, int(rate)))

    def _timed(self, what: str, call) -> Any:
        self.bucket.wait()
        began = time.monotonic()
        result = call()
        self.traffic.record(what, result.status, time.monotonic() - began)
        return result

    def command(self, user: str, text: str) -> dict[str, Any]:
        resp = self._timed(f"/icp-check {text}", lambda: self.sim.slash(user, text))
        return self.fake.wait_for(lambda: (self.fake.responses(resp.response_url) or [None])[0], timeout=30 * self.patience)

    def home(self, user: str) -> None:
        self._timed("app_home_opened", lambda: self.sim.home_opened(user))

    def start_round(self, fanout: int) -> int:
        before = len(self.fake.messages(LEADER))
        self._timed("/icp-check start", lambda: self.sim.slash(LEADER, "start"))
        self.fake.wait_for(lambda: (v := self.fake.current_view(LEADER)) is not None
                           and v.callback_id == "round_start", timeout=30 * self.patience)
        ack = self._timed("start form", lambda: self.sim.submit(
            LEADER, values={"usergroups": [GROUP], "delivery": "now"}))
        if ack.response_action is not None:
            raise RuntimeError(f"the start form was refused: {dict(ack)}")
        summary = self.fake.wait_for(lambda: next((m for m in self.fake.messages(LEADER)[before:]
                                                   if "is open" in m.text), None), timeout=300 * self.patience)
        round_id = int(summary.text.split()[1].rstrip(","))
        staff = _staff(fanout)
        self.fake.wait_for(lambda: all(self._invitation(u, round_id) for u in staff), timeout=300 * self.patience)
        return round_id

    def _invitation(self, user: str, round_id: int):
        from tests.e2e.helpers import button_value

        return next((m for m in reversed(self.fake.messages(user))
                     if button_value(m.blocks, "survey_start") == str(round_id)), None)

    def answer(self, user: str, round_id: int, index: int) -> None:
        """The whole round through its modals; each acked step's answers go to ``acked``."""
        from tests.e2e.helpers import designed_answers, question_ids

        answers = designed_answers(index % 10)
        invitation = self._invitation(user, round_id)
        old = self.fake.current_view(user)
        self._timed("survey_start", lambda: self.sim.click(user, invitation, "survey_start"))
        view = self.fake.wait_for(lambda: (v := self.fake.current_view(user)) is not None and v is not old
                                  and v.callback_id == "survey_section" and v, timeout=30 * self.patience)
        for _ in range(20):
            if view is None or view.callback_id != "survey_section":
                return
            asked = [q for q in question_ids(view) if q in answers]
            ack = self._timed("survey step", lambda v=view, a=asked: self.sim.submit(
                user, view_id=v.id, values={f"q:{q}": answers[q] for q in a}))
            if ack.status == 200 and ack.response_action == "update":
                with self.traffic.lock:
                    self.traffic.acked += [(round_id, user, q) for q in asked]
            else:
                return
            view = self.fake.current_view(user)

    def close(self, round_id: int) -> None:
        from tests.e2e.leader_steps import CLOSE, _has_close

        question = self.command(LEADER, f"close {round_id}")
        if not _has_close(question.get("blocks")):
            return
        eph = self.fake.wait_for(lambda: next((e for e in reversed(self.fake.ephemerals(LEADER))
                                               if _has_close(e.blocks)), None), timeout=30 * self.patience)
        self._timed("close button", lambda: self.sim.click(LEADER, {"channel": eph.channel, "ts": eph.ts}, CLOSE))


def _sample_rss(pid: int, samples: list[tuple[float, float]], t0: float, stopped: threading.Event) -> None:
    while not stopped.wait(5.0):
        try:
            samples.append((time.monotonic() - t0, rss_mib(pid)))
        except (OSError, RuntimeError):
            return


TRACE_MINUTES = (1, 5, 10, 20, 30, 45, 60, 90, 120)


def start_traced_bot(port: int, api_url: str, database_url: str, workdir: Path, trace: Path) -> subprocess.Popen:
    """``icp-bot run --http`` as ``start_icp_bot`` starts it, but under ``benchmarks._traced_bot``."""
    log = open(workdir / f"icp-bot-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "benchmarks._traced_bot", str(trace), "run", "--http",
                             "--host", HOST, "--port", str(port)],
                            env=bot_env(api_url, database_url), cwd=workdir, stdout=log, stderr=log)


def snapshot(pid: int, trace: Path, index: int, timeout: float = 120.0) -> dict[str, Any]:
    """Ask the traced bot for snapshot ``index`` (SIGUSR1) and wait for its facts."""
    os.kill(pid, signal.SIGUSR1)
    facts = trace / f"snap-{index}.json"
    deadline = time.monotonic() + timeout
    while not facts.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the traced bot wrote no {facts.name} in {timeout:.0f} s")
        time.sleep(0.2)
    return json.loads(facts.read_text())


def _tracer(pid: int, trace: Path, t0: float, minutes: float, stopped: threading.Event,
            taken: list[tuple[float, dict[str, Any]]]) -> None:
    taken.append((0.0, snapshot(pid, trace, 0)))  # starts tracing
    for mark in (m for m in TRACE_MINUTES if m < minutes):
        if stopped.wait(max(0.0, t0 + mark * 60 - time.monotonic())):
            return
        taken.append((time.monotonic() - t0, snapshot(pid, trace, len(taken))))


def trace_report(trace: Path, taken: list[tuple[float, dict[str, Any]]], top: int = 25) -> str:
    """The traced heap at each snapshot, and what grew between the first and the last, by line."""
    import tracemalloc

    mib = 1024 * 1024
    lines = ["| at | RSS (anon, file) | Python heap traced | malloc in use | malloc free, kept | SQLite memory "
             "| pooled connections | gc objects | threads |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for at, f in taken:
        m, st = f.get("mallinfo") or {}, f["status"]
        lines.append(f"| {at / 60:.1f} min | {st['VmRSS'] / 1024:.1f} ({st['RssAnon'] / 1024:.1f}, "
                     f"{st['RssFile'] / 1024:.1f}) MiB | {f['traced'] / mib:.1f} MiB "
                     f"| {m.get('uordblks', 0) / mib:.1f} MiB | {m.get('fordblks', 0) / mib:.1f} MiB "
                     f"| {(f['sqlite_memory'] or 0) / mib:.1f} MiB | {sum(p['checkedin'] for p in f['pools'])} "
                     f"| {f['gc_objects']:,} | {len(f['threads'])} |")
    if len(taken) < 3:
        return "\n".join(lines)
    first, last = taken[1][1], taken[-1][1]  # taken[0] is when tracing started: nearly empty
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    old = tracemalloc.Snapshot.load(str(trace / f"snap-{first['index']}.pickle")).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(str(trace / f"snap-{last['index']}.pickle")).filter_traces(ignore)
    lines.append(f"\nGrowth from {taken[1][0] / 60:.1f} to {taken[-1][0] / 60:.1f} min, by line (top {top}):")
    for stat in new.compare_to(old, "lineno")[:top]:
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  {stat.traceback[0]}")
    lines.append("\nBy traceback (top 8):")
    for stat in new.compare_to(old, "traceback")[:8]:
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks")
        lines += [f"      {frame}" for frame in stat.traceback.format(limit=FRAMES_SHOWN, most_recent_first=True)]
    grew = Counter(last["types"])
    grew.subtract(first["types"])
    lines.append("\nLive objects by type, change: " + ", ".join(f"{k} {v:+d}" for k, v in grew.most_common(12)))
    return "\n".join(lines)


FRAMES_SHOWN = 8


def _background(driver: Driver, staff: list[str], stopped: threading.Event, rng: random.Random) -> None:
    """The leader's commands and staff opening App Home, every 2 s or so, until stopped."""
    k = 0
    while not stopped.wait(1.0 + rng.random() * 2):
        driver.command(LEADER, COMMANDS[k % len(COMMANDS)])
        driver.home(rng.choice(staff))
        k += 1


def lost_answers(database_url: str, acked: list[tuple[int, str, str]]) -> int:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import Answer

    db = Database(database_url)
    try:
        with db.session(read_only=True) as s:
            stored = {tuple(row) for row in s.execute(select(Answer.round_id, Answer.user_id, Answer.question_id))}
    finally:
        db.dispose()
    return sum(1 for key in set(acked) if key not in stored)


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    import numpy as np

    if len(samples) < 3:
        return None
    t, rss = np.array(samples).T
    return float(np.polyfit(t / 3600, rss, 1)[0])


def run(minutes: float, fanout: int, answerers: int, rate: float, seed: int = 7,
        trace: Path | None = None) -> Table:
    from tests.fakeslack import FakeSlack

    traffic, rng = Traffic(), random.Random(seed)
    staff = _staff(fanout)
    fake = FakeSlack(rate_limits=False, schema_path=False, socket_mode=False).start()
    if trace is not None:
        fake.trigger_ttl = 60.0  # a traced bot is slow: its late views.open is not what is measured
    fake.add_user(LEADER, "lead", is_admin=True)
    for user in staff:
        fake.add_user(user, user.lower())
    fake.add_usergroup(GROUP, "staff", staff)
    cycles, samples, taken = 0, [], []
    with tempfile.TemporaryDirectory(prefix="icp-soak-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'soak.db'}"
        port = free_port()
        if trace is None:
            bot = start_icp_bot(port, fake.api_url, url, workdir)
        else:
            bot = start_traced_bot(port, fake.api_url, url, workdir, trace)
        stopped = threading.Event()
        try:
            wait_listening(port, bot)
            driver = Driver(fake, f"http://127.0.0.1:{port}/slack/events", rate, traffic,
                            patience=1.0 if trace is None else 10.0)
            driver.command(LEADER, "help")  # warm: the first request imports what it needs
            t0 = time.monotonic()
            samples.append((0.0, rss_mib(bot.pid)))
            sampler = threading.Thread(target=_sample_rss, args=(bot.pid, samples, t0, stopped), daemon=True)
            noise = threading.Thread(target=_background, args=(driver, staff, stopped, rng), daemon=True)
            sampler.start()
            noise.start()
            if trace is not None:
                tracer = threading.Thread(target=_tracer, args=(bot.pid, trace, t0, minutes, stopped, taken),
                                          daemon=True)
                tracer.start()
            deadline = t0 + minutes * 60
            with ThreadPoolExecutor(max_workers=4, thread_name_prefix="soak-person") as people:
                while time.monotonic() < deadline:
                    round_id = driver.start_round(fanout)
                    chosen = [staff[(cycles * answerers + i) % fanout] for i in range(answerers)]
                    list(people.map(driver.answer, chosen, [round_id] * answerers, range(answerers)))
                    driver.close(round_id)
                    fake.reset_calls()  # the fake's call log only grows
                    cycles += 1
            stopped.set()
            noise.join(60)
            sampler.join(10)
            if trace is not None:
                tracer.join(150)
                taken.append((time.monotonic() - t0, snapshot(bot.pid, trace, len(taken))))
            wall = time.monotonic() - t0
            samples.append((wall, rss_mib(bot.pid)))
        except Exception:
            print(log_tail(workdir))
            raise
        finally:
            stopped.set()
            stop(bot)
            fake.stop()
        lost = lost_answers(url, traffic.acked)
    table = _table(minutes, fanout, answerers, rate, cycles, wall, traffic, lost, samples)
    if trace is not None:
        report = trace_report(trace, taken)
        (trace / "report.md").write_text(report + "\n")
        table.notes.append(f"traced (tracemalloc, {trace}):\n{report}")
    return table


def _table(minutes, fanout, answerers, rate, cycles, wall, traffic: Traffic, lost: int,
           samples: list[tuple[float, float]]) -> Table:
    span = f"{minutes:g} min" if minutes >= 1 else f"{minutes * 60:.0f} s"
    table = Table(f"Soak: {span} of mixed traffic on loopback (SQLite), {cycles} cycles")
    n = len(traffic.latencies)
    table.add("requests", float(n), None, "count", "-", None,
              note=f"{n / wall:.1f}/s over {wall:.0f} s, at most {rate:g}/s; per cycle a fan-out to {fanout}, "
                   f"{answerers} whole answers, commands and App Home")
    table.add("errors (non-200 or past 3 s)", float(len(traffic.errors)), None, "count", "0",
              not traffic.errors, note="; ".join(traffic.errors[:5]))
    table.add("p99 answer", percentile(traffic.latencies, 99), None, "s", "< 3 s",
              (percentile(traffic.latencies, 99) or 0) < ACK_LIMIT)
    table.add("answers lost", float(lost), None, "count", "0", lost == 0,
              note=f"{len(set(traffic.acked))} acked answers looked up")
    after_minute = [s for s in samples if s[0] >= 60]
    at_minute = after_minute[0][1] if after_minute else None
    table.add("RSS at start", samples[0][1], None, "MiB", "-", None)
    table.add("RSS after 1 min", at_minute, None, "MiB", "-", None)
    table.add("RSS at end", samples[-1][1], None, "MiB", "-", None)
    slope = slope_per_hour(after_minute)
    table.add("RSS slope after 1 min", slope, None, "MiB/h", "-", None,
              note=f"{len(after_minute)} samples, 5 s apart")
    last_half = [s for s in samples if s[0] >= wall / 2]
    late = slope_per_hour(last_half)
    table.add("RSS slope over the last half", late, None, "MiB/h", f"< {SLOPE_LIMIT} MiB/h",
              None if late is None else late < SLOPE_LIMIT,
              note=f"{len(last_half)} samples from {wall / 120:.1f} min: a warm-up levels off, a leak keeps its slope")
    table.notes.append("RSS by minute (MiB): " + ", ".join(f"{m:g} min {v:.1f}" for m, v in rss_by_minute(samples)))
    return table


SLOPE_LIMIT = 20


def rss_by_minute(samples: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The first sample at or after each whole minute, and the last one (minutes, MiB)."""
    out: list[tuple[float, float]] = []
    taken = -1.0
    for t, rss in samples:
        if not out or int(t // 60) > out[-1][0]:
            out.append((int(t // 60), rss))
            taken = t
    if samples and samples[-1][0] != taken:
        out.append((round(samples[-1][0] / 60, 1), samples[-1][1]))  # the end
    return out


def main(argv: list[str] | None = None) -> Table:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--fanout", type=int, default=300, help="staff invited to each round")
    p.add_argument("--answerers", type=int, default=30, help="staff who answer each round in full")
    p.add_argument("--rate", type=float, default=10.0, help="requests a second, at most")
    p.add_argument("--trace", type=Path, metavar="DIR", default=None,
                   help="diagnostic: run the bot under tracemalloc, snapshots and their diff in DIR")
    args = p.parse_args(argv)
    if args.quick:
        args.minutes, args.fanout, args.answerers = 20 / 60, 30, 4
    started = time.monotonic()
    table = run(args.minutes, args.fanout, args.answerers, args.rate, trace=args.trace)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
