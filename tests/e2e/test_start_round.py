"""1. A leader starts a round: the start modal, its field errors, the invitations, the summary."""

from __future__ import annotations

import json
from datetime import date, timedelta

from storage import rounds
from storage.models import RoundParticipant, SurveyRound
from tests.fakeslack import fill_view

from .helpers import (
    GONE,
    LEADER,
    OTHER_BOT,
    STAFF,
    action_ids,
    answer_round,
    button_value,
    count_rows,
    designed_answers,
    input_element,
    open_modal,
    participants,
    start_round,
)


def _summary(fake):
    """The leader's "Round N is open" DM (posted before the submission's request returned)."""
    found = [m for m in fake.messages(LEADER) if "is open" in m.text]
    assert len(found) == 1, fake.messages(LEADER)
    return found[0]


def _open_start_modal(world):
    resp = world.sim.slash(LEADER, "start")
    assert resp.status == 200
    assert resp.body == ""  # acked at once, the form opens with the trigger
    return open_modal(world.sim, LEADER, "round_start")


def test_start_invites_exactly_the_chosen_people(world):
    fake, sim = world.fake, world.sim
    view = _open_start_modal(world)
    block_ids = [b.get("block_id") for b in view.blocks]
    assert {"template", "users", "channels", "closes", "reminders"} <= set(block_ids)
    assert fake.wait_for(lambda: fake.calls_to("views.open"))[0].response["ok"] is True

    ack = sim.submit(LEADER, values={"users": STAFF, "delivery": "now"})
    assert ack.status == 200 and ack.response_action is None
    assert fake.current_view(LEADER) is None  # the form closed

    summary = _summary(fake)
    assert "Round 1," in summary.text and "10 people invited" in summary.text
    assert "could not be reached" not in summary.text

    posts = [c for c in fake.calls_to("chat.postMessage") if c.response.get("ok")]
    invited = [c.params["channel"] for c in posts if c.params["channel"] != LEADER]
    assert sorted(invited) == sorted(STAFF)  # one each, nobody else
    for user in STAFF:
        dm = fake.messages(user)
        assert len(dm) == 1, user
        assert {"survey_start", "survey_snooze"} <= set(action_ids(dm[0].blocks))
        assert button_value(dm[0].blocks, "survey_start") == "1"
    # the leader got only the summary, no invitation
    assert [m for m in fake.messages(LEADER) if "survey_start" in action_ids(m.blocks)] == []
    for other in (OTHER_BOT, "USLACKBOT", GONE, fake.bot_user_id):
        assert fake.messages(other) == []

    people = participants(world.db, 1)
    assert set(people) == set(STAFF)
    assert all(p.invite_ts and p.dm_channel == "D" + u for u, p in people.items())


def test_bots_slackbot_and_deactivated_are_left_out(world):
    fake, sim = world.fake, world.sim
    _open_start_modal(world)
    chosen = [*STAFF, OTHER_BOT, "USLACKBOT", GONE, fake.bot_user_id]
    ack = sim.submit(LEADER, values={"users": chosen, "delivery": "now"})
    assert ack.response_action is None
    summary = _summary(fake)
    assert "10 people invited" in summary.text
    assert "4 bots or deactivated accounts were left out" in summary.text
    invited = {c.params["channel"] for c in fake.calls_to("chat.postMessage")} - {LEADER}
    assert invited == set(STAFF)
    assert set(participants(world.db, 1)) == set(STAFF)


def test_leader_invited_only_when_chosen(world):
    fake, sim = world.fake, world.sim
    _open_start_modal(world)
    sim.submit(LEADER, values={"users": [LEADER, *STAFF[:3]], "delivery": "now"})
    _summary(fake)
    assert "survey_start" in action_ids(fake.messages(LEADER)[0].blocks)
    assert set(participants(world.db, 1)) == {LEADER, *STAFF[:3]}


def test_start_form_errors(world):
    fake, sim = world.fake, world.sim
    view = _open_start_modal(world)

    ack = sim.submit(LEADER, values={})  # no audience at all
    assert ack.response_action == "errors"
    assert set(ack.errors) == {"users"}
    assert "people" in ack.errors["users"].lower()
    assert fake.current_view(LEADER).id == view.id  # the form stays open

    yesterday = (date.today() - timedelta(days=1)).isoformat()
    ack = sim.submit(LEADER, values={"users": STAFF, "closes": yesterday})
    assert ack.response_action == "errors"
    assert set(ack.errors) == {"closes"}
    assert "future" in ack.errors["closes"]

    ack = sim.submit(LEADER, values={"closes": yesterday})
    assert ack.response_action == "errors" and set(ack.errors) == {"users", "closes"}

    assert count_rows(world.db, SurveyRound) == 0
    assert count_rows(world.db, RoundParticipant) == 0
    assert fake.calls_to("chat.postMessage") == []


def test_audience_from_users_info_when_users_list_fails(world):
    """users.list refused (a proxy, a workspace that will not list its members): each chosen
    person is looked up with users.info instead, and only they are; the round asks the humans."""
    fake, sim = world.fake, world.sim
    _open_start_modal(world)
    fake.fail_next("users.list", error="internal_error", times=5)
    nobody = "U0NOBODY"  # not in the workspace: users.info answers user_not_found
    chosen = [*STAFF[:4], OTHER_BOT, "USLACKBOT", GONE, nobody]
    ack = sim.submit(LEADER, values={"users": chosen, "delivery": "now"})
    assert ack.response_action is None
    summary = _summary(fake)
    assert "4 people invited" in summary.text
    assert "4 bots or deactivated accounts were left out" in summary.text

    assert [c.response.get("error") for c in fake.calls_to("users.list")] == ["internal_error"]
    looked_up = [c.params.get("user") for c in fake.calls_to("users.info") if c.params.get("user") != LEADER]
    assert sorted(looked_up) == sorted(chosen)  # each chosen person once, nobody else
    invited = {c.params["channel"] for c in fake.calls_to("chat.postMessage")} - {LEADER}
    assert invited == set(STAFF[:4])
    assert set(participants(world.db, 1)) == set(STAFF[:4])


def test_team_from_a_user_group_prefills_the_team_question(world):
    fake, sim = world.fake, world.sim
    fake.add_usergroup("S0SALES", "sales", STAFF[:5])
    fake.add_usergroup("S0SUPP", "support-crew", STAFF[5:])
    round_id = start_round(fake, sim, STAFF, team_groups=["S0SALES", "S0SUPP"])
    with world.db.session() as session:
        teams = {p.user_id: p.team for p in rounds.list_participants(session, round_id)}
    assert teams == {**dict.fromkeys(STAFF[:5], "sales"), **dict.fromkeys(STAFF[5:], "support-crew")}
    for user, expected in ((STAFF[0], "sales"), (STAFF[6], None)):
        answers = {k: v for k, v in designed_answers(0).items() if k != "team"}
        view = answer_round(sim, fake, user, answers, stop_after=4, expect_done=False)  # the last step
        element = input_element(view, "team")
        chosen = (element.get("initial_option") or {}).get("value")
        assert chosen == expected  # "support-crew" is no option of the team question: asked, not guessed


def test_forged_start_form_values_are_refused_before_anything_starts(world):
    """Values no form offered (a hand-made payload) get field errors, not a crash after the ack."""
    fake, sim = world.fake, world.sim
    view = _open_start_modal(world)
    state = fill_view(view, {"users": STAFF, "delivery": "now"})
    state["template"]["value"]["selected_option"] = {"value": "no-such-template",
                                                     "text": {"type": "plain_text", "text": "x"}}
    state["reminders"]["value"]["selected_option"] = {"value": "99", "text": {"type": "plain_text", "text": "x"}}
    view.state_values = state
    payload = {"type": "view_submission", "team": {"id": fake.team_id}, "user": {"id": LEADER},
               "api_app_id": fake.app_id, "trigger_id": fake.new_trigger_id(LEADER), "view": view.to_api()}
    response = sim.send_interactive(payload)
    assert response.status == 200
    ack = json.loads(response.body)
    assert ack["response_action"] == "errors" and set(ack["errors"]) == {"template", "reminders"}
    assert count_rows(world.db, SurveyRound) == 0
    assert fake.calls_to("chat.postMessage") == []
