"""The simulated workspace: users, channels, user groups, messages and views.

Plain data; the Web API families in ``api/`` mutate it under ``FakeSlack.lock``.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

_ID_ALPHABET = string.ascii_uppercase + string.digits


def slack_id(prefix: str, length: int = 10) -> str:
    """An id in Slack's style: a type letter and upper-case alphanumerics."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def short_id(length: int = 5) -> str:
    """A generated block_id / action_id, like the ones Slack fills in (e.g. "hspI")."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class User:
    id: str
    name: str
    team_id: str
    tz: str = "America/New_York"
    tz_offset: int = -18000
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    real_name: str | None = None
    email: str | None = None

    def to_api(self) -> dict[str, Any]:
        """users.info / users.list shape (a subset of Slack's user object)."""
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "profile": {
                "real_name": real_name,
                "display_name": self.name,
                "real_name_normalized": real_name,
                "display_name_normalized": self.name,
                "email": self.email or f"{self.name}@example.com",
                "team": self.team_id,
            },
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    archived: bool = False
    bot_member: bool = True
    is_im: bool = False
    im_user: str | None = None
    is_private: bool = False

    def to_api(self) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": 1700000000,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_archived": self.archived,
                "is_open": True,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": 1700000000,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": self.bot_member,
            "num_members": len(self.members),
            "name_normalized": self.name,
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]
    name: str = ""
    team_id: str = ""

    def to_api(self, include_users: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "name": self.name or self.handle,
            "handle": self.handle,
            "is_external": False,
            "date_delete": 0,
            "user_count": len(self.users),
        }
        if include_users:
            data["users"] = list(self.users)
        return data


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    user: str
    bot_id: str
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edited: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self, team_id: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message",
            "text": self.text,
            "user": self.user,
            "bot_id": self.bot_id,
            "ts": self.ts,
            "team": team_id,
        }
        if self.blocks is not None:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.metadata:
            data["metadata"] = self.metadata
        if self.files:
            data["files"] = self.files
        if self.edited:
            data["edited"] = {"user": self.user, "ts": self.ts}
        return data

    # dict-style access keeps tests short: fake.messages("C1")[0]["text"]
    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class ViewRecord:
    """A modal or home view as Slack holds it."""

    id: str
    user: str
    type: str
    definition: dict[str, Any]  # what the bot sent, with generated block_id/action_id filled in
    hash: str
    team_id: str
    app_id: str
    bot_id: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # from response_action=errors

    @property
    def private_metadata(self) -> str:
        return self.definition.get("private_metadata", "")

    @property
    def callback_id(self) -> str:
        return self.definition.get("callback_id", "")

    @property
    def external_id(self) -> str:
        return self.definition.get("external_id", "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.definition.get("blocks", [])

    def to_api(self) -> dict[str, Any]:
        """The view object Slack returns from views.* and puts in interaction payloads."""
        d = self.definition
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": d.get("blocks", []),
            "private_metadata": d.get("private_metadata", ""),
            "callback_id": d.get("callback_id", ""),
            "state": {"values": self.state_values},
            "hash": self.hash,
            "title": d.get("title"),
            "clear_on_close": bool(d.get("clear_on_close", False)),
            "notify_on_close": bool(d.get("notify_on_close", False)),
            "close": d.get("close"),
            "submit": d.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": self.app_id,
            "external_id": d.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if self.type == "home":
            data.pop("title")
        return data

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)
