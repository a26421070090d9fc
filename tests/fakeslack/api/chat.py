"""chat.postMessage, chat.postEphemeral, chat.update, chat.delete, and the channel history."""

from __future__ import annotations

from typing import Any

from ..blockkit import MAX_MESSAGE_TEXT, fill_ids
from ..workspace import Channel, Ephemeral, Message
from .base import SlackApiFailure, json_param, strip_error, web_api


class ChatApi:
    """Messages in channels and DMs (``FakeSlack`` holds ``_messages`` and ``_ephemerals``)."""

    # ------------------------------------------------------------------ reading (tests)
    def messages(self, channel: str) -> list[Message]:
        """Current messages in a channel (or a user's DM, by user id), oldest first."""
        with self.lock:
            return list(self._messages.get(self.resolve_channel_id(channel), []))

    def message(self, channel: str, ts: str) -> Message | None:
        for m in self.messages(channel):
            if m.ts == ts:
                return m
        return None

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        with self.lock:
            return [
                e
                for e in self._ephemerals
                if (user is None or e.user == user)
                and (channel is None or e.channel == self.resolve_channel_id(channel))
            ]

    # ------------------------------------------------------------------ methods
    @web_api("chat.postMessage")
    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_for_post(params.get("channel"))
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            self.find_message(channel.id, thread_ts)
        metadata = params.get("metadata")
        message = Message(
            channel=channel.id,
            ts=self.next_ts(),
            text=text,
            blocks=blocks,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
            metadata=json_param(metadata, "metadata") if metadata else None,
        )
        self._messages.setdefault(channel.id, []).append(message)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "message": message.to_api(self.team_id),
        }

    @web_api("chat.postEphemeral")
    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_for_post(params.get("channel"))
        user = self.user_arg(params.get("user"))
        if not channel.is_im and user.id not in channel.members:
            raise SlackApiFailure("user_not_in_channel")
        text, blocks = self._content(params)
        eph = Ephemeral(channel.id, user.id, self.next_ts(), text, blocks)
        self._ephemerals.append(eph)
        return {"ok": True, "message_ts": eph.ts}

    @web_api("chat.update")
    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self.resolve_channel_id(params.get("channel") or "")
        if channel_id not in self.channels:
            raise SlackApiFailure("channel_not_found")
        message = self.find_message(channel_id, params.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        if "blocks" in params or "text" in params:
            merged = {
                "text": params.get("text", message.text),
                "blocks": params.get("blocks", message.blocks),
            }
            text, blocks = self._content(merged)
            message.text, message.blocks = text, blocks
        message.edited = True
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(self.team_id),
        }

    @web_api("chat.delete")
    def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self.resolve_channel_id(params.get("channel") or "")
        if channel_id not in self.channels:
            raise SlackApiFailure("channel_not_found")
        message = self.find_message(channel_id, params.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackApiFailure("cant_delete_message")
        self._messages[channel_id].remove(message)
        return {"ok": True, "channel": channel_id, "ts": message.ts}

    # ------------------------------------------------------------------ shared
    def next_ts(self) -> str:
        self._ts_counter += 1
        return f"{int(self.wall_clock())}.{self._ts_counter:06d}"

    def channel_for_post(self, channel_arg: Any) -> Channel:
        """Resolve chat.* ``channel``: a channel id, a DM id, a user id, or a #name."""
        if not isinstance(channel_arg, str) or not channel_arg:
            raise SlackApiFailure("channel_not_found")
        if channel_arg[0] in "UW":
            user = self.users.get(channel_arg)
            if user is None:
                raise SlackApiFailure("channel_not_found")
            channel = self.ensure_dm(user.id)
        elif channel_arg[0] == "D" and channel_arg[1:] in self.users:
            channel = self.ensure_dm(channel_arg[1:])
        else:
            channel = self.channels.get(channel_arg)
            if channel is None:
                name = channel_arg.lstrip("#")
                channel = next((c for c in self.channels.values() if c.name == name), None)
            if channel is None:
                raise SlackApiFailure("channel_not_found")
        if channel.is_im and channel.im_user and self.users[channel.im_user].deleted:
            channel.archived = True
        if channel.archived:
            raise SlackApiFailure("is_archived")
        if not channel.is_im and not channel.bot_member:
            raise SlackApiFailure("not_in_channel")
        return channel

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        text = params.get("text") or ""
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if blocks is not None:
            blocks = json_param(blocks, "blocks")
            errors = self.validator.validate_blocks(blocks)
            if errors:
                raise SlackApiFailure("invalid_blocks", errors, errors=[strip_error(e) for e in errors])
            blocks = fill_ids(blocks)
        if not text and not blocks and not attachments:
            raise SlackApiFailure("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackApiFailure("msg_too_long")
        return text, blocks

    def find_message(self, channel_id: str, ts: Any) -> Message:
        for m in self._messages.get(channel_id, []):
            if m.ts == ts:
                return m
        raise SlackApiFailure("message_not_found")
