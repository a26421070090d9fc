"""Who a round asks, and what it costs in Slack calls: a user-group audience whose invitations
go out now is read with one usergroups.users.list per group and no users.list."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.services.audience import resolve_audience
from tests.fakeslack import FakeSlack

STAFF = [f"U0AUD{i:02d}" for i in range(8)]


@pytest.fixture
def fake():
    slack = FakeSlack(socket_mode=False).start()
    for user in STAFF:
        slack.add_user(user, user.lower(), tz="Europe/Paris")
    slack.add_user("U0GONE", "gone", deleted=True)
    slack.add_user("U0ROBOT", "robot", is_bot=True)
    slack.add_usergroup("S0SALES", "sales", STAFF[:5])
    slack.add_usergroup("S0SUPP", "support", STAFF[4:])
    try:
        yield slack
    finally:
        slack.stop()


def _client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


def test_user_groups_sent_now_need_no_users_list_and_each_group_is_read_once(fake):
    asked = resolve_audience(_client(fake), users=["U0GONE", "U0ROBOT", STAFF[0]], usergroups=["S0SALES", "S0SUPP"],
                             channels=[], team_groups=["S0SALES", "S0SUPP"], need_time_zones=False)
    assert asked.user_ids == [STAFF[0], *STAFF[1:]]  # the named bot and deactivated account left out
    assert asked.skipped == 2
    assert asked.teams[STAFF[4]] == "sales" and asked.teams[STAFF[7]] == "support"  # the first group wins
    assert fake.calls_to("users.list") == []
    assert sorted(c.params["usergroup"] for c in fake.calls_to("usergroups.users.list")) == ["S0SALES", "S0SUPP"]
    assert {c.params["user"] for c in fake.calls_to("users.info")} == {"U0GONE", "U0ROBOT", STAFF[0]}


def test_working_hours_need_everyones_time_zone_from_users_list(fake):
    asked = resolve_audience(_client(fake), users=[], usergroups=["S0SALES"], channels=[], team_groups=[],
                             need_time_zones=True)
    assert asked.user_ids == STAFF[:5]
    assert set(asked.time_zones.values()) == {"Europe/Paris"}
    assert len(fake.calls_to("users.list")) == 1 and len(fake.calls_to("usergroups.users.list")) == 1
