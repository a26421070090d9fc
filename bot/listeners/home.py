"""App Home: published when a person opens the tab; its leader buttons."""

from __future__ import annotations

import re

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.listeners.guards import leaders_only, open_view
from bot.listeners.round_commands import open_start_modal
from bot.middleware import Requester
from bot.payloads import BlockAction
from bot.runtime import Runtime
from bot.services.home import publish_home
from bot.services.reporting import round_report
from bot.views import home_tab, report_blocks
from bot.views.text import mrkdwn, plain

# Slack's ids are upper-case letters and digits; anything else (a lone surrogate, NUL, a
# number) is a forged event and must not reach a query.
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,40}")
_TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,40}")


def home_opened(event: dict, body: dict, runtime: Runtime, client: WebClient) -> None:
    user, team_id = event.get("user"), body.get("team_id")
    if event.get("tab", "home") != "home" or not isinstance(user, str) or not _USER_ID.fullmatch(user):
        return
    team_ok = isinstance(team_id, str) and _TEAM_ID.fullmatch(team_id)
    publish_home(runtime, client, team_id if team_ok else None, user)


@leaders_only("start rounds")
def home_start(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
               client: WebClient) -> None:
    if block_action.trigger_id:
        open_start_modal(runtime, client, requester.team_id, block_action.trigger_id)


@leaders_only("read reports")
def home_report(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
                client: WebClient) -> None:
    if not block_action.trigger_id:
        return
    result = round_report(runtime.db, requester.team_id, None)
    if result is None:
        blocks = [SectionBlock(text=mrkdwn("There is no survey round yet."))]
    else:
        blocks = report_blocks.report_blocks(result.report, result.round.title, previous_score=result.previous_score,
                                             for_channel=False)
    open_view(client, block_action.trigger_id, View(
        type="modal", title=plain("Alignment report", 24), close=plain("Close", 24), blocks=blocks), "App Home's report")


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(home_tab.HOME_START)(home_start)
    app.action(home_tab.HOME_REPORT)(home_report)
