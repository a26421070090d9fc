"""App Home: published when a person opens the tab, and refreshed after their answers or a
new round change what it shows."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.deps import Deps
from bot.listeners.commands import open_start_modal
from bot.services import access
from bot.services.profiles import load_icp
from bot.services.reporting import round_report, score_trend
from bot.views import home_tab, report_blocks
from bot.views.text import mrkdwn, plain
from storage import answers as answer_store
from storage import rounds

log = logging.getLogger(__name__)


def build_home(deps: Deps, client: WebClient, team_id: str, user_id: str) -> View:
    leader = access.is_leader(deps.db, client, team_id, user_id)
    with deps.db.session(read_only=True) as session:
        loaded = load_icp(session, team_id)
        profile, template = (loaded[0], loaded[1].template) if loaded else (None, None)
        open_round = rounds.open_round_for(session, team_id)
        own = None
        leader_blocks = None
        if open_round is not None:
            participant = rounds.get_participant(session, open_round.id, user_id)
            if participant is not None:
                state = "done" if participant.completed_at else (
                    "started" if answer_store.answers_of(session, open_round.id, user_id) else "new")
                own = (open_round.id, open_round.title, state)
            if leader:
                counts = rounds.participation(session, open_round.id)
                leader_blocks = report_blocks.status_blocks(
                    round_id=open_round.id, title=open_round.title, invited=counts.invited,
                    started=counts.answered - counts.completed, completed=counts.completed,
                    closes_at=open_round.closes_at, status=open_round.status, can_remind=True)
    scores = score_trend(deps.db, team_id)
    return home_tab.home_view(profile_blocks=report_blocks.profile_blocks(profile, template), scores=scores,
                              own_round=own, leader_blocks=leader_blocks, is_leader=leader)


def publish_home(deps: Deps, client: WebClient, team_id: str | None, user_id: str) -> None:
    if not team_id:
        return
    try:
        client.views_publish(user_id=user_id, view=build_home(deps, client, team_id, user_id))
    except SlackApiError as exc:
        log.info("could not publish App Home: %s", exc.response.get("error"))


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        publish_home(deps, client, body.get("team_id"), event["user"])

    @app.action(home_tab.HOME_START)
    def home_start(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        action = access.leader_click(deps.db, client, body)
        if action is None or not action.trigger_id:
            return
        open_start_modal(deps.db, client, action.team_id or "", action.trigger_id)

    @app.action(home_tab.HOME_REPORT)
    def home_report(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        action = access.leader_click(deps.db, client, body)
        if action is None or not action.trigger_id:
            return
        result = round_report(deps.db, action.team_id or "", None)
        if result is None:
            blocks = [SectionBlock(text=mrkdwn("There is no survey round yet."))]
        else:
            blocks = report_blocks.report_blocks(result.report, result.round.title,
                                                 previous_score=result.previous_score)
        client.views_open(trigger_id=action.trigger_id, view=View(
            type="modal", title=plain("Alignment report", 24), close=plain("Close", 24), blocks=blocks))
