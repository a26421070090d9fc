"""The leaders' services on their own: the start form's checks, closing, reminding,
ratifying once per form, scoring a prospect, and the leader check's cache."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services import closing, prospects, ratification, reminders, round_launch, survey_steps
from bot.services.access import Leaders
from bot.slack_client import make_client
from bot.views.forms import RatifyMetadata
from storage import icp, rounds, workspaces
from storage.db import Database
from survey.template import load_builtin
from tests.e2e.helpers import designed_answers
from tests.fakeslack import FakeSlack

from .conftest import NOW, PEOPLE, TEAM

TEMPLATE = load_builtin("icp-core")


def _answer_all(db: Database, round_id: int) -> None:
    for i, user in enumerate(PEOPLE):
        answers = designed_answers(i)
        for section, part in enumerate(TEMPLATE.sections):
            raw = {q.id: answers[q.id] for q in part.questions if q.id in answers}
            survey_steps.record_step(db, TEAM, user, round_id, section, raw, now=NOW)


@pytest.fixture
def fake():
    slack = FakeSlack().start()
    slack.add_user("UADMIN", "admin", is_admin=True)
    slack.add_user("USTAFF", "staff")
    try:
        yield slack
    finally:
        slack.stop()


def test_start_form_errors_by_field(db):
    form = round_launch.read_start_form({
        "users": {"value": {"type": "multi_users_select", "selected_users": []}},
        "closes": {"value": {"type": "datepicker", "selected_date": "2026-03-01"}},
        "reminders": {"value": {"type": "static_select", "selected_option": {"value": "9"}}},
        "template": {"value": {"type": "static_select", "selected_option": {"value": "no-such-template"}}},
    })
    check = round_launch.check_start_form(db, TEAM, form, NOW)
    assert set(check.errors) == {"users", "closes", "reminders", "template"}
    assert "future" in check.errors["closes"]
    with db.session(read_only=True) as s:  # checking wrote nothing, not even the workspace row
        assert workspaces.get_workspace(s, TEAM) is None


def test_start_form_closes_at_five_in_the_workspace_time_zone(db):
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM)
        workspaces.update_workspace(s, TEAM, timezone="Europe/Paris")
    form = round_launch.read_start_form({
        "users": {"value": {"type": "multi_users_select", "selected_users": ["U1", "U2", "U3"]}},
        "closes": {"value": {"type": "datepicker", "selected_date": "2026-03-09"}},
    })
    check = round_launch.check_start_form(db, TEAM, form, NOW)
    assert check.errors == {}
    assert check.closes_at is not None and check.closes_at.isoformat() == "2026-03-09T17:00:00+01:00"
    assert form.template_key == "icp-core" and form.max_reminders == 2


def test_close_once_then_already_closed(db, round_id):
    first = closing.close_round(db, TEAM, None, NOW)
    assert first is not None and first.was_open and (first.completed, first.invited) == (0, 4)
    second = closing.close_round(db, TEAM, round_id, NOW)
    assert second is not None and not second.was_open
    assert closing.close_round(db, "T0OTHER", round_id, NOW) is None  # another workspace's round


def test_reminders_refused_for_a_closed_or_overdue_round(db, round_id):
    overdue = reminders.remind(db, TEAM, None, now=NOW + timedelta(days=8))
    assert overdue.refused and "past its close date" in overdue.refused and overdue.queued.queued == 0
    closing.close_round(db, TEAM, round_id, NOW)
    closed = reminders.remind(db, TEAM, round_id, now=NOW)
    assert closed.refused == f"Round {round_id} is closed, so nobody is reminded."
    assert closed.reply == closed.refused
    assert reminders.remind(db, "T0OTHER", round_id, now=NOW).round_id is None


def test_ratify_saves_one_version_per_form(db, round_id):
    _answer_all(db, round_id)
    form = ratification.ratify_form(db, TEAM, round_id)
    assert form.next_version == 1 and form.respondents == 3  # open: figures in steps of 3 finished
    raw = {"company_size": "51-200", "industry": ["software"]}
    meta = RatifyMetadata(round=round_id, template=form.template_row_id)
    saved = ratification.ratify(db, TEAM, "ULEAD", "V123", meta, raw, now=NOW)
    assert saved.version == 1 and saved.errors is None
    replay = ratification.ratify(db, TEAM, "ULEAD", "V123", meta, raw, now=NOW)
    assert replay.version is None and replay.errors is None  # already saved: no second version
    with db.session(read_only=True) as s:
        assert [v.version for v in icp.icp_history(s, TEAM)] == [1]
    bad = ratification.ratify(db, TEAM, "ULEAD", "V124", meta, {"company_size": "huge"}, now=NOW)
    assert bad.errors is not None and set(bad.errors) == {"company_size"}


def test_score_a_prospect_against_the_ratified_icp(db, round_id):
    with pytest.raises(prospects.Unavailable, match="No ICP has been ratified"):
        prospects.fit_form(db, TEAM)
    _answer_all(db, round_id)
    form = ratification.ratify_form(db, TEAM, round_id)
    meta = RatifyMetadata(round=round_id, template=form.template_row_id)
    ratification.ratify(db, TEAM, "ULEAD", "V1", meta, {"company_size": "51-200"}, now=NOW)
    fit = prospects.fit_form(db, TEAM)
    assert fit.version == 1
    scored = prospects.score_prospect(db, TEAM, 1, fit.template_row_id, {"company_size": "51-200"})
    assert scored.result is not None and scored.result.score == 100
    blank = prospects.score_prospect(db, TEAM, 1, fit.template_row_id, {"company_size": None})
    assert blank.errors == {"company_size": "Describe at least one trait of the prospect."}
    with pytest.raises(prospects.Unavailable, match="not available"):
        prospects.score_prospect(db, TEAM, 1, fit.template_row_id + 1, {"company_size": "51-200"})


def test_leader_check_is_cached_and_forgotten_on_change(db, fake):
    client = make_client(fake.api_url, fake.bot_token)
    clock = [0.0]
    leaders = Leaders(db, ttl=30, clock=lambda: clock[0])
    assert leaders.is_leader(client, TEAM, "UADMIN") is True
    assert leaders.is_leader(client, TEAM, "USTAFF") is False
    assert len(fake.calls_to("users.info")) == 2
    assert leaders.is_leader(client, TEAM, "USTAFF") is False  # cached: no call
    assert len(fake.calls_to("users.info")) == 2
    with db.session() as s:
        workspaces.add_leader(s, TEAM, "USTAFF")
    assert leaders.is_leader(client, TEAM, "USTAFF") is False  # another process's change: after the TTL
    clock[0] = 31.0
    assert leaders.is_leader(client, TEAM, "USTAFF") is True
    with db.session() as s:
        workspaces.remove_leader(s, TEAM, "USTAFF")
    leaders.forget(TEAM, "USTAFF")  # this process's change: at once
    assert leaders.is_leader(client, TEAM, "USTAFF") is False


def test_leader_cache_is_bounded(db, fake):
    """However many people are checked, the cache holds at most ``max_cached`` of them, and a
    full cache drops the expired entries before the fresh ones."""
    client = make_client(fake.api_url, fake.bot_token)
    for i in range(5):
        fake.add_user(f"UPEOPLE{i}", f"person{i}")
    clock = [0.0]
    leaders = Leaders(db, ttl=30, clock=lambda: clock[0], max_cached=3)
    for i in range(3):
        assert leaders.is_leader(client, TEAM, f"UPEOPLE{i}") is False
    assert len(leaders._cache) == 3
    clock[0] = 20.0
    assert leaders.is_leader(client, TEAM, "UADMIN") is True  # full and nothing expired: starts over
    assert list(leaders._cache) == [(TEAM, "UADMIN")]
    clock[0] = 40.0
    for i in (3, 4):  # UADMIN (20) is fresh at 40
        leaders.is_leader(client, TEAM, f"UPEOPLE{i}")
    leaders.is_leader(client, TEAM, "USTAFF")  # full: nothing expired yet, starts over
    assert list(leaders._cache) == [(TEAM, "USTAFF")]
    for i in (3, 4):
        leaders.is_leader(client, TEAM, f"UPEOPLE{i}")
    clock[0] = 71.0  # USTAFF (40) expired, the two others (40) too: all expired
    leaders.is_leader(client, TEAM, "UADMIN")
    assert list(leaders._cache) == [(TEAM, "UADMIN")]
    calls = len(fake.calls_to("users.info"))
    assert leaders.is_leader(client, TEAM, "UADMIN") is True  # the new entry is used: no call
    assert len(fake.calls_to("users.info")) == calls


def test_a_full_leader_cache_keeps_its_fresh_entries(db, fake):
    client = make_client(fake.api_url, fake.bot_token)
    clock = [0.0]
    leaders = Leaders(db, ttl=30, clock=lambda: clock[0], max_cached=2)
    leaders.is_leader(client, TEAM, "USTAFF")
    clock[0] = 25.0
    leaders.is_leader(client, TEAM, "UADMIN")
    clock[0] = 35.0  # USTAFF expired, UADMIN fresh
    fake.add_user("UNEW", "new")
    leaders.is_leader(client, TEAM, "UNEW")
    assert sorted(leaders._cache) == [(TEAM, "UADMIN"), (TEAM, "UNEW")]


def test_a_failed_users_info_never_grants_and_is_not_cached(db, fake):
    client = make_client(fake.api_url, fake.bot_token)
    leaders = Leaders(db)
    fake.fail_next("users.info", error="ratelimited_elsewhere")
    assert leaders.is_leader(client, TEAM, "UADMIN") is False
    assert leaders.is_leader(client, TEAM, "UADMIN") is True


def test_participation_counts_follow_the_steps(db, round_id):
    _answer_all(db, round_id)
    with db.session(read_only=True) as s:
        counts = rounds.participation(s, round_id)
    assert (counts.invited, counts.answered, counts.completed) == (4, 4, 4)


def test_ratify_form_shows_agreement_and_not_in_icp_drops_a_trait(db, round_id):
    from bot.views import profile_modals

    _answer_all(db, round_id)
    form = ratification.ratify_form(db, TEAM, round_id)
    assert form.agreement and all(0 <= index <= 1 for index, _ in form.agreement.values())
    view = profile_modals.ratify_view(form.template, form.profile, round_id=form.round_id,
                                      template_row_id=form.template_row_id, round_title=form.round_title,
                                      respondents=form.respondents, round_open=form.round_open,
                                      next_version=form.next_version, agreement=form.agreement).to_dict()
    size = next(b for b in view["blocks"] if b.get("block_id") == "q:company_size")
    assert size["hint"]["text"].startswith("Agreement ")
    assert profile_modals.NOT_IN_ICP in [o["value"] for o in size["element"]["options"]]
    meta = RatifyMetadata(round=round_id, template=form.template_row_id)
    raw = {"company_size": profile_modals.NOT_IN_ICP, "industry": ["software"]}
    saved = ratification.ratify(db, TEAM, "ULEAD", "V9", meta, raw, now=NOW)
    assert saved.profile is not None and saved.profile.trait("company_size") is None
    assert saved.profile.trait("industry") is not None


def test_a_prospect_may_show_more_warning_signs_than_the_survey_lets_a_person_choose(db, round_id):
    from survey.profile import score_fit

    _answer_all(db, round_id)
    form = ratification.ratify_form(db, TEAM, round_id)
    disqualifiers = TEMPLATE.question("disqualifiers")
    every_sign = [o.id for o in disqualifiers.options]
    assert disqualifiers.max_choices is not None and len(every_sign) > disqualifiers.max_choices
    result = score_fit(form.profile, TEMPLATE, {"disqualifiers": every_sign})
    assert result.disqualifiers_hit and result.score == 0


def test_invitations_wait_for_each_persons_working_hours_unless_now(db, fake):
    from datetime import UTC, datetime

    from storage import outbox
    from storage.models import OutboxMessage

    fake.add_user("U0TOKYO", "tokyo", tz="Asia/Tokyo")
    fake.add_user("U0PARIS", "paris", tz="Europe/Paris")
    fake.add_user("U0NYC", "nyc", tz="America/New_York")
    client = make_client(fake.api_url, fake.bot_token)
    # Wednesday 4 March 2026, 14:00 UTC: 23:00 in Tokyo, 15:00 in Paris, 09:00 in New York
    now = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    people = ["U0TOKYO", "U0PARIS", "U0NYC"]
    for delivery, round_title in (("working_hours", "In hours"), ("now", "Now")):
        form = round_launch.read_start_form({
            "users": {"value": {"type": "multi_users_select", "selected_users": people}},
            "title": {"value": {"type": "plain_text_input", "value": round_title}},
            "delivery": {"value": {"type": "radio_buttons", "selected_option": {"value": delivery}}},
        })
        round_id = round_launch.launch_round(db, client, team_id=TEAM, leader="UADMIN", form=form, closes_at=None,
                                             min_group_size=3, now=now, view_id=f"V-{delivery}")
        with db.session(read_only=True) as s:
            due = {m.target: m.due_at for m in s.query(OutboxMessage).filter(
                OutboxMessage.round_id == round_id, OutboxMessage.kind == "invite")}
            summary = outbox.find(s, f"{TEAM}:launch-summary:UADMIN:round-{round_id}").payload["args"]["text"]
        if delivery == "now":
            assert set(due.values()) == {now} and "working day" not in summary
        else:  # Tokyo waits for Thursday 09:00 there (00:00 UTC); Paris and New York are at work
            assert due == {"U0TOKYO": datetime(2026, 3, 5, 0, 0, tzinfo=UTC), "U0PARIS": now, "U0NYC": now}
            assert "1 gets their invitation when their working day starts" in summary
