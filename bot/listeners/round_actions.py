"""Buttons on `/icp-check help` and `/icp-check close`: a round's status, and closing it
once Slack's confirmation dialog was accepted (the dialog is the button's ``confirm``, so
a click only arrives after "Close round" was pressed in it)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.guards import leaders_only
from bot.middleware import Requester
from bot.payloads import BlockAction
from bot.runtime import Runtime
from bot.services import closing
from bot.services.home import publish_home
from bot.views import leader_messages, report_blocks
from bot.views.forms import read_row_id
from bot.views.text import escape
from storage import rounds

log = logging.getLogger(__name__)


@leaders_only("close rounds")
def close_confirmed(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
                    client: WebClient, respond: Respond) -> None:
    round_id = read_row_id(block_action.action.value)
    if round_id is None:
        log.warning("refused a malformed close click")
        return
    closed = closing.close_round(runtime.db, requester.team_id, round_id, runtime.now())
    if closed is None:
        return  # not a round of this workspace: nothing to say to a forged button
    if not closed.was_open:
        text = f"Round {closed.round_id} was already closed."
    else:
        text = leader_messages.closed_by_leader(closed.round_id, closed.title, closed.completed, closed.invited)
    if block_action.response_url:
        respond(response_type="ephemeral", replace_original=True, text=text)
    else:
        client.chat_postMessage(channel=requester.user_id, text=text)
    if closed.was_open:
        runtime.outbox.kick()  # the closed notices, queued with the close
        publish_home(runtime, client, requester.team_id, requester.user_id)


@leaders_only("see a round's status")
def status_clicked(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
                   client: WebClient, respond: Respond) -> None:
    round_id = read_row_id(block_action.action.value)
    if round_id is None or not block_action.response_url:
        return
    with runtime.db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id)
        if rnd is None or rnd.team_id != requester.team_id:
            return
        counts = rounds.participation(session, rnd.id)
    blocks = report_blocks.status_blocks(
        round_id=rnd.id, title=rnd.title, invited=counts.invited, started=counts.answered - counts.completed,
        completed=counts.completed, closes_at=rnd.closes_at, status=rnd.status, can_remind=True, now=runtime.now())
    respond(response_type="ephemeral", replace_original=False, blocks=blocks,
            text=f"{escape(rnd.title)}: {counts.completed} of {counts.invited} finished")


def register(app: App) -> None:
    app.action(leader_messages.CLOSE_ROUND)(close_confirmed)
    app.action(leader_messages.STATUS)(status_clicked)
