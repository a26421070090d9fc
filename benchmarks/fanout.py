"""Invitations to N staff against a rate-limited fake Slack, ICP Align against the floor.

ICP Align is ``icp-bot run --http`` (a child process); the fake Slack (tests/fakeslack, rate
limits on: tests/fakeslack/ratelimit.py) runs in this process with the leader and N staff in
three user groups. The leader runs ``/icp-check start`` and submits the form with the three
groups as audience and as teams; the clock starts at that submission and stops at the N-th
invitation the fake accepted (the first DM is timed too).

Two floors, each on a fresh fake with fresh limits:
- what the fake's limits allow, computed from its tiers: the users.list pages (200 a page)
  and usergroups.users.list calls at Tier 2, then N chat.postMessage within the workspace
  bucket (POST_MESSAGE_WORKSPACE_PER_MINUTE, a burst as large);
- a minimal client that makes those calls (each group's members read once) and posts the
  same invitation blocks at the allowed rate, one after the other.
The ratio is against the minimal client, the measured floor.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    SECRET,
    Table,
    free_port,
    log_tail,
    median,
    parser,
    start_icp_bot,
    stop,
    wait_listening,
)

TEAM = "T0001"
LEADER = "U0LEAD"
GROUPS = {"S0SALES": "sales", "S0SUPPORT": "support", "S0SUCCESS": "success"}
PAGE = 200  # users.list page size (Slack: "no more than 200 results at a time")


def _staff(n: int) -> list[str]:
    return [f"U0S{i:05d}" for i in range(1, n + 1)]


def timed_fake(n: int):
    """A started rate-limited fake with the leader and ``n`` staff in GROUPS, which records
    when each chat.postMessage was accepted (``post_times``: (monotonic, channel))."""
    from tests.fakeslack import FakeSlack
    from tests.fakeslack.api.base import web_api

    class TimedFake(FakeSlack):
        def __init__(self) -> None:
            super().__init__(rate_limits=True, schema_path=False, socket_mode=False)
            self.post_times: list[tuple[float, str]] = []

        @web_api("chat.postMessage")
        def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
            body = super().chat_post_message(params)
            self.post_times.append((time.monotonic(), body["channel"]))
            self._changed.notify_all()
            return body

    fake = TimedFake().start()
    fake.add_user(LEADER, "lead", is_admin=True)
    staff = _staff(n)
    for user in staff:
        fake.add_user(user, user.lower())
    ids = list(GROUPS)
    for k, (gid, handle) in enumerate(GROUPS.items()):
        fake.add_usergroup(gid, handle, [u for i, u in enumerate(staff) if i % len(ids) == k])
    return fake


def limits_floor(n: int, users_listed: int, groups: int) -> tuple[float, float]:
    """(first DM, last DM) in seconds that the fake's configured limits allow at best."""
    from tests.fakeslack.ratelimit import POST_MESSAGE_WORKSPACE_PER_MINUTE, TIER_PER_MINUTE

    def tier2_time(calls: int) -> float:
        per_minute = TIER_PER_MINUTE[2]
        burst = max(per_minute, 3)
        return max(0.0, (calls - burst) / (per_minute / 60))

    first = max(tier2_time(math.ceil(users_listed / PAGE)), tier2_time(groups), tier2_time(1))
    rate = POST_MESSAGE_WORKSPACE_PER_MINUTE / 60
    last = max(first, (n - POST_MESSAGE_WORKSPACE_PER_MINUTE) / rate)
    return first, last


def _dm_times(fake, staff: set[str], t0: float) -> list[float]:
    with fake.lock:
        return [t - t0 for t, channel in fake.post_times if channel[1:] in staff]


def _wait_for_dms(fake, staff: set[str], n: int, timeout: float) -> None:
    fake.wait_for(lambda: len({c for _, c in fake.post_times if c[1:] in staff}) >= n, timeout=timeout)


def _close_open_rounds(url: str) -> None:
    from storage import rounds
    from storage.db import Database

    db = Database(url)
    db.upgrade()
    with db.session() as s:
        for old in rounds.open_rounds(s, TEAM):
            rounds.close_round(s, old.id)
    db.dispose()


def run_icp(n: int, workdir: Path, database_url: str | None, timeout: float,
            graceful: bool = True) -> dict[str, float]:
    from tests.fakeslack import SlackClientSim

    fake = timed_fake(n)
    url = database_url or f"sqlite:///{workdir / f'fanout-{n}-{time.monotonic_ns()}.db'}"
    if database_url:  # a shared database: close what earlier runs left open
        _close_open_rounds(database_url)
    port = free_port()
    bot = start_icp_bot(port, fake.api_url, url, workdir, extra=["--no-scheduler"] + (["--migrate"] if database_url else []))
    try:
        wait_listening(port, bot)
        sim = SlackClientSim(fake, f"http://127.0.0.1:{port}/slack/events", SECRET, command="/icp-check")
        assert sim.slash(LEADER, "start").status == 200
        fake.wait_for(lambda: (v := fake.current_view(LEADER)) is not None and v.callback_id == "round_start",
                      timeout=30)
        fake.reset_calls()
        t0 = time.monotonic()
        ack = sim.submit(LEADER, values={"usergroups": list(GROUPS), "team_groups": list(GROUPS), "delivery": "now"})
        if ack.status != 200 or ack.response_action is not None:
            raise RuntimeError(f"the start form was refused: {ack.status} {dict(ack)}")
        staff = set(_staff(n))
        _wait_for_dms(fake, staff, n, timeout)
        times = _dm_times(fake, staff, t0)
        channels = [c for _, c in fake.post_times if c[1:] in staff]
        return {"first": min(times), "last": max(times), "sent": len(set(channels)),
                "doubled": len(channels) - len(set(channels)), "throttled": fake.rate_limited_count,
                "users_list": len(fake.calls_to("users.list")),
                "group_reads": len(fake.calls_to("usergroups.users.list"))}
    finally:
        stop(bot, graceful=graceful)
        fake.stop()


def run_minimal(n: int, timeout: float) -> dict[str, float]:
    """The measured floor: list users and groups once, post at the allowed rate."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.pacing import TokenBucket
    from bot.views.messages import invite_blocks
    from tests.fakeslack.ratelimit import POST_MESSAGE_WORKSPACE_PER_MINUTE

    fake = timed_fake(n)
    try:
        client = WebClient(token=fake.bot_token, base_url=fake.api_url,
                           retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=5)])
        t0 = time.monotonic()
        humans, cursor = set(), None
        while True:
            page = client.users_list(limit=PAGE, cursor=cursor) if cursor else client.users_list(limit=PAGE)
            humans |= {m["id"] for m in page["members"] if not m["deleted"] and not m["is_bot"]
                       and m["id"] != "USLACKBOT"}
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                break
        wanted: list[str] = []
        for gid in GROUPS:
            wanted += client.usergroups_users_list(usergroup=gid)["users"]
        bucket = TokenBucket(POST_MESSAGE_WORKSPACE_PER_MINUTE / 60, POST_MESSAGE_WORKSPACE_PER_MINUTE)
        text, blocks = invite_blocks(1, "ICP survey", 8, None)
        deadline = t0 + timeout
        for user in dict.fromkeys(u for u in wanted if u in humans):
            if time.monotonic() > deadline:
                break
            bucket.wait()
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
        times = _dm_times(fake, set(_staff(n)), t0)
        return {"first": min(times), "last": max(times), "sent": len(times), "throttled": fake.rate_limited_count}
    finally:
        fake.stop()


def run(sizes: list[int], repeat: int, database_url: str | None = None, quick: bool = False) -> Table:
    table = Table(f"Invitation fan-out, rate-limited fake Slack ({'PostgreSQL' if database_url else 'SQLite'}), "
                  f"medians of {repeat}")
    with tempfile.TemporaryDirectory(prefix="icp-fanout-") as tmp:
        workdir = Path(tmp)
        try:
            for n in sizes:
                users_listed = n + 3  # the leader, the bot user and Slackbot
                first_limit, last_limit = limits_floor(n, users_listed, len(GROUPS))
                timeout = 3 * last_limit + 120
                icp, floor = [], []
                for _ in range(repeat):
                    icp.append(run_icp(n, workdir, database_url, timeout, graceful=not quick))
                    floor.append(run_minimal(n, timeout))
                _rows(table, n, icp, floor, first_limit, last_limit)
        except Exception:
            print(log_tail(workdir))
            raise
    table.notes.append("floor = a minimal client (users.list and each group once, then chat.postMessage at the "
                       "fake's workspace rate); 'limits' = what the configured tiers allow, computed")
    return table


def _rows(table: Table, n: int, icp: list[dict], floor: list[dict], first_limit: float, last_limit: float) -> None:
    def med(runs: list[dict], key: str) -> float | None:
        return median([r[key] for r in runs])

    first = table.add(f"first DM, {n:,} staff", med(icp, "first"), med(floor, "first"), "s",
                      "within 3 s of the start", None, note=f"limits allow {first_limit:.1f} s")
    first.passed = first.value is not None and first.value <= 3
    last = table.add(f"last DM, {n:,} staff", med(icp, "last"), med(floor, "last"), "s", "<= 1.1x", None,
                     note=(f"limits allow {last_limit:.1f} s; ICP Align got {med(icp, 'throttled'):.0f} x 429, "
                           f"{med(icp, 'users_list'):.0f} users.list and {med(icp, 'group_reads'):.0f} "
                           f"usergroups.users.list calls (floor: {med(floor, 'throttled'):.0f} x 429)"))
    last.passed = last.ratio is not None and last.ratio <= 1.1
    missing = sum(n - r["sent"] for r in icp)
    doubled = sum(r["doubled"] for r in icp)
    table.add(f"invitations missing / doubled, {n:,} staff", float(missing + doubled), None, "count", "0",
              missing + doubled == 0, note=f"{missing} missing, {doubled} doubled (all runs)")


def main(argv: list[str] | None = None) -> Table:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="300,1000,2000", help="staff counts, comma-separated")
    args = p.parse_args(argv)
    sizes, repeat = [int(x) for x in args.sizes.split(",")], args.repeat
    if args.quick:
        sizes, repeat = [6], 1
    started = time.monotonic()
    table = run(sizes, repeat, args.database_url, args.quick)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
