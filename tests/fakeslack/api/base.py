"""What every Web API family shares: the error answer, argument parsing, cursors, and the
``@web_api("family.method")`` registry that routes a call to its handler."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

Handler = Callable[..., dict[str, Any]]


def web_api(method: str, *, token: bool = True) -> Callable[[Handler], Handler]:
    """Mark a family's handler for Web API ``method``; ``token=False`` for the one method that is
    authenticated by the app's client credentials instead (oauth.v2.access)."""

    def mark(fn: Handler) -> Handler:
        fn.slack_method = method  # type: ignore[attr-defined]
        fn.slack_needs_token = token  # type: ignore[attr-defined]
        return fn

    return mark


def web_api_methods(cls: type) -> dict[str, str]:
    """Web API method name -> attribute name, over ``cls`` and its families."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            method = getattr(value, "slack_method", None)
            if method:
                found[method] = name
    return found


class SlackApiFailure(Exception):
    """Raised inside a handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, messages: list[str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.messages = messages
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def json_param(value: Any, name: str) -> Any:
    """Slack accepts JSON-typed arguments either as JSON or as JSON-encoded strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SlackApiFailure(
                "invalid_arguments", [f"[ERROR] invalid JSON in `{name}` [json-pointer:/{name}]"]
            ) from exc
    return value


def truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def strip_error(error: str) -> str:
    return error.removeprefix("[ERROR] ")


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, n = base64.b64decode(cursor).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return int(n)
    except ValueError as exc:
        raise SlackApiFailure("invalid_cursor") from exc


def paginate(items: list[Any], params: dict[str, Any], default: int | None) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" on the last page), as cursor-paginated
    methods answer; ``default`` is the method's page size when no ``limit`` is given."""
    offset = decode_cursor(params.get("cursor"))
    limit_raw = params.get("limit")
    limit = int(limit_raw) if limit_raw not in (None, "", 0, "0") else default
    if limit is None:
        return items[offset:], ""
    limit = max(1, min(limit, 1000))
    page = items[offset : offset + limit]
    next_offset = offset + limit
    return page, (encode_cursor(next_offset) if next_offset < len(items) else "")
