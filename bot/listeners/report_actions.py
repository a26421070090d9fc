"""Buttons on a status message or a report: remind those who have not finished, and post
the report to the channel it was asked in."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.guards import leaders_only
from bot.middleware import Requester
from bot.payloads import BlockAction
from bot.runtime import Runtime
from bot.services import reminders, reporting
from bot.services.home import publish_home
from bot.services.reporting import round_report
from bot.views import report_blocks
from bot.views.forms import read_row_id
from bot.views.text import escape

log = logging.getLogger(__name__)

POST_HINTS = {"not_in_channel": "invite @ICP Align to the channel first",
              "channel_not_found": "invite @ICP Align to the channel first",
              "is_archived": "the channel is archived"}


def _tell(block_action: BlockAction, client: WebClient, respond: Respond, text: str) -> None:
    """Answer where the click came from: a status message has a response_url; App Home has none."""
    if block_action.response_url:
        respond(response_type="ephemeral", replace_original=False, text=text)
    else:
        client.chat_postMessage(channel=block_action.user.id, text=text)


@leaders_only("send reminders")
def remind_clicked(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
                   client: WebClient, respond: Respond) -> None:
    round_id = read_row_id(block_action.action.value)
    action_ts = block_action.action.action_ts
    if round_id is None or not action_ts:
        log.warning("refused a malformed remind click")
        return
    if not reminders.first_click(runtime.db, requester.team_id, requester.user_id, action_ts, runtime.now()):
        log.warning("a remind click replayed (action_ts %s) was ignored", action_ts)
        return
    outcome = reminders.remind(runtime.db, requester.team_id, round_id, now=runtime.now(),
                               requested_by=requester.user_id)
    if outcome.queued.queued:
        runtime.outbox.kick()
    if outcome.refused and outcome.round_id is None:
        return  # not a round of this workspace, or closed: nothing to say to a stale button
    _tell(block_action, client, respond, outcome.reply)
    if not block_action.response_url:
        publish_home(runtime, client, requester.team_id, requester.user_id)


@leaders_only("post reports")
def post_report(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
                client: WebClient, respond: Respond) -> None:
    round_text, _, channel = (block_action.action.value or "").partition(":")
    round_id = read_row_id(round_text)
    if round_id is None or not channel:
        log.warning("refused a malformed post-report click")
        return
    result = round_report(runtime.db, requester.team_id, round_id)
    if result is None:
        return
    if not reporting.claim_post(runtime.db, requester.team_id, round_id, channel, requester.user_id, runtime.now()):
        respond(response_type="ephemeral", replace_original=False,
                text="This report is already in the channel: it is posted once.")
        return
    blocks = report_blocks.report_blocks(result.report, result.round.title, previous_score=result.previous_score,
                                         for_channel=True)
    try:
        client.chat_postMessage(channel=channel, text=f"ICP alignment report: {escape(result.round.title)}",
                                blocks=blocks)
    except SlackApiError as exc:
        reporting.release_post(runtime.db, requester.team_id, round_id, channel)  # not posted: may be tried again
        error = exc.response.get("error")
        hint = POST_HINTS.get(error, error)
        respond(response_type="ephemeral", replace_original=False, text=f"Could not post the report: {hint}.")
        return
    respond(response_type="ephemeral", replace_original=False, text="Posted the report to the channel.")


def register(app: App) -> None:
    app.action(report_blocks.REMIND)(remind_clicked)
    app.action(report_blocks.POST_REPORT)(post_report)
