"""users.info and users.list: the workspace's people (Slackbot and bots included)."""

from __future__ import annotations

import time
from typing import Any

from ..workspace import User
from .base import SlackApiFailure, paginate, web_api


class UsersApi:
    """People (``FakeSlack`` holds ``users``)."""

    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str = "America/New_York",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
        tz_offset: int | None = None,
        real_name: str | None = None,
        email: str | None = None,
    ) -> User:
        offset = tz_offset if tz_offset is not None else _tz_offset(tz)
        user = User(
            user_id,
            name,
            self.team_id,
            tz=tz,
            tz_offset=offset,
            is_admin=is_admin,
            is_owner=is_owner,
            is_bot=is_bot,
            deleted=deleted,
            real_name=real_name,
            email=email,
        )
        with self.lock:
            self.users[user_id] = user
        return user

    def deactivate_user(self, user_id: str) -> None:
        with self.lock:
            self.users[user_id].deleted = True
            dm = self.channels.get("D" + user_id)
            if dm is not None:
                dm.archived = True

    @web_api("users.info")
    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": self.user_arg(params.get("user")).to_api()}

    @web_api("users.list")
    def users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = [u.to_api() for u in self.users.values()]
        page, cursor = paginate(members, params, None)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    def user_arg(self, user_id: Any) -> User:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackApiFailure("user_not_found")
        return user


def _tz_offset(tz: str) -> int:
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    except Exception:
        return 0
