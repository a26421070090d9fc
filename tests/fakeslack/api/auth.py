"""auth.test, team.info, apps.connections.open and oauth.v2.access: who the app is."""

from __future__ import annotations

import secrets
from typing import Any

from .base import SlackApiFailure, web_api


class AuthApi:
    """The app's identity and installation (``FakeSlack`` holds the state)."""

    def new_oauth_code(self, user_id: str) -> str:
        """A one-time code, as Slack appends to the redirect URL after the user allows the app."""
        code = f"{self.team_id}.{secrets.token_hex(8)}"
        with self.lock:
            self._oauth_codes[code] = user_id
        return code

    @web_api("oauth.v2.access", token=False)
    def oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        """Exchange a code for the bot token (Slack's response shape); authenticated by the
        app's client credentials, not a token."""
        if (params.get("client_id"), params.get("client_secret")) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"
                    if params.get("client_id") != self.client_id else "bad_client_secret"}
        user_id = self._oauth_codes.pop(params.get("code") or "", None)
        if user_id is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "access_token": self.bot_token,
            "token_type": "bot",
            "scope": self.oauth_scopes,
            "bot_user_id": self.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": None,
            "authed_user": {"id": user_id},
            "is_enterprise_install": False,
        }

    @web_api("auth.test")
    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    @web_api("team.info")
    def team_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "team": {
                "id": self.team_id,
                "name": self.team_name,
                "domain": self.team_domain,
                "email_domain": "example.com",
                "icon": {"image_default": True},
            },
        }

    @web_api("apps.connections.open")
    def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket is None:
            raise SlackApiFailure("not_allowed")  # Socket Mode off for this app
        return {"ok": True, "url": self.socket.issue_url()}
