"""response_url: where a slash command or a button's listener answers (``respond()``)."""

from __future__ import annotations

import secrets
from typing import Any

from ..blockkit import fill_ids
from ..workspace import Ephemeral, Message
from .base import truthy


class ResponseUrls:
    """Issued response_urls and what was posted to each (``FakeSlack`` holds the state)."""

    def new_response_url(
        self,
        kind: str,
        channel_id: str,
        user_id: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url ("commands" or "actions") the bot can ``respond()`` to."""
        with self.lock:
            self._trigger_counter += 1
            url = (
                f"{self.base_url}/{kind}/{self.team_id}/{self._trigger_counter}/"
                f"{secrets.token_urlsafe(18)}"
            )
            self._response_urls[url] = {
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
                "is_ephemeral": is_ephemeral,
            }
            self._responses[url] = []
        return url

    def responses(self, response_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._responses.get(response_url, []))

    def handle_response_url(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        with self.lock:
            ctx = self._response_urls.get(url)
            if ctx is None:
                return 404, "no_active_hooks"
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = self.validator.validate_blocks(blocks)
                if errors:
                    self._responses[url].append({**payload, "_rejected": errors})
                    return 400, "invalid_blocks"
                blocks = fill_ids(blocks)
            self._responses[url].append(payload)
            channel_id, user_id, ts = ctx["channel"], ctx["user"], ctx["message_ts"]
            text = payload.get("text") or ""
            if truthy(payload.get("delete_original")) and ts:
                if ctx["is_ephemeral"]:
                    self._ephemerals = [e for e in self._ephemerals if e.ts != ts]
                else:
                    msgs = self._messages.get(channel_id, [])
                    self._messages[channel_id] = [m for m in msgs if m.ts != ts]
            elif truthy(payload.get("replace_original")) and ts:
                if ctx["is_ephemeral"]:
                    for e in self._ephemerals:
                        if e.ts == ts:
                            e.text, e.blocks = text, blocks
                else:
                    for m in self._messages.get(channel_id, []):
                        if m.ts == ts:
                            m.text, m.blocks, m.edited = text, blocks, True
            elif payload.get("response_type") == "in_channel":
                self._messages.setdefault(channel_id, []).append(
                    Message(
                        channel_id,
                        self.next_ts(),
                        text,
                        blocks,
                        self.bot_user_id,
                        self.bot_id,
                        thread_ts=payload.get("thread_ts"),
                    )
                )
            else:
                self._ephemerals.append(
                    Ephemeral(channel_id, user_id, self.next_ts(), text, blocks)
                )
        self._notify()
        return 200, "ok"
