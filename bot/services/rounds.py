"""Running a round: who is asked, the invitation fan-out, reminders, closing.

Every DM that must go out once is claimed in the sent-messages log under a unique key
(``invite:<round>:<user>``, ``remind:<round>:<user>:<n>``) before it is sent, so a retried
request, a double click or a second process never sends it twice. Fan-out is paced to
Slack's posting rate; people Slack cannot reach (deactivated, unknown) are skipped and
counted for the leader, never retried forever.

Who is human comes from users.list (one Tier 2 call per 200 members). Where users.list
is refused or fails (a proxy that does not pass it, a workspace that does not allow it,
an outage), each wanted person is looked up with users.info instead (Tier 4, paced at
``USERS_INFO_PER_MINUTE``), never the whole workspace: deleted accounts, bots and Slackbot
are not humans, and someone users.info cannot find is not reachable, so left out like them.
Any other users.info error is raised, and the round is not started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.pacing import Pacer, TokenBucket
from bot.services.delivery import claim_or_take_over, record_failure
from bot.views import messages
from storage import answers as answer_store
from storage import messages as sent_log
from storage import rounds, templates
from storage.db import Database

log = logging.getLogger(__name__)

NOT_FOUND = {"user_not_found", "user_not_visible"}
"""users.info errors that mean the person cannot be reached: left out of the audience."""
USERS_INFO_PER_MINUTE = 100  # Tier 4
USERS_INFO_BURST = 20

@dataclass
class Audience:
    """The people a round asks, each with a team when the leader assigned one."""

    user_ids: list[str]
    teams: dict[str, str | None] = field(default_factory=dict)
    description: dict = field(default_factory=dict)
    skipped: int = 0


def _paginate(method, key: str, **kwargs) -> list:
    items: list = []
    cursor = None
    while True:
        response = method(cursor=cursor, limit=200, **kwargs) if cursor else method(limit=200, **kwargs)
        items += response.get(key, [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return items


def _is_human(user: dict) -> bool:
    """An active person: not deleted, not a bot, not Slackbot (whom Slack lists with is_bot false)."""
    return not user.get("deleted") and not user.get("is_bot") and user.get("id") != "USLACKBOT"


def _humans_listed(client: WebClient) -> set[str]:
    """Active human members of the workspace (users.list, paginated: one call per 200)."""
    return {m["id"] for m in _paginate(client.users_list, "members") if _is_human(m)}


def _humans_looked_up(client: WebClient, wanted: list[str]) -> set[str]:
    """The active humans among ``wanted``, one users.info call each, paced to Tier 4."""
    bucket = TokenBucket(USERS_INFO_PER_MINUTE / 60, USERS_INFO_BURST)
    humans: set[str] = set()
    for user_id in wanted:
        bucket.wait()
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:
                continue
            raise
        if _is_human(user):
            humans.add(user_id)
    return humans


def _humans_among(client: WebClient, wanted: list[str]) -> set[str]:
    """The active humans among ``wanted``: from users.list, or users.info per wanted person
    when users.list fails."""
    try:
        return _humans_listed(client) & set(wanted)
    except SlackApiError as exc:
        log.warning("users.list failed (%s); users.info for each of the %d people asked",
                    exc.response.get("error"), len(wanted))
    return _humans_looked_up(client, wanted)


def _group_members(client: WebClient, usergroup: str) -> list[str]:
    return list(client.usergroups_users_list(usergroup=usergroup).get("users", []))


def usergroup_handles(client: WebClient) -> dict[str, str]:
    """Usergroup id -> handle, for team labels."""
    groups = client.usergroups_list().get("usergroups", [])
    return {g["id"]: g.get("handle") or g.get("name") or g["id"] for g in groups}


def resolve_audience(client: WebClient, *, users: list[str], usergroups: list[str], channels: list[str],
                     team_groups: list[str]) -> Audience:
    """The round's audience: named users, user groups' and channels' members, humans only.

    ``team_groups`` are user groups whose handle becomes the team of their members (the
    first group listed wins); people in none of them answer the team question themselves.
    """
    wanted: list[str] = list(users)
    for group in usergroups:
        wanted += _group_members(client, group)
    for channel in channels:
        wanted += _paginate(client.conversations_members, "members", channel=channel)
    unique = list(dict.fromkeys(u for u in wanted if u))
    humans = _humans_among(client, unique)
    user_ids = [u for u in unique if u in humans]
    handles = usergroup_handles(client) if team_groups else {}
    teams: dict[str, str | None] = dict.fromkeys(user_ids)
    for group in reversed(team_groups):
        handle = handles.get(group, group)
        for member in _group_members(client, group):
            if member in teams:
                teams[member] = handle
    return Audience(
        user_ids=user_ids,
        teams=teams,
        description={"users": len(users), "usergroups": usergroups, "channels": channels, "team_groups": team_groups},
        skipped=len(unique) - len(user_ids),
    )


@dataclass
class FanOut:
    sent: int = 0
    already: int = 0
    unreachable: list[str] = field(default_factory=list)
    failed: int = 0

    def count_failure(self, user_id: str, unreachable: bool, what: str, exc: SlackApiError) -> None:
        if unreachable:
            self.unreachable.append(user_id)
        else:
            self.failed += 1
            log.warning("%s failed: %s", what, exc.response.get("error"))


def send_invitations(db: Database, client: WebClient, round_id: int, pacer: Pacer | None = None) -> FanOut:
    """DM every participant not yet invited; idempotent (claimed per person)."""
    outcome = FanOut()
    with db.session() as session:
        rnd = rounds.require_round(session, round_id)
        template = templates.get_template(session, rnd.template_id)
        pending = [p.user_id for p in rounds.uninvited_participants(session, round_id)]
    for user_id in pending:
        key = f"invite:{round_id}:{user_id}"
        if not claim_or_take_over(db, key, kind="invite", team_id=rnd.team_id, target=user_id):
            outcome.already += 1
            continue
        if pacer:
            pacer.wait(f"{rnd.team_id}:chat.postMessage")
        text, blocks = messages.invite_blocks(round_id, rnd.title, template.minutes, rnd.closes_at)
        try:
            response = client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        except SlackApiError as exc:
            outcome.count_failure(user_id, record_failure(db, key, exc), f"invitation of round {round_id}", exc)
            continue
        with db.session() as session:
            sent_log.mark_sent(session, key, channel=response["channel"], ts=response["ts"])
            rounds.mark_invited(session, round_id, user_id, dm_channel=response["channel"], ts=response["ts"])
        outcome.sent += 1
    return outcome


def send_reminders(db: Database, client: WebClient, round_id: int, *, now: datetime,
                   pacer: Pacer | None = None, only_due: bool = False) -> FanOut:
    """Remind those who have not finished: at most ``max_reminders`` each, never after close.

    A leader's ``/icp-check remind`` reminds everyone pending at once; the scheduler passes
    ``only_due`` to remind only those whose last contact is ``reminder_interval_hours`` old.
    Both share the keys ``remind:<round>:<user>:<n>``, so they never double a reminder.
    """
    outcome = FanOut()
    with db.session() as session:
        rnd = rounds.require_round(session, round_id)
        if not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= now):
            return outcome
        template = templates.get_template(session, rnd.template_id)
        if only_due:
            pending = rounds.due_for_reminder(session, round_id, now)
        else:
            pending = [p for p in rounds.pending_participants(session, round_id)
                       if p.reminders_sent < rnd.max_reminders]
        started = {p.user_id for p in pending if answer_store.answers_of(session, round_id, p.user_id)}
    for participant in pending:
        user_id = participant.user_id
        key = f"remind:{round_id}:{user_id}:{participant.reminders_sent + 1}"
        if not claim_or_take_over(db, key, kind="reminder", team_id=rnd.team_id, target=user_id, now=now):
            outcome.already += 1
            continue
        if pacer:
            pacer.wait(f"{rnd.team_id}:chat.postMessage")
        text, blocks = messages.reminder_blocks(round_id, rnd.title, template.minutes, rnd.closes_at,
                                                started=user_id in started)
        try:
            response = client.chat_postMessage(channel=participant.dm_channel or user_id, text=text, blocks=blocks)
        except SlackApiError as exc:
            outcome.count_failure(user_id, record_failure(db, key, exc), f"reminder of round {round_id}", exc)
            continue
        with db.session() as session:
            sent_log.mark_sent(session, key, channel=response["channel"], ts=response["ts"], at=now)
            rounds.record_reminder(session, round_id, user_id, at=now)
        outcome.sent += 1
    return outcome


def refresh_invitations_after_close(db: Database, client: WebClient, round_id: int, pacer: Pacer | None = None) -> int:
    """Turn every invitation and receipt of a closed round into a closed notice (no buttons)."""
    with db.session() as session:
        rnd = rounds.require_round(session, round_id)
        targets = [(p.dm_channel, p.invite_ts, p.completed_at is not None)
                   for p in rounds.list_participants(session, round_id) if p.invite_ts and p.dm_channel]
    updated = 0
    for channel, ts, completed in targets:
        if pacer:
            pacer.wait(f"{rnd.team_id}:chat.update")
        if completed:
            text, blocks = messages.receipt_blocks(round_id, rnd.title, rnd.closes_at, open_=False)
        else:
            text, blocks = messages.closed_blocks(rnd.title)
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            updated += 1
        except SlackApiError as exc:
            log.info("could not update an invitation after close: %s", exc.response.get("error"))
    return updated
