"""A StrategyCheck pulse answered with one click in its DM."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.middleware import Requester
from bot.payloads import BlockAction
from bot.runtime import Runtime
from bot.services import pulses
from bot.views import pulse_messages
from bot.views.forms import read_row_id

log = logging.getLogger(__name__)

ANSWER_ACTION = re.compile(rf"^{pulse_messages.ANSWER}:\d{{1,2}}$")


def pulse_answered(ack: Ack, block_action: BlockAction, requester: Requester, runtime: Runtime,
                   client: WebClient) -> None:
    ack()
    round_text, _, value = (block_action.action.value or "").partition(":")
    round_id = read_row_id(round_text)
    if round_id is None or not value:
        log.warning("refused a malformed pulse answer")
        return
    try:
        answered = pulses.record_answer(runtime.db, requester.team_id, requester.user_id, round_id, value,
                                        runtime.now())
    except pulses.NoPulse as exc:
        client.chat_postMessage(channel=requester.user_id, text=str(exc))
        return
    if answered.invitation is None:
        return
    channel, ts = answered.invitation  # the person's own pulse DM, never what the payload points at
    text, blocks = pulse_messages.answered_blocks(round_id, answered.prompt, answered.chosen, answered.shares,
                                                  answered.min_group_size, answered.options)
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.info("could not update a pulse DM: %s", exc.response.get("error"))


def register(app: App) -> None:
    app.action(ANSWER_ACTION)(pulse_answered)
