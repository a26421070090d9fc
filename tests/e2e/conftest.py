"""End-to-end fixtures: a fake Slack workspace, the real bolt app with its WebClient pointed at
the fake, and a fresh database per test.

The simulator signs each request as Slack does and hands it to the app's public
``App.dispatch``; the app runs its listeners on an ``InlineExecutor``, so when a request
returns the bot has made every Slack call it makes for it: the tests read the outcome at once,
without waiting or sleeping. (test_http_server, test_socket_mode and test_cli_run serve the app
for real.)

The database is the ``db`` fixture of tests/conftest.py: SQLite in tmp_path, and PostgreSQL too
when ICP_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_bolt import App

from bot.app import create_app, outbox_sender
from bot.settings import Mode, Settings
from storage.db import Database
from tests.fakeslack import InlineExecutor

from .helpers import (
    GONE,
    LEADER,
    NAMES,
    OTHER_BOT,
    SECRET,
    STAFF,
    FakeSlack,
    SlackClientSim,
    answer_round,
    designed_answers,
    start_round,
)

logging.getLogger("slack_bolt").setLevel(logging.ERROR)
logging.getLogger("slack_sdk").setLevel(logging.ERROR)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A started fake Slack with the workspace: admin leader U0LEAD, 10 staff, another bot
    and a deactivated account (Slackbot and the app's own bot user come with the fake)."""
    slack = FakeSlack().start()
    slack.add_user(LEADER, "lead", is_admin=True)
    for user in STAFF:
        slack.add_user(user, NAMES[user], real_name=NAMES[user].title())
    slack.add_user(OTHER_BOT, "otherbot", is_bot=True)
    slack.add_user(GONE, "gone", deleted=True)
    try:
        yield slack
    finally:
        slack.stop()


def http_settings(fake: FakeSlack) -> Settings:
    return Settings(_env_file=None, slack_bot_token=fake.bot_token, slack_signing_secret=SECRET,
                    slack_api_url=fake.api_url)


@pytest.fixture
def app(fake: FakeSlack, db: Database) -> App:
    """The HTTP-mode app, its listeners run inline (done when ``dispatch`` returns) and its
    outbox drained inline by whoever kicks it: a test sees every message its request caused."""
    settings = http_settings(fake)
    return create_app(settings, db=db, mode=Mode.HTTP, listener_executor=InlineExecutor(),
                      outbox=outbox_sender(settings, db, Mode.HTTP, inline=True))


@pytest.fixture
def sim(fake: FakeSlack, app: App) -> SlackClientSim:
    return SlackClientSim(fake, app=app, signing_secret=SECRET, command="/icp-check")


@dataclass
class World:
    fake: FakeSlack
    sim: SlackClientSim
    db: Database
    app: App


@pytest.fixture
def world(fake: FakeSlack, sim: SlackClientSim, db: Database, app: App) -> World:
    return World(fake, sim, db, app)


@pytest.fixture
def open_round(world: World) -> int:
    """A round started by the leader for the 10 staff; its id."""
    return start_round(world.fake, world.sim)


@pytest.fixture(name="answer_round")
def answer_round_fixture():
    """``answer_round(sim, fake, user, answers, ...)``: see helpers.answer_round."""
    return answer_round


@pytest.fixture(name="designed_answers")
def designed_answers_fixture():
    return designed_answers



@pytest.fixture(autouse=True)
def no_listener_errors(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test whose listeners logged an error: in process a listener that raises after its
    ack is otherwise only a log line (and, inline, bolt's 3 s ack wait). A test that logs an
    error on purpose says so with ``@pytest.mark.logs_errors``."""
    yield
    if request.node.get_closest_marker("logs_errors"):
        return
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.get_records("call")
              if r.levelno >= logging.ERROR and r.name.startswith(("bot", "slack_bolt"))]
    assert not errors, errors
