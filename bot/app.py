"""The one factory that builds the bolt app.

``create_app`` builds what every listener needs once (``bot.runtime.Runtime``), installs the
middleware that hands it to them (``bot.middleware``), and wires the listeners
(``bot.listeners``). Nothing else holds state: everything that lasts is in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot import listeners
from bot.middleware import ContextFiller
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.runtime import Runtime, utcnow
from bot.services.access import Leaders
from bot.settings import Mode, Settings
from bot.slack_client import make_client, outbox_client
from storage.db import Database

log = logging.getLogger(__name__)

LISTENER_THREADS = 16
"""bolt's listener pool (its default is 5). A listener works after its ack; with a slow Slack
five busy listeners would leave every other request waiting past Slack's 3 seconds."""


def create_app(settings: Settings, *, db: Database, mode: Mode = Mode.SOCKET, client: WebClient | None = None,
               pacer: Pacer | None = None, clock: Callable[[], datetime] | None = None,
               outbox: OutboxSender | None = None, listener_executor: Executor | None = None) -> App:
    """The bolt app for ``mode``; settings must already hold what the mode needs.

    ``pacer`` is shared with the scheduler when one runs in the same process; ``outbox``
    sends what the listeners enqueue (by default a sender thread started on first use, see
    ``outbox_sender``). ``clock``, an inline ``outbox`` and ``listener_executor`` are for
    tests (an executor that runs listeners inline makes a dispatch return once everything it
    caused is done).
    """
    executor = listener_executor or ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                                       thread_name_prefix="icp-listener")
    if mode == Mode.OAUTH:
        from storage.slack_oauth import (  # cryptography: OAuth only
            installation_store,
            oauth_state_store,
        )

        oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=settings.slack_scopes.split(","),
            installation_store=installation_store(db, settings.slack_client_id or "", encryption_key=settings.encryption_key()),
            state_store=oauth_state_store(db),
        )
        app = App(signing_secret=settings.slack_signing_secret, oauth_settings=oauth_settings,
                  client=client or make_client(settings.slack_api_url), listener_executor=executor)
        app.enable_token_revocation_listeners()
    else:
        app = App(
            signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
            client=client or make_client(settings.slack_api_url, settings.slack_bot_token),
            # Socket Mode requests carry no signature; HTTP requests are always verified.
            request_verification_enabled=mode == Mode.HTTP,
            listener_executor=executor,
        )
    pacer = pacer or Pacer()
    outbox = outbox or outbox_sender(settings, db, mode, pacer=pacer)
    runtime = Runtime(db=db, leaders=Leaders(db), outbox=outbox, pacer=pacer, clock=clock or utcnow)
    app.use(ContextFiller(runtime))
    listeners.register(app, lifecycle_events=mode != Mode.OAUTH)
    app.error(log_listener_error)
    return app


def outbox_sender(settings: Settings, db: Database, mode: Mode, *, pacer: Pacer | None = None,
                  inline: bool = False) -> OutboxSender:
    """The outbox sender for ``mode``: the bot token's client, or each installation's (OAuth)."""
    if mode == Mode.OAUTH:
        from storage.slack_oauth import installation_store

        store = installation_store(db, settings.slack_client_id or "", encryption_key=settings.encryption_key())

        def client_for_team(team_id: str) -> WebClient | None:
            installation = store.find_installation(enterprise_id=None, team_id=team_id)
            if installation is None or not installation.bot_token:
                return None
            return outbox_client(settings.slack_api_url, installation.bot_token)
    else:
        client = outbox_client(settings.slack_api_url, settings.slack_bot_token)

        def client_for_team(team_id: str) -> WebClient | None:
            return client

    return OutboxSender(db, client_for_team, pacer=pacer, inline=inline, workers=settings.icp_outbox_workers)


def log_listener_error(error: Exception, body: dict) -> None:
    log.exception("listener failed on a %s payload", body.get("type") or body.get("command"), exc_info=error)
