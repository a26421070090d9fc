"""A logging filter that keeps answers, tokens and secrets out of the logs.

bolt logs request bodies at INFO in a few places (a request with a bad signature, an
unsuccessful Socket Mode result, a middleware that did not call next): a body holds answer
texts, user ids and response_urls. The filter rewrites those known lines without the body,
withholds any other payload dump that reaches INFO, and masks Slack tokens, secrets and
response_urls in every record (tracebacks included) at every level.

It is a handler filter, not a logger filter, because records propagated from child loggers
(``slack_bolt.App``, ``uvicorn.error``) skip the filters of the loggers they propagate to.
"""

from __future__ import annotations

import logging
import re

# Slack tokens: bot/user/app/refresh/config tokens (xoxb-, xoxp-, xapp-, xoxe.xoxp-, xoxe-...).
_TOKEN = re.compile(r"\bx(?:ox[a-z]|app|oxe(?:\.xox[a-z])?)-[A-Za-z0-9-]+")
# "client_secret": "...", signing_secret=..., 'refresh_token': '...', token=...
_SECRET_FIELD = re.compile(
    r"""(?P<key>['"]?\b(?:client_secret|signing_secret|[a-z_]*token|password|encryption_key)['"]?\s*[:=]\s*)"""
    r"""(?P<q>['"]?)(?P<value>[^'"\s,&})]+)""",
    re.IGNORECASE,
)
_RESPONSE_URL = re.compile(r"https://hooks\.slack\.com/\S+?(?=['\"\s,)}]|$)")
# bolt's own lines that embed a whole request body (slack_bolt 1.x, f-strings: no args)
_BODY_LINES = (
    (re.compile(r"^Invalid request signature detected .*", re.DOTALL),
     "Invalid request signature detected (signature, timestamp and body withheld)"),
    (re.compile(r"^(Unsuccessful Bolt execution result \(status: \d+), body: .*", re.DOTALL),
     r"\1, body withheld)"),
    (re.compile(r"^(A global middleware \(.*?\) skipped .*? for the request) \(.*", re.DOTALL),
     r"\1 (body withheld)"),
    (re.compile(r"^(Request body|request body): .*", re.DOTALL, ), r"\1 withheld"),
)
# what a Slack payload dump looks like: any of these keys in a dict's repr or JSON
_PAYLOAD_KEYS = re.compile(
    r"""['"](?:state|values|view|response_url|trigger_id|submission|user_id|text|private_metadata|blocks)['"]\s*:"""
)
WITHHELD = "{…withheld…}"


def redact(text: str) -> str:
    """``text`` with tokens, secret fields and response_urls masked."""
    text = _TOKEN.sub("xox…redacted", text)
    text = _SECRET_FIELD.sub(lambda m: f"{m['key']}{m['q']}…redacted", text)
    return _RESPONSE_URL.sub("https://hooks.slack.com/…redacted", text)


def _withhold_payloads(text: str) -> str:
    """Replace each outermost {...} holding Slack payload keys with a placeholder."""
    out, depth, start, last = [], 0, -1, 0
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0 and _PAYLOAD_KEYS.search(text, start, i):
                out.append(text[last:start])
                out.append(WITHHELD)
                last = i + 1
    if depth and start >= 0 and _PAYLOAD_KEYS.search(text, start):  # a truncated dump
        out.append(text[last:start])
        out.append(WITHHELD)
        last = len(text)
    out.append(text[last:])
    return "".join(out)


class PrivacyFilter(logging.Filter):
    """Rewrites each record in place (message and traceback); never drops one."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: leave it to logging's own error report
            return True
        for pattern, replacement in _BODY_LINES:
            message = pattern.sub(replacement, message)
        if record.levelno >= logging.INFO:
            message = _withhold_payloads(message)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(handler: logging.Handler) -> PrivacyFilter:
    """Add the filter to ``handler`` (once) and return it."""
    for existing in handler.filters:
        if isinstance(existing, PrivacyFilter):
            return existing
    privacy = PrivacyFilter()
    handler.addFilter(privacy)
    return privacy
