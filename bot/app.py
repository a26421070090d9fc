"""The one factory that builds the bolt app, and the listener modules it registers.

Listener modules are named after what the user touches: ``commands`` (/icp-check and the
leaders' forms), ``survey_flow`` (invitation buttons and survey modals), ``home`` (App
Home). Each exposes ``register(app, deps)``.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from bot.deps import Deps
from bot.listeners import commands, home, icp_profile, lifecycle, survey_flow
from bot.settings import Mode, Settings
from bot.slack_client import make_client
from storage.db import Database
from storage.slack_oauth import installation_store, oauth_state_store

log = logging.getLogger(__name__)

LISTENER_MODULES = (commands, survey_flow, home, icp_profile)


def create_app(settings: Settings, *, db: Database, mode: Mode = Mode.SOCKET, deps: Deps | None = None,
               client: WebClient | None = None, listener_executor: Executor | None = None) -> App:
    """The bolt app for ``mode``; settings must already hold what the mode needs.

    ``listener_executor`` runs the listeners after their ack (bolt's default: a pool of 5
    threads); tests pass one that runs them inline, so a dispatch returns once all is done."""
    deps = deps or Deps(db=db)
    if mode == Mode.OAUTH:
        oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=settings.slack_scopes.split(","),
            installation_store=installation_store(db, settings.slack_client_id or ""),
            state_store=oauth_state_store(db),
        )
        app = App(signing_secret=settings.slack_signing_secret, oauth_settings=oauth_settings,
                  client=client or make_client(settings.slack_api_url), listener_executor=listener_executor)
        app.enable_token_revocation_listeners()
    else:
        app = App(
            signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
            client=client or make_client(settings.slack_api_url, settings.slack_bot_token),
            # Socket Mode requests carry no signature; HTTP requests are always verified.
            request_verification_enabled=mode == Mode.HTTP,
            listener_executor=listener_executor,
        )
    deps.on_change = lambda client_, team_id, user_id: home.publish_home(deps, client_, team_id, user_id)
    for module in LISTENER_MODULES:
        module.register(app, deps)
    if mode != Mode.OAUTH:  # in OAuth mode bolt's token revocation listeners take these events
        lifecycle.register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        log.exception("listener failed on a %s payload", body.get("type") or body.get("command"), exc_info=error)

    return app
