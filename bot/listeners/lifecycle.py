"""The app's own lifecycle events: ``app_uninstalled`` and ``tokens_revoked``.

In OAuth mode bolt's token revocation listeners delete the workspace's installation (see
``create_app``). With a single workspace there is no installation to delete: the event is
acknowledged (an unhandled event answers 404, and Slack would retry it and in the end
disable the event subscription) and logged for the admin. Survey data is kept, so that a
reinstall picks up where the workspace left off.
"""

from __future__ import annotations

import logging

from slack_bolt import App

log = logging.getLogger(__name__)


def uninstalled(body: dict) -> None:
    log.warning("ICP Align was uninstalled from workspace %s; its survey data is kept", body.get("team_id"))


def revoked(body: dict) -> None:
    log.warning("Slack revoked ICP Align's tokens in workspace %s; reinstall the app to go on", body.get("team_id"))


def register(app: App) -> None:
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)
