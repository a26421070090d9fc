"""Starting a round from the leader's start form: checked, then the round and its invitations.

``read_start_form`` reads the form's fields; ``check_start_form`` answers the field errors
Slack shows in the form, or the close time, before the ack; ``launch_round`` runs once the
submission is acked: it resolves the audience (humans only), refuses a round too small to
show any figure, creates the round and its participants in one unit of work, sends the
invitations and tells the leader by DM what happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import audience, fanout
from bot.views import leader_messages, leader_modals
from bot.views.forms import read_state
from bot.working_hours import WorkingHours, next_working_moment, zone
from storage import outbox, rounds, send_log, templates, workspaces
from storage.db import Database

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "icp-core"
DEFAULT_REMINDERS = 2
REMINDER_CHOICES = ("0", "1", "2", "3")
CLOSE_HOUR = 17  # rounds close at 17:00 in the workspace's time zone


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
    delivery: str | None = None  # "working_hours" (the default where hours are set) or "now"

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


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def read_start_form(state_values: object) -> StartForm:
    """The start form's fields from ``view.state.values``, by block id."""
    values = read_state(state_values, leader_modals.VALUE)
    return StartForm(
        title=_string(values.get("title")),
        users=_strings(values.get("users")),
        usergroups=_strings(values.get("usergroups")),
        channels=_strings(values.get("channels")),
        team_groups=_strings(values.get("team_groups")),
        reminders=_string(values.get("reminders")),
        template=_string(values.get("template")),
        closes=_string(values.get("closes")),
        delivery=_string(values.get("delivery")),
    )


@dataclass(frozen=True)
class StartCheck:
    """Field errors by block id, or the close time of a form that can be launched."""

    errors: dict[str, str]
    closes_at: datetime | None = None
    min_group_size: int = 3


def check_start_form(db: Database, team_id: str, form: StartForm, now: datetime) -> StartCheck:
    """What is wrong with the form, field by field (read-only)."""
    errors: dict[str, str] = {}
    if not form.has_audience:
        errors["users"] = "Choose people, user groups or channels to ask."
    with db.session(read_only=True) as session:
        settings = workspaces.settings_of(session, team_id)
        template_ok = templates.is_available(session, team_id, form.template_key)
    closes_at = None
    try:
        close_on = date.fromisoformat(form.closes or "")
    except ValueError:
        errors["closes"] = "Choose the day the round closes."
    else:
        closes_at = datetime(close_on.year, close_on.month, close_on.day, CLOSE_HOUR, 0, tzinfo=settings.tz)
        if closes_at <= now:
            errors["closes"] = "The close date must be in the future."
    if form.reminders not in (None, *REMINDER_CHOICES):
        errors["reminders"] = "Choose how many reminders to send."
    if form.delivery not in (None, leader_modals.DELIVERY_WORKING_HOURS, leader_modals.DELIVERY_NOW):
        errors["delivery"] = "Choose when the invitations go out."
    if not template_ok:
        errors["template"] = "That template is not available any more; choose another."
    return StartCheck(errors=errors, closes_at=closes_at, min_group_size=settings.min_group_size)


def already_launched(db: Database, view_id: str) -> bool:
    with db.session(read_only=True) as session:
        return send_log.get(session, f"start:{view_id}") is not None


def launch_round(db: Database, client: WebClient, *, team_id: str, leader: str, form: StartForm,
                 closes_at: datetime | None, min_group_size: int, now: datetime, view_id: str) -> int | None:
    """Start the round the leader asked for: the round, its participants, their invitations and
    the leader's summary DM commit together (the caller kicks the outbox); the new round's id,
    or None when it was not started (the audience could not be read, or is too small: the
    leader is told at once; or this form ``view_id`` already started one: a replay)."""
    if already_launched(db, view_id):
        log.warning("a start form submitted again (view %s) was ignored", view_id)
        return None
    with db.session(read_only=True) as session:
        settings = workspaces.settings_of(session, team_id)
    hours = None
    if settings.working_hours and form.delivery != leader_modals.DELIVERY_NOW:
        hours = WorkingHours.parse(settings.working_hours)
    try:  # everyone's time zone only where the invitations wait for each one's working hours
        asked = audience.resolve_audience(
            client, users=form.users, usergroups=form.usergroups, channels=form.channels,
            team_groups=form.team_groups, need_time_zones=hours is not None)
    except SlackApiError as exc:
        client.chat_postMessage(channel=leader, text=leader_messages.audience_unreadable(exc.response.get("error")))
        return None
    if len(asked.user_ids) < min_group_size:
        client.chat_postMessage(channel=leader,
                                text=leader_messages.audience_too_small(len(asked.user_ids), min_group_size))
        return None
    title = form.round_title(now)
    due = {user: next_working_moment(now, zone(asked.time_zones.get(user), settings.timezone), hours) if hours else now
           for user in asked.user_ids}
    later = sum(1 for moment in due.values() if moment > now)
    with db.session() as session:  # the round, its people and every message it must send, or nothing
        if not send_log.claim(session, f"start:{view_id}", kind="start", team_id=team_id, target=leader, at=now):
            return None  # the same form, submitted twice at the same moment
        workspaces.get_or_create_workspace(session, team_id)
        stored = templates.latest_template(session, team_id, form.template_key)
        rnd = rounds.create_round(session, team_id, stored.id, title=title, created_by=leader,
                                  audience=asked.description, closes_at=closes_at,
                                  max_reminders=form.max_reminders, opened_at=now)
        rounds.add_participants(session, rnd.id, list(asked.teams.items()), time_zones=asked.time_zones)
        fanout.enqueue_invitations(session, rnd, stored.template, asked.user_ids, notify_user=leader, now=now,
                                   due=due)
        outbox.enqueue(session, key=f"{team_id}:launch-summary:{leader}:round-{rnd.id}", team_id=team_id,
                       kind="launch-summary", method="chat.postMessage", target=leader, round_id=rnd.id, at=now,
                       payload={"args": {"channel": leader, "text": leader_messages.launch_summary(
                           rnd.id, title, len(asked.user_ids), later, asked.skipped)}})
        round_id = rnd.id
    return round_id


def start_form_choices(db: Database, client: WebClient, team_id: str,
                       now: datetime) -> tuple[dict[str, str], dict[str, str], date, str | None]:
    """What the start form offers (read-only): templates, user groups, today in the
    workspace's time zone, and its working hours (None: off)."""
    with db.session(read_only=True) as session:
        settings = workspaces.settings_of(session, team_id)
        choices = templates.template_choices(session, team_id)
    try:
        groups = audience.usergroup_handles(client)
    except SlackApiError:
        groups = {}
    return choices, groups, now.astimezone(settings.tz).date(), settings.working_hours
