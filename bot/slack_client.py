"""The Web API client: Slack's base URL from the settings, and slack_sdk's retry handlers.

A 429 is retried after its Retry-After (Slack did not process the call), a dropped
connection and a 5xx a couple of times; everything else (``channel_not_found``,
``user_not_found``...) is an answer, not a fault to retry, and is handled by the caller.

Except for calls that create something: after a 5xx or a lost connection Slack may have
posted the message all the same (issue 14: a 500 after chat.postMessage succeeded, retried by
slack_sdk, sent one person two DMs). ``make_client`` therefore never repeats
``NOT_IDEMPOTENT`` methods on a 5xx or a dropped connection (only on a 429).

``outbox_client`` retries nothing: after a 5xx or a lost connection a message may have been
posted all the same, and re-posting blindly would send it twice; and a 429 must reach the
outbox's pacer, which holds the whole workspace for the Retry-After and slows down, instead of
one call sleeping while the others go on hitting the limit (``bot.outbox``, ``bot.pacing``). Its
calls keep their connections alive between messages (``bot.slack_http``).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack_http import KeepAliveWebClient

# Where Slack's response_urls point (bolt's respond() POSTs there). create_app adds the host of
# the configured Web API, so that a Slack stand-in (tests, the demo) answers its own.
RESPONSE_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")

# Web API methods whose repetition makes a second message, file share or pushed view.
NOT_IDEMPOTENT = frozenset({
    "chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage",
    "files.completeUploadExternal", "files.upload", "views.push",
})


def _method(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class _IdempotentOnly:
    """Mixin for a retry handler: no retry of a call in ``NOT_IDEMPOTENT``."""

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if _method(request.url) in NOT_IDEMPOTENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)  # type: ignore[misc]


class IdempotentServerErrorRetryHandler(_IdempotentOnly, ServerErrorRetryHandler):
    """slack_sdk's 500/503 retry, for calls that may be repeated."""


class IdempotentConnectionErrorRetryHandler(_IdempotentOnly, ConnectionErrorRetryHandler):
    """slack_sdk's dropped-connection retry, for calls that may be repeated."""


def make_client(base_url: str, token: str | None = None, *, timeout: int = 15) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            IdempotentConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            IdempotentServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def outbox_client(base_url: str, token: str | None = None, *, timeout: int = 15) -> WebClient:
    return KeepAliveWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])
