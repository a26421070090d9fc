"""Launching a round from the leader's start form: who is asked, the round, the invitations.

``read_start_form`` reads the form's fields out of ``view.state.values``; ``launch_round``
runs once the submission is acked: it resolves the audience (humans only), refuses a round
too small to show any figure, creates the round and its participants, sends the
invitations and tells the leader by DM what happened. The listener only parses, validates,
acks and hands over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.pacing import Pacer
from bot.services import rounds as round_service
from bot.views import leader_modals
from bot.views.text import escape
from storage import rounds, templates
from storage.db import Database

DEFAULT_TEMPLATE = "icp-core"
DEFAULT_REMINDERS = 2


@dataclass(frozen=True)
class StartForm:
    """The start-a-round form as the leader filled it in (values as Slack sent them)."""

    title: str | None = None
    users: list[str] = field(default_factory=list)
    usergroups: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    team_groups: list[str] = field(default_factory=list)
    reminders: str | None = None
    template: str | None = None
    closes: str | None = None  # ISO date, as the date picker sends it

    @property
    def has_audience(self) -> bool:
        return bool(self.users or self.usergroups or self.channels)

    @property
    def template_key(self) -> str:
        return self.template or DEFAULT_TEMPLATE

    @property
    def max_reminders(self) -> int:
        return int(self.reminders or DEFAULT_REMINDERS)

    def round_title(self, now: datetime) -> str:
        return (self.title or "").strip() or f"ICP survey {now:%B %Y}"


def _element(state_values: dict, block: str) -> dict:
    element = state_values.get(block, {}).get(leader_modals.VALUE, {})
    return element if isinstance(element, dict) else {}


def read_start_form(state_values: dict) -> StartForm:
    """The start form's fields from ``view.state.values``, by block id."""
    selected = {block: _element(state_values, block).get("selected_option") or {}
                for block in ("reminders", "template")}
    return StartForm(
        title=_element(state_values, "title").get("value"),
        users=list(_element(state_values, "users").get("selected_users") or []),
        usergroups=[o.get("value") for o in _element(state_values, "usergroups").get("selected_options") or []],
        channels=list(_element(state_values, "channels").get("selected_conversations") or []),
        team_groups=[o.get("value") for o in _element(state_values, "team_groups").get("selected_options") or []],
        reminders=selected["reminders"].get("value"),
        template=selected["template"].get("value"),
        closes=_element(state_values, "closes").get("selected_date"),
    )


def launch_round(db: Database, client: WebClient, *, team_id: str, leader: str, form: StartForm,
                 closes_at: datetime | None, min_group_size: int, now: datetime,
                 pacer: Pacer | None = None) -> int | None:
    """Start the round the leader asked for and DM them the outcome; the new round's id,
    or None when it was not started (the audience could not be read, or is too small)."""
    try:
        audience = round_service.resolve_audience(
            client, users=form.users, usergroups=form.usergroups, channels=form.channels,
            team_groups=form.team_groups)
    except SlackApiError as exc:
        error = exc.response.get("error")
        hint = " Add ICP Align to the private channel first." if error in ("not_in_channel", "channel_not_found") else ""
        client.chat_postMessage(channel=leader, text=f"I could not read the audience of your round ({error}).{hint}")
        return None
    if len(audience.user_ids) < min_group_size:
        client.chat_postMessage(channel=leader, text=(
            f"The round was not started: it would ask {len(audience.user_ids)} people, and figures are only "
            f"shown for groups of {min_group_size} or more. Choose more people and try again."))
        return None
    title = form.round_title(now)
    with db.session() as session:
        stored = templates.latest_template(session, team_id, form.template_key)
        rnd = rounds.create_round(session, team_id, stored.id, title=title, created_by=leader,
                                  audience=audience.description, closes_at=closes_at,
                                  max_reminders=form.max_reminders)
        rounds.add_participants(session, rnd.id, list(audience.teams.items()))
        round_id = rnd.id
    outcome = round_service.send_invitations(db, client, round_id, pacer)
    client.chat_postMessage(channel=leader, text=launch_summary(round_id, title, outcome, audience))
    return round_id


def launch_summary(round_id: int, title: str, outcome: round_service.FanOut,
                   audience: round_service.Audience) -> str:
    """The leader's DM once a round is open: how many were invited, reached and left out."""
    text = f"Round {round_id}, *{escape(title)}*, is open: {outcome.sent} people invited."
    if outcome.unreachable:
        text += f" {len(outcome.unreachable)} could not be reached by DM (deactivated or unknown)."
    if audience.skipped:
        text += f" {audience.skipped} bots or deactivated accounts were left out."
    return text + " Follow it with `/icp-check status`."
