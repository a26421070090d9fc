"""files.getUploadURLExternal, the upload URL, files.completeUploadExternal (upload v2)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from ..workspace import Message, slack_id
from .base import SlackApiFailure, json_param, web_api

MAX_ALT_TXT = 1000  # files.getUploadURLExternal: alt_txt_too_large beyond it


class FilesApi:
    """Uploaded files (``FakeSlack`` holds ``files`` and ``_upload_tokens``)."""

    @web_api("files.getUploadURLExternal")
    def files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or length in (None, ""):
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] missing required field: filename/length"]
            )
        if len(params.get("alt_txt") or "") > MAX_ALT_TXT:
            raise SlackApiFailure("alt_txt_too_large")
        file_id = slack_id("F", 10)
        token = secrets.token_urlsafe(16)
        self._upload_tokens[token] = file_id
        self.files[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "length": int(length),
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "content": None,
            "completed": False,
            "channels": [],
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{token}", "file_id": file_id}

    @web_api("files.completeUploadExternal")
    def files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json_param(params.get("files") or "[]", "files")
        if not isinstance(files, list) or not files:
            raise SlackApiFailure("invalid_arguments", ["[ERROR] missing required field: files"])
        channel_ids: list[str] = []
        if params.get("channel_id"):
            channel_ids.append(params["channel_id"])
        if params.get("channels"):
            channel_ids.extend(c for c in str(params["channels"]).split(",") if c)
        channels = [self.channel_for_post(c) for c in channel_ids]
        thread_ts = params.get("thread_ts") or None
        if thread_ts:  # "provide only one channel when using thread_ts", and a parent's ts
            if len(channels) != 1:
                raise SlackApiFailure("invalid_arguments", ["[ERROR] thread_ts needs exactly one channel"])
            parent = self.find_message(channels[0].id, thread_ts)
            if parent.thread_ts and parent.thread_ts != parent.ts:
                raise SlackApiFailure("invalid_thread_ts")
        records = []
        for item in files:
            record = self.files.get(item.get("id")) if isinstance(item, dict) else None
            if record is None or record["content"] is None:
                raise SlackApiFailure("file_not_found")
            if item.get("title"):
                record["title"] = item["title"]
            record["completed"] = True
            records.append(record)
        out = [
            {
                "id": r["id"],
                "created": int(time.time()),
                "name": r["name"],
                "title": r["title"],
                "size": len(r["content"]),
                "user": self.bot_user_id,
                "mimetype": "image/png" if r["name"].endswith(".png") else "application/octet-stream",
                **({"alt_txt": r["alt_txt"]} if r.get("alt_txt") else {}),
            }
            for r in records
        ]
        for channel in channels:
            for r in records:
                r["channels"].append(channel.id)
            message = Message(
                channel=channel.id,
                ts=self.next_ts(),
                text=params.get("initial_comment") or "",
                blocks=None,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                files=out,
            )
            self._messages.setdefault(channel.id, []).append(message)
        return {"ok": True, "files": out}

    def handle_upload(self, token: str, data: bytes) -> tuple[int, str]:
        with self.lock:
            file_id = self._upload_tokens.pop(token, None)
            if file_id is None:
                return 404, "not_found"
            self.files[file_id]["content"] = data
        self._notify()
        return 200, f"OK - {len(data)}"
