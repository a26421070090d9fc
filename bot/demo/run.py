"""``icp-bot demo``: the real bot, a loopback Slack and a simulated team, one whole loop.

The bot is the production one (``bot.app.create_app`` in HTTP mode under uvicorn through
``bot.server.asgi_app``); every request it gets is signed with a secret made for this run and
arrives on the path Slack's would. Listeners run inline and the outbox sends synchronously,
so each request returns once everything it caused has reached the loopback Slack: the run
is sequential and repeatable for a seed.
"""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo.driver import DemoError, Driver, buttons, options_of
from bot.demo.slack import LoopbackSlack, Person, Shown
from bot.demo.team import TEAMS, TITLES, Member, answers_for, make_team
from bot.views import leader_messages
from survey.template import Template, load_builtin

CLOSE_CONFIRMED = leader_messages.CLOSE_ROUND
LEADER = "U0DEMOLEAD"
LEADERSHIP_CHANNEL = "C0LEADERS"
PROSPECT = "Acme Analytics"


class InlineExecutor(Executor):
    """Runs each listener in the request's own thread: a request returns when its work is done."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: B036 - handed to the caller as bolt expects
            future.set_exception(exc)
        return future


@dataclass
class DemoResult:
    out: Path
    round_ids: list[int]
    report: list[dict[str, Any]] = field(default_factory=list)  # the report's blocks
    digest: dict[str, Any] = field(default_factory=dict)  # the digest message as posted
    shown: list[Shown] = field(default_factory=list)
    chart: bytes | None = None  # the digest chart's PNG (bot.charts.digest_chart)
    chart_png: Path | None = None
    seconds: float = 0.0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


class _ErrorLog(logging.Handler):
    """Keeps the bot's error records, to report them at the end instead of mid-progress."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(bolt_app: Any) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from bot.server import EVENTS_PATH, asgi_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app(bolt_app), host="127.0.0.1", port=port,
                                           log_level="error", access_log=False, lifespan="off",
                                           log_config=None))
    thread = threading.Thread(target=server.run, name="demo-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise DemoError("the bot's HTTP server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}{EVENTS_PATH}"


def _values_for(view: dict[str, Any], answers: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """block_id -> value for a survey step: the person's answer, or for a required question the
    demo has no answer for, a valid choice from what the view offers."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        block_id = str(block.get("block_id", ""))
        if block.get("type") != "input" or not block_id.startswith("q:"):
            continue
        qid, element = block_id[2:], block["element"]
        if qid in answers:
            values[block_id] = answers[qid]
        elif not block.get("optional") and not element.get("initial_option") \
                and not element.get("initial_value") and not element.get("initial_options"):
            options = options_of(element)
            if options:
                pick = rng.choice(options)["value"]
                values[block_id] = [pick] if element["type"] in ("checkboxes", "multi_static_select") else pick
            elif element["type"] == "number_input":
                values[block_id] = element.get("min_value") or "1"
    return values


class Demo:
    """One run: ``Demo(out, seed=..., team_size=..., rounds=...).run(progress)``."""

    def __init__(self, out: Path, *, seed: int = 7, team_size: int = 15, rounds: int = 2) -> None:
        if team_size < 3:
            raise ValueError("--team-size must be at least 3 (one per team)")
        if rounds < 1:
            raise ValueError("--rounds must be at least 1")
        self.out, self.seed, self.team_size, self.rounds = Path(out), seed, team_size, rounds
        self.rng = random.Random(seed)
        self.members: list[Member] = make_team(team_size, self.rng)
        self.template = load_builtin("icp-core")  # the template a round starts with by default

    # -- set-up --------------------------------------------------------------------------------
    def _prepare_out(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in ("icp-demo.db", "icp-demo.db-wal", "icp-demo.db-shm", "index.html", "digest-chart.png"):
            (self.out / stale).unlink(missing_ok=True)
        shutil.rmtree(self.out / "payloads", ignore_errors=True)
        return self.out / "icp-demo.db"

    def _workspace(self) -> LoopbackSlack:
        slack = LoopbackSlack().start()
        slack.add_person(Person(LEADER, "lee", "Lee Alvarez", "Head of Revenue", is_admin=True))
        for m in self.members:
            slack.add_person(Person(m.user_id, m.name, m.real_name, TITLES[m.team], team=m.team))
        for team in TEAMS:
            slack.add_usergroup(f"S0{team.upper()}", team, [m.user_id for m in self.members if m.team == team])
        slack.add_channel(LEADERSHIP_CHANNEL, "leadership", [LEADER])
        return slack

    # -- the loop ------------------------------------------------------------------------------
    def run(self, step: Callable[[str], None] = lambda _: None) -> DemoResult:
        from bot.app import create_app, outbox_sender
        from bot.settings import Mode, Settings
        from storage.db import Database

        started = time.monotonic()
        db_path = self._prepare_out()
        errors = _ErrorLog()
        logging.getLogger().addHandler(errors)
        for noisy in ("slack_bolt", "slack_sdk", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        slack = self._workspace()
        secret = secrets.token_hex(16)
        settings = Settings(_env_file=None, slack_bot_token=slack.bot_token, slack_signing_secret=secret,
                            slack_api_url=slack.api_url, database_url=f"sqlite:///{db_path}")
        db = Database(settings.database_url)
        db.upgrade()
        bolt_app = create_app(settings, db=db, mode=Mode.HTTP,
                              outbox=outbox_sender(settings, db, Mode.HTTP, inline=True),
                              listener_executor=InlineExecutor())
        server, thread, url = _serve(bolt_app)
        self.slack, self.db = slack, db
        self.driver = Driver(slack, url, secret)
        result = DemoResult(self.out, [])
        try:
            self._loop(result, step)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            slack.stop()
            logging.getLogger().removeHandler(errors)
        result.shown = list(slack.shown)
        result.requests = self.driver.requests
        result.errors = errors.lines
        step("Writing the page, the chart and the payloads")
        from bot.demo.render import write_outputs

        result.chart_png = write_outputs(self, result)
        result.seconds = time.monotonic() - started
        return result

    def _command(self, text: str, user: str = LEADER, channel: str | None = None) -> list[dict[str, Any]]:
        return self.driver.slash(user, text, channel)

    def _close_round(self) -> None:
        """``/icp-check close`` asks first: the leader confirms with its "Close round" button."""
        for response in self._command("close"):
            buttons = [el for b in response.get("blocks") or [] if b.get("type") == "actions"
                       for el in b.get("elements", [])]
            if any(el.get("action_id") == CLOSE_CONFIRMED for el in buttons):
                message = {**response, "ts": response.get("ts") or "1700000000.000001"}
                self.driver.click(LEADER, message, self.slack.dm_of(LEADER), CLOSE_CONFIRMED)
                return
        raise DemoError("/icp-check close offered no button to confirm")

    def _loop(self, result: DemoResult, step: Callable[[str], None]) -> None:
        slack, driver = self.slack, self.driver
        slack.chapter("The leader opens ICP Align's App Home")
        driver.home_opened(LEADER)
        # The demo's team is at work whatever the hour where it runs: DMs (invitations,
        # reminders) go out at once instead of waiting for each person's working hours.
        slack.chapter("The leader turns working hours off (/icp-check settings hours off)")
        self._command("settings hours off")
        for round_no in range(1, self.rounds + 1):
            step(f"Round {round_no}: the leader starts it")
            result.round_ids.append(self._start_round(round_no))
            laggard = self.members[-1]
            step(f"Round {round_no}: {len(self.members) - 1} people answer, step by step")
            for n, member in enumerate(self.members[:-1]):
                if n == 0:
                    slack.chapter(f"Round {round_no}: {member.real_name} ({member.team}) answers the survey")
                elif n == 1:
                    slack.chapter(f"Round {round_no}: {len(self.members) - 2} more people answer the same "
                                  "way, each their own answers", folded=True)
                self._answer(member, round_no, "survey_start")
            step(f"Round {round_no}: {laggard.real_name} is reminded")
            slack.chapter(f"Round {round_no}: the leader reminds whoever has not finished")
            self._command("remind")
            if round_no == self.rounds:
                slack.chapter(f"{laggard.real_name} answers from the reminder")
                self._answer(laggard, round_no, None)
            step(f"Round {round_no}: the round closes")
            slack.chapter(f"Round {round_no}: the leader closes the round")
            self._close_round()
        slack.chapter(f"{self.members[0].real_name} opens App Home")
        driver.home_opened(self.members[0].user_id)

        step("The report")
        slack.chapter("The leader reads the report (/icp-check report)")
        result.report = next((r.get("blocks") or [] for r in self._command("report") if r.get("blocks")), [])
        if not result.report:
            raise DemoError("/icp-check report answered without a report")

        step("The weekly digest")
        slack.chapter("The leader sets up the weekly digest")
        self._command(f"digest <#{LEADERSHIP_CHANNEL}|leadership> monday 09:00")
        slack.chapter("The digest, posted now to #leadership")
        self._command("digest now")
        posted = slack.messages.get(LEADERSHIP_CHANNEL) or []
        if not posted:
            raise DemoError("/icp-check digest now posted nothing to #leadership")
        result.digest = posted[-1]
        from bot.demo.render import digest_png

        result.chart = digest_png(self.db, slack.team_id)  # the chart of the digest as just posted

        step("A StrategyCheck pulse")
        slack.chapter("A StrategyCheck pulse goes out (/icp-check pulse now)")
        self._command("pulse now")
        self._answer_pulse()

        step("The ICP is ratified")
        slack.chapter("The leader ratifies the ICP (/icp-check ratify)")
        self._command("ratify")
        self._expect_modal(LEADER, "icp_ratify")
        prefill = _prefilled(slack.current_view(LEADER)["view"])
        driver.submit(LEADER, {})  # as pre-filled: the team's consensus
        driver.close(LEADER)

        step("A prospect is scored")
        slack.chapter(f"The leader scores a prospect, {PROSPECT} (/icp-check fit)")
        self._command("fit")
        view = self._expect_modal(LEADER, "icp_fit")
        values = {"prospect_name": PROSPECT}
        for block in view.get("blocks", []):
            block_id = str(block.get("block_id", ""))
            # numbers are left blank: scoring a prospect's number fails in survey.answers.parse_answer
            # (it asserts an upper bound that survey.profile._as_fact removes)
            if block.get("type") == "input" and block_id.startswith("q:") and block_id[2:] in prefill \
                    and block["element"].get("type") != "number_input" \
                    and self._template().question(block_id[2:]).role != "disqualifier":
                values[block_id] = prefill[block_id[2:]]
        if "q:company_size" in values:
            values["q:company_size"] = "201-1000"  # close to the ICP, not a copy of it
        driver.submit(LEADER, values)
        driver.close(LEADER)

    def _expect_modal(self, user: str, callback_id: str) -> dict[str, Any]:
        record = self.slack.current_view(user)
        if record is None or record["view"].get("callback_id") != callback_id:
            got = record and record["view"].get("callback_id")
            raise DemoError(f"expected the {callback_id!r} modal for {user}, got {got!r}")
        return record["view"]

    def _start_round(self, round_no: int) -> int:
        from storage import rounds

        self._command("start")
        self._expect_modal(LEADER, "round_start")
        self.driver.submit(LEADER, {
            "title": f"ICP check {round_no}" if self.rounds > 1 else "ICP check",
            "users": [m.user_id for m in self.members],
            "team_groups": [f"S0{team.upper()}" for team in TEAMS],
            "delivery": "now",  # the demo's team is at work whatever the hour where it runs
        })
        with self.db.session(read_only=True) as session:
            latest = rounds.latest_round(session, self.slack.team_id)
            if latest is None or latest.status != "open":
                raise DemoError("the start form did not open a round")
            return latest.id

    def _answer(self, member: Member, round_no: int, button: str | None) -> None:
        """``member`` clicks ``button`` (or the latest survey button) in their DM, then submits
        each step of the survey with their answers until the thank-you view."""
        dm = self.slack.dm(member.user_id)
        found = [(m, b) for m in dm for b in buttons(m)
                 if (b == button if button else b.startswith("survey_"))]
        if not found:
            raise DemoError(f"no {button or 'survey'} button in {member.real_name}'s DM")
        message, action = found[-1]
        self.driver.click(member.user_id, message, self.slack.dm_of(member.user_id), action)
        answers = answers_for(member, self._template(), self.rng, round_no)
        for _ in range(30):
            record = self.slack.current_view(member.user_id)
            if record is None or record["view"].get("callback_id") != "survey_section":
                break
            self.driver.submit(member.user_id, _values_for(record["view"], answers, self.rng))
        record = self.slack.current_view(member.user_id)
        if record is None or record["view"].get("callback_id") != "survey_done":
            got = record and record["view"].get("callback_id")
            raise DemoError(f"{member.real_name}'s survey ended on {got!r}, not the thank-you view")
        self.driver.close(member.user_id)

    def _template(self) -> Template:
        return self.template

    def _answer_pulse(self) -> None:
        """Most people click one of the pulse's buttons; teams lean to different answers."""
        lean = {team: n for n, team in enumerate(TEAMS)}
        for member in self.members[:-2]:
            dm = self.slack.dm(member.user_id)
            found = [(m, [b for b in buttons(m) if b.startswith("pulse_answer:")]) for m in dm]
            found = [(m, bs) for m, bs in found if bs]
            if not found:
                continue
            message, choices = found[-1]
            pick = choices[0] if self.rng.random() < 0.6 else choices[lean[member.team] % len(choices)]
            self.driver.click(member.user_id, message, self.slack.dm_of(member.user_id), pick)


def _prefilled(view: dict[str, Any]) -> dict[str, Any]:
    """question id -> the value its input starts with (the ratify form's consensus)."""
    out: dict[str, Any] = {}
    for block in view.get("blocks", []):
        block_id = str(block.get("block_id", ""))
        if not block_id.startswith("q:"):
            continue
        element = block.get("element", {})
        if element.get("initial_option"):
            out[block_id[2:]] = element["initial_option"]["value"]
        elif element.get("initial_options"):
            out[block_id[2:]] = [o["value"] for o in element["initial_options"]]
        elif element.get("initial_value") is not None:
            out[block_id[2:]] = element["initial_value"]
    return out
