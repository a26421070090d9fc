"""Replays and doubles: what Slack (or someone) sends twice happens once."""

from __future__ import annotations

import json

from storage.models import SurveyRound
from tests.fakeslack.client import fill_view

from .helpers import LEADER, STAFF, command, count_rows, open_modal, participants
from .leader_steps import close_round
from .test_access import _remind_payload


def _start_payload(fake, sim, users):
    assert sim.slash(LEADER, "start").status == 200
    view = open_modal(sim, LEADER, "round_start")
    view.state_values = fill_view(view, {"users": users, "delivery": "now", "title": "<!channel> Q1 <@U0STAFF01>"})
    return {"type": "view_submission", "team": {"id": fake.team_id}, "user": {"id": LEADER},
            "api_app_id": fake.app_id, "trigger_id": fake.new_trigger_id(LEADER), "view": view.to_api()}


def test_the_same_start_form_twice_starts_one_round(world):
    fake, sim, db = world.fake, world.sim, world.db
    payload = _start_payload(fake, sim, STAFF[:4])
    assert sim.send_interactive(payload).status == 200
    fake.wait_for(lambda: any("is open" in m.text for m in fake.messages(LEADER)), timeout=15)
    assert sim.send_interactive(json.loads(json.dumps(payload))).status == 200
    assert count_rows(db, SurveyRound) == 1
    invitations = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") in STAFF]
    assert sorted(c.params["channel"] for c in invitations) == sorted(STAFF[:4])


def test_a_round_title_never_pings_in_a_notification(world):
    fake, sim = world.fake, world.sim
    sim.send_interactive(_start_payload(fake, sim, STAFF[:4]))
    fake.wait_for(lambda: any("is open" in m.text for m in fake.messages(LEADER)), timeout=15)
    for call in fake.calls_to("chat.postMessage"):
        assert "<!channel>" not in call.params.get("text", ""), call.params["text"]
        assert "<@U0STAFF01>" not in call.params.get("text", ""), call.params["text"]
    status = command(fake, sim, LEADER, "status")
    assert "<!channel>" not in status["text"]


def test_a_replayed_remind_click_spends_no_second_reminder(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    command(fake, sim, LEADER, "status")
    eph = fake.wait_for(lambda: fake.ephemerals(LEADER))[-1]
    payload = _remind_payload(fake, LEADER, eph.ts, "D" + LEADER, str(open_round))
    sim.send_interactive(payload)
    fake.wait_for(lambda: fake.responses(payload["response_url"]), timeout=10)
    sim.send_interactive(payload)  # the same click again, byte for byte
    assert all(p.reminders_sent == 1 for p in participants(db, open_round).values())


def test_an_event_slack_retries_is_handled_once(world):
    fake, sim = world.fake, world.sim
    event = {"type": "app_home_opened", "user": STAFF[0], "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000100"}
    first = sim.send_event(dict(event))
    assert first.status == 200
    fake.wait_for(lambda: fake.calls_to("views.publish"), timeout=10)
    retried = sim.send_event(dict(event), retry_num=1)
    assert retried.status == 200
    assert len(fake.calls_to("views.publish")) == 1


def test_post_to_this_channel_posts_once_and_without_quotes(world, open_round, answer_round):
    from .helpers import designed_answers

    fake, sim = world.fake, world.sim
    fake.add_channel("C0LEAD", "leadership", members=[LEADER])
    for i, user in enumerate(STAFF[:6]):
        answer_round(sim, fake, user, {**designed_answers(i), "ideal_customer": f"QUOTE-{i} software firms"})
    close_round(fake, sim, open_round)
    resp = sim.slash(LEADER, "report", channel="C0LEAD")
    report = fake.wait_for(lambda: (fake.responses(resp.response_url) or [None])[0])
    assert "QUOTE-" in str(report["blocks"])  # the leader's own ephemeral report has the quotes
    button = next(el for b in report["blocks"] if b.get("type") == "actions" for el in b["elements"]
                  if el["action_id"] == "report_post")
    eph = fake.ephemerals(LEADER)[-1]
    for _ in range(2):
        payload = _remind_payload(fake, LEADER, eph.ts, "C0LEAD", button["value"])
        payload["actions"][0].update(action_id="report_post", block_id="report_actions")
        assert sim.send_interactive(payload).status == 200
        fake.wait_for(lambda p=payload: fake.responses(p["response_url"]), timeout=10)
    posts = fake.messages("C0LEAD")
    assert len(posts) == 1 and "QUOTE-" not in str(posts[0].blocks)
    assert fake.responses(payload["response_url"])[0]["text"] == "This report is already in the channel: it is posted once."


def test_remind_me_later_plans_one_reminder_and_touches_only_the_own_invitation(world, open_round):
    from bot.outbox import OutboxSender
    from bot.slack_client import outbox_client
    from storage import outbox as outbox_store
    from storage.models import OutboxMessage

    from .helpers import message_with

    fake, sim, db = world.fake, world.sim, world.db
    user, other = STAFF[0], STAFF[1]
    invitation = message_with(fake, user, "survey_snooze")
    others = message_with(fake, other, "survey_snooze")
    before = {c.params.get("ts") for c in fake.calls_to("chat.update")}
    # a hand-made click that points at someone else's message: only the clicker's own is updated
    sim.click(user, {"channel": others.channel, "ts": others.ts, "blocks": invitation.blocks}, "survey_snooze")
    updated = [c.params for c in fake.calls_to("chat.update") if c.params.get("ts") not in before]
    assert [(u["channel"], u["ts"]) for u in updated] == [(invitation.channel, invitation.ts)]
    assert "I will remind you" in str(updated[0]["blocks"])
    sim.click(user, message_with(fake, user, "survey_snooze"), "survey_snooze")  # twice: still one reminder
    with db.session(read_only=True) as s:
        planned = s.query(OutboxMessage).filter(OutboxMessage.kind == "remind-later").all()
        assert len(planned) == 1 and planned[0].target == user and planned[0].status == "pending"
        due = planned[0].due_at
    client = outbox_client(fake.api_url, fake.bot_token)
    sent_before = len(fake.messages(user))
    OutboxSender(db, lambda team: client, clock=lambda: due, inline=True).drain()
    assert len(fake.messages(user)) == sent_before + 1 and "Reminder" in fake.messages(user)[-1].text
    with db.session(read_only=True) as s:
        assert outbox_store.pending_count(s, kind="remind-later") == 0
