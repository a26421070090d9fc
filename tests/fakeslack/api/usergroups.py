"""usergroups.list and usergroups.users.list: user groups ("@sales")."""

from __future__ import annotations

from typing import Any

from ..workspace import Usergroup
from .base import SlackApiFailure, truthy, web_api


class UsergroupsApi:
    """User groups (``FakeSlack`` holds ``usergroups``)."""

    def add_usergroup(
        self, usergroup_id: str, handle: str, users: list[str], name: str = ""
    ) -> Usergroup:
        group = Usergroup(usergroup_id, handle, list(users), name=name, team_id=self.team_id)
        with self.lock:
            self.usergroups[usergroup_id] = group
        return group

    @web_api("usergroups.list")
    def usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        include_users = truthy(params.get("include_users"))
        return {
            "ok": True,
            "usergroups": [g.to_api(include_users) for g in self.usergroups.values()],
        }

    @web_api("usergroups.users.list")
    def usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(params.get("usergroup") or "")
        if group is None:
            raise SlackApiFailure("no_such_subteam")
        return {"ok": True, "users": list(group.users)}
