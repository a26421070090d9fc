"""Who a round asks: the people, user groups and channels a leader chose, humans only.

Who is human comes from users.list (one Tier 2 call per 200 members). Where users.list
is refused or fails (a proxy that does not pass it, a workspace that does not allow it,
an outage), each wanted person is looked up with users.info instead (Tier 4, paced at
``USERS_INFO_PER_MINUTE``), never the whole workspace: deleted accounts, bots and Slackbot
are not humans, and someone users.info cannot find is not reachable, so left out like them.
Any other users.info error is raised, and the round is not started.

An audience of user groups (and a few named people) needs no users.list at all when the
round does not need everyone's time zone (invitations sent now, not in working hours): Slack
keeps only active members in a user group, so each group's members are read once
(usergroups.users.list, Tier 2) and the named people are looked up with users.info. The first
invitation then goes out after a handful of calls, not after ``N / 200`` Tier 2 pages. A
member Slack cannot reach after all is given up by the outbox and counted in the leader's
"could not be delivered" DM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.pacing import TIERS, TokenBucket

log = logging.getLogger(__name__)

NOT_FOUND = {"user_not_found", "user_not_visible"}
"""users.info errors that mean the person cannot be reached: left out of the audience."""
USERS_INFO_PER_MINUTE = 100  # Tier 4
USERS_INFO_BURST = 20
LOOKUP_LIMIT = USERS_INFO_BURST  # more named people than this: one users.list is cheaper


@dataclass
class Audience:
    """The people a round asks, each with a team when the leader assigned one."""

    user_ids: list[str]
    teams: dict[str, str | None] = field(default_factory=dict)
    time_zones: dict[str, str | None] = field(default_factory=dict)  # Slack's ``tz`` of each person
    description: dict = field(default_factory=dict)
    skipped: int = 0


def _tier(tier: int) -> TokenBucket:
    """A bucket at a Web API tier's documented rate and burst (``bot.pacing.TIERS``): one
    launch's users.list pages and group reads; a 429 beyond it is retried after its
    Retry-After by the client (``bot.slack_client``)."""
    limit = TIERS[tier]
    return TokenBucket(limit.per_minute / 60, limit.burst)


def _paginate(method, key: str, bucket: TokenBucket | None = None, **kwargs) -> list:
    items: list = []
    cursor = None
    while True:
        if bucket is not None:
            bucket.wait()
        response = method(cursor=cursor, limit=200, **kwargs) if cursor else method(limit=200, **kwargs)
        items += response.get(key, [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return items


def _is_human(user: dict) -> bool:
    """An active person: not deleted, not a bot, not Slackbot (whom Slack lists with is_bot false)."""
    return not user.get("deleted") and not user.get("is_bot") and user.get("id") != "USLACKBOT"


def _humans_listed(client: WebClient) -> dict[str, str | None]:
    """Active human members of the workspace and their time zones (users.list, paginated:
    one call per 200)."""
    return {m["id"]: m.get("tz") for m in _paginate(client.users_list, "members", _tier(2)) if _is_human(m)}


def _humans_looked_up(client: WebClient, wanted: list[str]) -> dict[str, str | None]:
    """The active humans among ``wanted`` and their time zones, one users.info call each,
    paced to Tier 4."""
    bucket = TokenBucket(USERS_INFO_PER_MINUTE / 60, USERS_INFO_BURST)
    humans: dict[str, str | None] = {}
    for user_id in wanted:
        bucket.wait()
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:
                continue
            raise
        if _is_human(user):
            humans[user_id] = user.get("tz")
    return humans


def _humans_among(client: WebClient, wanted: list[str]) -> dict[str, str | None]:
    """The active humans among ``wanted`` and their time zones: from users.list, or users.info
    per wanted person when users.list fails."""
    try:
        listed = _humans_listed(client)
        return {user: listed[user] for user in wanted if user in listed}
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
                     team_groups: list[str], need_time_zones: bool = True) -> Audience:
    """The round's audience: named users, user groups' and channels' members, humans only.

    ``team_groups`` are user groups whose handle becomes the team of their members (the
    first group listed wins); people in none of them answer the team question themselves.
    Without ``need_time_zones``, an audience of user groups and at most ``LOOKUP_LIMIT`` named
    people is read without users.list (the groups' members' time zones are then unknown: None).
    """
    members: dict[str, list[str]] = {}  # each user group fetched once
    group_reads = _tier(2)

    def group_members(group: str) -> list[str]:
        if group not in members:
            group_reads.wait()
            members[group] = _group_members(client, group)
        return members[group]

    wanted: list[str] = list(users)
    for group in usergroups:
        wanted += group_members(group)
    for channel in channels:
        wanted += _paginate(client.conversations_members, "members", channel=channel)
    unique = list(dict.fromkeys(u for u in wanted if u))
    if not need_time_zones and usergroups and not channels and len(users) <= LOOKUP_LIMIT:
        named = _humans_looked_up(client, list(dict.fromkeys(users))) if users else {}
        in_groups = set(unique) - set(users)
        humans = {**dict.fromkeys(in_groups), **named}
    else:
        humans = _humans_among(client, unique)
    user_ids = [u for u in unique if u in humans]
    handles = usergroup_handles(client) if team_groups else {}
    teams: dict[str, str | None] = dict.fromkeys(user_ids)
    for group in reversed(team_groups):
        handle = handles.get(group, group)
        for member in group_members(group):
            if member in teams:
                teams[member] = handle
    return Audience(
        user_ids=user_ids,
        teams=teams,
        time_zones={user: humans[user] for user in user_ids},
        description={"users": len(users), "usergroups": usergroups, "channels": channels, "team_groups": team_groups},
        skipped=len(unique) - len(user_ids),
    )
