"""conversations.open, conversations.info, conversations.members, conversations.history;
channels and DMs."""

from __future__ import annotations

from typing import Any

from ..workspace import Channel
from .base import SlackApiFailure, decode_cursor, encode_cursor, paginate, truthy, web_api

DEFAULT_MEMBERS_PAGE = 100  # conversations.members default limit
DEFAULT_HISTORY_PAGE = 100  # conversations.history: "up to 100 messages" unless a limit is given
MAX_HISTORY_PAGE = 999  # "a limit value under 1000"


class ConversationsApi:
    """Channels and DMs (``FakeSlack`` holds ``channels``)."""

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: list[str] | None = None,
        archived: bool = False,
        bot_member: bool = True,
        is_private: bool = False,
    ) -> Channel:
        members = list(members or [])
        if bot_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        channel = Channel(channel_id, name, members, archived, bot_member, is_private=is_private)
        with self.lock:
            self.channels[channel_id] = channel
        return channel

    @web_api("conversations.open")
    def conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            channel = self.channels.get(params["channel"])
            if channel is None or not channel.is_im:
                raise SlackApiFailure("channel_not_found")
            return {"ok": True, "channel": {"id": channel.id}}
        users_arg = params.get("users")
        if isinstance(users_arg, list):
            users = [str(u) for u in users_arg]
        else:
            users = [u.strip() for u in str(users_arg or "").split(",") if u.strip()]
        if not users:
            raise SlackApiFailure("users_list_not_supplied")
        if len(users) > 8:
            raise SlackApiFailure("too_many_users")
        for uid in users:
            if self.user_arg(uid).deleted:
                raise SlackApiFailure("user_disabled")
        if len(users) > 1:
            raise SlackApiFailure("method_not_supported_for_channel_type")  # no MPIMs here
        channel = self.ensure_dm(users[0])
        body: dict[str, Any] = {"ok": True}
        if channel.id in self._opened_ims:
            body.update({"no_op": True, "already_open": True})
        self._opened_ims.add(channel.id)
        body["channel"] = (
            channel.to_api() if truthy(params.get("return_im")) else {"id": channel.id}
        )
        return body

    @web_api("conversations.info")
    def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        return {"ok": True, "channel": channel.to_api()}

    @web_api("conversations.members")
    def conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        page, cursor = paginate(list(channel.members), params, DEFAULT_MEMBERS_PAGE)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    @web_api("conversations.history")
    def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """A conversation's messages, newest first, as Slack answers it: ``oldest``/``latest``
        bound the range (exclusive unless ``inclusive``), thread replies are left out, and a
        message's ``metadata`` comes back only with ``include_all_metadata`` (default false).
        A bot reads only conversations it is in: ``not_in_channel`` otherwise."""
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        if not channel.is_im and not channel.bot_member:
            raise SlackApiFailure("not_in_channel")
        inclusive = truthy(params.get("inclusive"))
        try:
            oldest = float(params.get("oldest") or 0)
            latest = float(params["latest"]) if params.get("latest") else None
            limit_raw = params.get("limit")
            limit = int(limit_raw) if limit_raw not in (None, "", 0, "0") else DEFAULT_HISTORY_PAGE
        except (TypeError, ValueError) as exc:
            raise SlackApiFailure("invalid_arguments", [f"[ERROR] {exc}"]) from exc
        limit = max(1, min(limit, MAX_HISTORY_PAGE))

        def in_range(ts: float) -> bool:
            after = ts >= oldest if inclusive else ts > oldest
            before = latest is None or (ts <= latest if inclusive else ts < latest)
            return after and before

        found = [m for m in reversed(self._messages.get(channel.id, []))
                 if (m.thread_ts is None or m.thread_ts == m.ts) and in_range(float(m.ts))]
        offset = decode_cursor(params.get("cursor"))
        page = found[offset : offset + limit]
        with_metadata = truthy(params.get("include_all_metadata"))
        messages = []
        for m in page:
            data = m.to_api(self.team_id)
            if not with_metadata:
                data.pop("metadata", None)
            messages.append(data)
        has_more = offset + limit < len(found)
        return {
            "ok": True,
            "messages": messages,
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": encode_cursor(offset + limit) if has_more else ""},
        }

    @web_api("conversations.replies")
    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then the replies, oldest first (``include_all_metadata``
        as for conversations.history); ``thread_not_found`` for an unknown ts."""
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        if not channel.is_im and not channel.bot_member:
            raise SlackApiFailure("not_in_channel")
        ts = params.get("ts")
        thread = [m for m in self._messages.get(channel.id, []) if m.ts == ts or m.thread_ts == ts]
        if not thread or thread[0].ts != ts:
            raise SlackApiFailure("thread_not_found")
        with_metadata = truthy(params.get("include_all_metadata"))
        messages = []
        for m in thread:
            data = m.to_api(self.team_id)
            if not with_metadata:
                data.pop("metadata", None)
            messages.append(data)
        return {"ok": True, "messages": messages, "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    # ------------------------------------------------------------------ shared
    def resolve_channel_id(self, channel: str) -> str:
        if channel and channel[0] in "UW" and channel in self.users:
            return "D" + channel
        return channel

    def ensure_dm(self, user_id: str) -> Channel:
        dm_id = "D" + user_id
        channel = self.channels.get(dm_id)
        if channel is None:
            channel = Channel(
                dm_id,
                dm_id,
                [user_id, self.bot_user_id],
                is_im=True,
                im_user=user_id,
                archived=self.users[user_id].deleted,
            )
            self.channels[dm_id] = channel
        return channel
