"""The Web API client: Slack's base URL from the settings, and slack_sdk's retry handlers.

A 429 is retried after its Retry-After (Slack did not process the call), a dropped
connection and a 5xx a couple of times; everything else (``channel_not_found``,
``user_not_found``...) is an answer, not a fault to retry, and is handled by the caller.

``outbox_client`` retries nothing: after a 5xx or a lost connection a message may have been
posted all the same, and re-posting blindly would send it twice; and a 429 must reach the
outbox's pacer, which holds the whole workspace for the Retry-After and slows down, instead of
one call sleeping while the others go on hitting the limit (``bot.outbox``, ``bot.pacing``).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def make_client(base_url: str, token: str | None = None, *, timeout: int = 15) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def outbox_client(base_url: str, token: str | None = None, *, timeout: int = 15) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])
