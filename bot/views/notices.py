"""A modal that only says something: refusals, "already saved", "this form is out of date"."""

from __future__ import annotations

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.views.text import mrkdwn, plain

NOTICE_CALLBACK = "notice"


def notice_view(title: str, text: str) -> View:
    return View(type="modal", callback_id=NOTICE_CALLBACK, title=plain(title, 24), close=plain("Close", 24),
                blocks=[SectionBlock(text=mrkdwn(text))])
