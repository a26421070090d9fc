"""The production HTTP path: ``bot.server.asgi_app`` under a real uvicorn server, as
``icp-bot run --http`` and ``--oauth`` serve it (the other e2e tests dispatch in process).

The listeners run on a thread pool the test owns, as in production (ack first, the rest
after); shutting the pool down at the end waits for them, so none calls the fake after it
stopped. What the bot does after its ack is awaited on the fake, bounded: inherent to a
real server."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import pytest
import uvicorn

from bot.app import create_app, outbox_sender
from bot.server import EVENTS_PATH, asgi_app
from bot.settings import Mode, Settings
from storage.slack_oauth import installation_store
from tests.fakeslack import sign

from .conftest import http_settings
from .helpers import LEADER, SECRET, STAFF, SlackClientSim, command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_uvicorn(app) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi_app(app), host="127.0.0.1", port=port, log_level="error",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def listeners() -> Iterator[ThreadPoolExecutor]:
    """The app's listener pool; leaving waits for the listeners still running."""
    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="listener") as pool:
        yield pool


def test_uvicorn_serves_signed_commands_and_refuses_forged_ones(fake, db, listeners):
    app = create_app(http_settings(fake), db=db, mode=Mode.HTTP, listener_executor=listeners,
                     outbox=outbox_sender(http_settings(fake), db, Mode.HTTP, inline=True))
    with serve_uvicorn(app) as base:
        sim = SlackClientSim(fake, base + EVENTS_PATH, SECRET, command="/icp-check")
        reply = command(fake, sim, LEADER, "help")
        assert "/icp-check start" in reply["text"]

        refused = command(fake, sim, STAFF[0], "start")
        assert "for ICP Align leaders" in refused["text"]

        forged = SlackClientSim(fake, base + EVENTS_PATH, "not-the-secret", command="/icp-check")
        assert forged.slash(LEADER, "help").status == 401

        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(base + "/elsewhere", timeout=5)  # noqa: S310 - loopback
        assert not_found.value.code == 404


def test_oauth_installation_end_to_end(fake, db, listeners):
    """Install page -> Slack's consent (a code) -> the redirect: the installation is stored in our
    database, and the workspace's commands are then answered with its own token."""
    settings = Settings(_env_file=None, slack_client_id=fake.client_id, slack_client_secret=fake.client_secret,
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = create_app(settings, db=db, mode=Mode.OAUTH, listener_executor=listeners,
                     outbox=outbox_sender(settings, db, Mode.OAUTH, inline=True))
    with serve_uvicorn(app) as base:
        with urllib.request.urlopen(base + "/slack/install", timeout=5) as response:  # noqa: S310
            page = response.read().decode()
            # bolt ties the state to the browser with a Secure cookie (sent back by hand: no TLS here)
            cookie = response.headers["Set-Cookie"].split(";")[0]
        link = page[page.index("https://slack.com/oauth/v2/authorize"):].split('"')[0].replace("&amp;", "&")
        state = parse_qs(urlparse(link).query)["state"][0]
        code = fake.new_oauth_code(LEADER)
        redirect = urllib.request.Request(f"{base}/slack/oauth_redirect?code={code}&state={state}",
                                          headers={"Cookie": cookie})
        with urllib.request.urlopen(redirect, timeout=5) as response:  # noqa: S310 - loopback
            assert response.status == 200 and "Thank you" in response.read().decode()
        installation = installation_store(db, fake.client_id).find_installation(
            enterprise_id=None, team_id=fake.team_id)
        assert installation is not None and installation.bot_token == fake.bot_token
        assert installation.user_id == LEADER  # who installed it
        # a replayed redirect (the state is consumed, the code spent) is refused
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(redirect, timeout=5)  # noqa: S310 - loopback

        # the workspace's commands now run with the stored installation's token
        sim = SlackClientSim(fake, base + EVENTS_PATH, SECRET, command="/icp-check")
        reply = command(fake, sim, LEADER, "help")
        assert "/icp-check start" in reply["text"]


def test_oauth_install_page_links_to_slack_with_a_stored_state(fake, db, listeners):
    settings = Settings(_env_file=None, slack_client_id="111.222", slack_client_secret="shh",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = create_app(settings, db=db, mode=Mode.OAUTH, listener_executor=listeners,
                     outbox=outbox_sender(settings, db, Mode.OAUTH, inline=True))
    with serve_uvicorn(app) as base:
        request = urllib.request.Request(base + "/slack/install")
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            page = response.read().decode()
            assert response.status == 200
    link = page[page.index("https://slack.com/oauth/v2/authorize"):].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert query["client_id"] == ["111.222"]
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "users:read"}
    state = query["state"][0]
    # the state was stored by slack_sdk's SQLAlchemy state store in our database
    from storage.slack_oauth import oauth_state_store

    assert oauth_state_store(db).consume(state) is True
    assert oauth_state_store(db).consume(state) is False


def test_url_verification_answers_the_challenge(fake, db, listeners):
    """Slack checks a Request URL with a signed url_verification before it sends anything."""
    app = create_app(http_settings(fake), db=db, mode=Mode.HTTP, listener_executor=listeners,
                     outbox=outbox_sender(http_settings(fake), db, Mode.HTTP, inline=True))
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    with serve_uvicorn(app) as base:
        request = urllib.request.Request(base + EVENTS_PATH, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json", **sign(SECRET, body)})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            answer = json.loads(response.read())
    assert answer == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
