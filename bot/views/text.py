"""Text helpers for Block Kit: Slack's length limits and mrkdwn escaping.

Anything a person typed (answers, names) is escaped before it goes into mrkdwn, so that
``<!channel>``, ``<@U123>`` or a link in an answer never pings or unfurls anyone.
"""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def escape(text: str) -> str:
    """Escape user text for mrkdwn (Slack's three control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, limit))


def date_token(timestamp: float, fallback: str, fmt: str = "{date_short_pretty} at {time}") -> str:
    """Slack's date formatting token: shown in each reader's own timezone."""
    return f"<!date^{int(timestamp)}^{fmt}|{fallback}>"
