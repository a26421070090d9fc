"""App Home: what a person sees in the bot's Home tab, and publishing it.

Published when the person opens the tab, and again after something they did changed it
(their answers, a round they started, a reminder, a new ICP version).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.runtime import Runtime
from bot.services.profiles import load_icp
from bot.services.reporting import score_trend
from bot.views import home_tab, leader_messages, report_blocks
from storage import answers, rounds, templates

log = logging.getLogger(__name__)


def build_home(runtime: Runtime, client: WebClient, team_id: str, user_id: str) -> View:
    leader = runtime.leaders.is_leader(client, team_id, user_id)
    with runtime.db.session(read_only=True) as session:
        loaded = load_icp(session, team_id)
        profile, template = (loaded[0], loaded[1].template) if loaded else (None, None)
        open_round = rounds.open_round_for(session, team_id)
        own = None
        leader_blocks = None
        minutes = None
        if open_round is not None:
            minutes = templates.get_template(session, open_round.template_id).minutes
            participant = rounds.get_participant(session, open_round.id, user_id)
            if participant is not None:
                state = "done" if participant.completed_at else (
                    "started" if answers.answers_of(session, open_round.id, user_id) else "new")
                own = (open_round.id, open_round.title, state)
            if leader:
                counts = rounds.participation(session, open_round.id)
                leader_blocks = report_blocks.status_blocks(
                    round_id=open_round.id, title=open_round.title, invited=counts.invited,
                    started=counts.answered - counts.completed, completed=counts.completed,
                    closes_at=open_round.closes_at, status=open_round.status, can_remind=True,
                    now=runtime.now())
    scores = score_trend(runtime.db, team_id)
    return home_tab.home_view(profile_blocks=report_blocks.profile_blocks(profile, template), scores=scores,
                              own_round=own, leader_blocks=leader_blocks, is_leader=leader, minutes=minutes,
                              round_buttons=[leader_messages.close_button(open_round.id, open_round.title)]
                              if open_round is not None and leader else None)


def publish_home(runtime: Runtime, client: WebClient, team_id: str | None, user_id: str) -> None:
    if not team_id:
        return
    try:
        client.views_publish(user_id=user_id, view=build_home(runtime, client, team_id, user_id))
    except SlackApiError as exc:
        log.info("could not publish App Home: %s", exc.response.get("error"))


def publish_home_later(runtime: Runtime, client: WebClient, team_id: str | None, user_id: str) -> None:
    """``publish_home`` on the after-ack worker, coalesced per person (``Runtime.after_ack``):
    for a listener on the survey's hot path, whose ack must not wait behind App Home."""
    if team_id:
        runtime.after_ack.submit(("home", team_id, user_id), lambda: publish_home(runtime, client, team_id, user_id))
