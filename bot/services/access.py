"""Who may do what: leaders are workspace owners and admins, and the people named with
``/icp-check leaders add``. Everyone else may answer surveys and read the ratified ICP."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.payloads import BlockAction, MalformedPayload, parse
from storage import workspaces
from storage.db import Database

log = logging.getLogger(__name__)


def is_workspace_admin(client: WebClient, user_id: str) -> bool:
    """Owner or admin per users.info; False when Slack cannot tell (never grants on error)."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for a leader check: %s", exc.response.get("error"))
        return False
    return bool(user.get("is_owner") or user.get("is_admin") or user.get("is_primary_owner"))


def is_leader(db: Database, client: WebClient, team_id: str, user_id: str) -> bool:
    with db.session() as session:
        if workspaces.is_leader(session, team_id, user_id):
            return True
    return is_workspace_admin(client, user_id)


def leader_click(db: Database, client: WebClient, body: dict) -> BlockAction | None:
    """A button click parsed, if a leader made it; None for a malformed payload or anyone else
    (buttons can be replayed by hand, so every leader button checks again)."""
    try:
        action = parse(BlockAction, body)
    except MalformedPayload:
        log.warning("malformed button payload")
        return None
    if not is_leader(db, client, action.team_id or "", action.user.id):
        log.warning("refused a leader button (%s) from %s", action.action.action_id, action.user.id)
        return None
    return action
