"""8. Scheduled housekeeping: rounds past their close date are closed once, with closed notices
and one DM to the creator; due reminders go out on their interval, at most max_reminders each,
never to a finisher and never after close. Driven with a controlled ``now``: nothing sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import update

from bot.housekeeping import (
    HousekeepingResult,
    app_client_for_team,
    installation_client_for_team,
    run_housekeeping,
)
from bot.scheduler import JOB_ID, housekeeping_lock, run_once, start_scheduler
from storage import send_log
from storage.db import Database
from storage.models import SurveyRound
from storage.slack_oauth import installation_store

from .helpers import (
    LEADER,
    STAFF,
    TEAM,
    action_ids,
    answer_round,
    blocks_text,
    designed_answers,
    participants,
    round_status,
)


def _invited_at(db: Database, round_id: int) -> datetime:
    """T: when the round's invitations went out (one instant for the whole audience)."""
    times = {p.invited_at for p in participants(db, round_id).values()}
    assert len(times) == 1
    return times.pop()


def _set_round(db: Database, round_id: int, **values) -> None:
    with db.session() as s:
        s.execute(update(SurveyRound).where(SurveyRound.id == round_id).values(**values))


def _posts(fake, since: int = 0) -> list:
    return fake.calls_to("chat.postMessage")[since:]


def _run_in_threads(db, clients, now, n: int = 2) -> list[HousekeepingResult]:
    """``n`` runs started together, as from replicas without the advisory lock."""
    barrier = threading.Barrier(n)
    results: list[HousekeepingResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(run_housekeeping(db, clients, now))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == n
    return results


def _leader_notices(fake, round_id: int) -> list:
    return [m for m in fake.messages(LEADER) if f"/icp-check report {round_id}" in m.text
            and "finished" in m.text and "closed" in m.text]


# -- closing ---------------------------------------------------------------------------------


def test_a_round_past_its_close_date_is_closed_once(world, app, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    clients = app_client_for_team(app.client)
    finished, pending = STAFF[:3], STAFF[3:]
    for i, user in enumerate(finished):
        answer_round(sim, fake, user, designed_answers(i))
    t0 = _invited_at(db, open_round)
    closes_at = t0 + timedelta(hours=24)
    _set_round(db, open_round, closes_at=closes_at)

    # before the close date nothing is closed (and nobody is due a reminder yet)
    result = run_housekeeping(db, clients, now=closes_at - timedelta(minutes=1))
    assert result.closed == [] and result.sent == 0
    assert round_status(db, open_round) == "open"

    updates_before, posts_before = len(fake.calls_to("chat.update")), len(_posts(fake))
    result = run_housekeeping(db, clients, now=closes_at + timedelta(minutes=5))
    assert result.closed == [open_round]
    assert (result.invitations_updated, result.creator_notices, result.reminders) == (10, 1, 0)
    assert result.errors == [] and result.failed == 0
    assert round_status(db, open_round) == "closed"
    with db.session(read_only=True) as s:
        assert s.get(SurveyRound, open_round).closed_at == closes_at  # closed at its close date

    # every invitation and receipt is now a closed notice, without buttons
    updates = fake.calls_to("chat.update")[updates_before:]
    assert sorted(c.params["channel"] for c in updates) == sorted("D" + u for u in STAFF)
    for user in pending:
        invitation = fake.messages(user)[0]
        assert "is closed" in invitation.text and action_ids(invitation.blocks) == []
    for user in finished:
        receipt = fake.messages(user)[0]
        assert "The round is closed" in blocks_text(receipt.blocks) and action_ids(receipt.blocks) == []

    # the creator is told once, and nobody else is DMed
    posts = _posts(fake, posts_before)
    assert [c.params["channel"] for c in posts] == [LEADER]
    notices = _leader_notices(fake, open_round)
    assert len(notices) == 1
    assert f"3 of 10 finished; see /icp-check report {open_round}" in notices[0].text

    # a second run, and two at once, send nothing more
    updates_before, posts_before = len(fake.calls_to("chat.update")), len(_posts(fake))
    again = run_housekeeping(db, clients, now=closes_at + timedelta(minutes=10))
    assert again.closed == [] and again.sent == 0
    for r in _run_in_threads(db, clients, closes_at + timedelta(hours=1)):
        assert r.closed == [] and r.sent == 0 and r.errors == []
    assert len(fake.calls_to("chat.update")) == updates_before
    assert len(_posts(fake)) == posts_before
    assert len(_leader_notices(fake, open_round)) == 1


def test_two_concurrent_runs_close_a_round_once(world, app, open_round):
    fake, db = world.fake, world.db
    clients = app_client_for_team(app.client)
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)
    updates_before = len(fake.calls_to("chat.update"))

    results = _run_in_threads(db, clients, closes_at + timedelta(minutes=1))

    assert sorted(len(r.closed) for r in results) == [0, 1]
    assert sum(r.invitations_updated for r in results) == 10
    assert sum(r.creator_notices for r in results) == 1
    assert all(r.errors == [] for r in results)
    assert len(fake.calls_to("chat.update")) - updates_before == 10
    assert len(_leader_notices(fake, open_round)) == 1
    assert "0 of 10 finished" in _leader_notices(fake, open_round)[0].text


def test_a_failed_close_notice_is_retried_by_the_next_run(world, app, open_round):
    fake, db = world.fake, world.db
    clients = app_client_for_team(app.client)
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)

    fake.fail_next("chat.postMessage", error="internal_error")
    first = run_housekeeping(db, clients, closes_at + timedelta(minutes=1))
    assert first.closed == [open_round] and first.creator_notices == 0 and first.failed == 1
    assert _leader_notices(fake, open_round) == []

    second = run_housekeeping(db, clients, closes_at + timedelta(minutes=6))
    assert second.closed == [] and second.creator_notices == 1 and second.invitations_updated == 0
    assert len(_leader_notices(fake, open_round)) == 1
    third = run_housekeeping(db, clients, closes_at + timedelta(minutes=11))
    assert third.sent == 0
    with db.session(read_only=True) as s:
        assert send_log.get(s, f"closed-notice:{open_round}").status == "sent"
        assert send_log.get(s, f"closed:{open_round}").status == "sent"


# -- reminders -------------------------------------------------------------------------------


def test_due_reminders_follow_the_interval_and_the_limit(world, app, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    clients = app_client_for_team(app.client)
    finished, pending = STAFF[:2], STAFF[2:]
    for i, user in enumerate(finished):
        answer_round(sim, fake, user, designed_answers(i))
    started = pending[0]  # has answered a section, not finished
    answer_round(sim, fake, started, designed_answers(2), stop_after=1, expect_done=False)
    sim.close_view(started)
    _set_round(db, open_round, closes_at=None)  # open until a leader closes it
    with db.session(read_only=True) as s:
        rnd = s.get(SurveyRound, open_round)
        assert (rnd.reminder_interval_hours, rnd.max_reminders) == (48, 2)
    t0 = _invited_at(db, open_round)

    def run_at(hours: float) -> tuple[HousekeepingResult, list]:
        before = len(_posts(fake))
        result = run_housekeeping(db, clients, now=t0 + timedelta(hours=hours))
        assert result.errors == [] and result.failed == 0 and result.closed == []
        return result, _posts(fake, before)

    result, posts = run_at(47)
    assert result.reminders == 0 and posts == []

    result, posts = run_at(49)
    assert result.reminders == 8
    assert sorted(c.params["channel"] for c in posts) == sorted("D" + u for u in pending)
    assert {u: p.reminders_sent for u, p in participants(db, open_round).items()} == {
        u: (1 if u in pending else 0) for u in STAFF}
    assert "pick up where you left off" in blocks_text(fake.messages(started)[-1].blocks)
    assert "pick up where you left off" not in blocks_text(fake.messages(pending[1])[-1].blocks)

    # the next run 5 minutes later, and two at once later still, remind nobody (48 h since)
    result, posts = run_at(49 + 5 / 60)
    assert result.reminders == 0 and posts == []
    before = len(_posts(fake))
    assert sum(r.reminders for r in _run_in_threads(db, clients, t0 + timedelta(hours=96))) == 0
    assert _posts(fake, before) == []

    # 48 h after the first reminder: the second, again to the non-finishers only, even when
    # two runs race for it
    before = len(_posts(fake))
    results = _run_in_threads(db, clients, t0 + timedelta(hours=100))
    assert sum(r.reminders for r in results) == 8
    assert sum(r.already for r in results) <= 8
    posts = _posts(fake, before)
    assert sorted(c.params["channel"] for c in posts) == sorted("D" + u for u in pending)
    assert all(p.reminders_sent == (2 if u in pending else 0) for u, p in participants(db, open_round).items())

    # max_reminders = 2: never a third
    for hours in (150, 200, 500):
        result, posts = run_at(hours)
        assert result.reminders == 0 and posts == []
    assert all(len(fake.messages(u)) == 3 for u in pending)  # invitation + 2 reminders
    assert all(len(fake.messages(u)) == 1 for u in finished)  # the receipt only


def test_no_reminder_after_close(world, app, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    clients = app_client_for_team(app.client)
    answer_round(sim, fake, STAFF[0], designed_answers(0))
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=t0 + timedelta(hours=60))

    before = len(_posts(fake))
    assert run_housekeeping(db, clients, t0 + timedelta(hours=49)).reminders == 9
    # the second reminder would be due at T+97h, but the round closed at T+60h
    result = run_housekeeping(db, clients, t0 + timedelta(hours=100))
    assert result.closed == [open_round] and result.reminders == 0
    assert run_housekeeping(db, clients, t0 + timedelta(hours=200)).sent == 0
    staff_posts = [c for c in _posts(fake, before) if c.params["channel"] != LEADER]
    assert len(staff_posts) == 9
    assert all(p.reminders_sent == (0 if u == STAFF[0] else 1)
               for u, p in participants(db, open_round).items())


def test_a_manual_reminder_counts_for_the_schedule(world, app, open_round):
    """``/icp-check remind`` and the scheduler share keys and counts: no double reminder."""
    from bot.services.fanout import send_reminders

    fake, db = world.fake, world.db
    clients = app_client_for_team(app.client)
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=None)
    assert send_reminders(db, app.client, open_round, now=t0 + timedelta(hours=10)).sent == 10
    before = len(_posts(fake))
    assert run_housekeeping(db, clients, t0 + timedelta(hours=49)).reminders == 0  # 39 h since
    assert run_housekeeping(db, clients, t0 + timedelta(hours=59)).reminders == 10  # the 2nd
    assert run_housekeeping(db, clients, t0 + timedelta(hours=200)).reminders == 0  # max 2
    assert len(_posts(fake, before)) == 10


# -- clients, lock, scheduler ----------------------------------------------------------------


def test_oauth_client_for_team_uses_the_installation_bot_token(db):
    store = installation_store(db, "client-1")
    store.save(Installation(app_id="A1", enterprise_id=None, team_id=TEAM, user_id=LEADER,
                            bot_token="xoxb-installed", bot_id="B1", bot_user_id="U0BOT",
                            bot_scopes=["chat:write"]))
    client_for_team = installation_client_for_team(store, "http://127.0.0.1:9/api/")
    client = client_for_team(TEAM)
    assert client is not None and client.token == "xoxb-installed"
    assert client.base_url == "http://127.0.0.1:9/api/"
    assert client_for_team("T0NOTINSTALLED") is None


def test_a_workspace_without_installation_still_closes(world, open_round):
    fake, db = world.fake, world.db
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)
    updates_before = len(fake.calls_to("chat.update"))
    result = run_housekeeping(db, lambda team_id: None, closes_at + timedelta(minutes=1))
    assert result.closed == [open_round] and result.sent == 0
    assert round_status(db, open_round) == "closed"
    assert len(fake.calls_to("chat.update")) == updates_before
    # not retried for ever: "not installed" is not a passing fault
    assert run_housekeeping(db, lambda team_id: None, closes_at + timedelta(hours=2)).sent == 0


def test_the_lock_is_always_free_on_sqlite(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'icp.db'}")
    try:
        with housekeeping_lock(db) as first, housekeeping_lock(db) as second:
            assert first and second
    finally:
        db.dispose()


def test_a_second_lock_holder_skips_on_postgresql(postgres_url):
    """Two processes (two database sessions): while one holds the lock the other skips."""
    first_db, second_db = Database(postgres_url), Database(postgres_url)
    first_db.upgrade()
    asked: list[str] = []
    try:
        with housekeeping_lock(first_db) as first:
            assert first
            with housekeeping_lock(second_db) as second:
                assert not second
            assert run_once(second_db, asked.append, now=datetime.now(UTC)) is None
            # the same process's other pooled connection is another session: it skips too
            with housekeeping_lock(first_db) as again:
                assert not again
        # released: the other process runs now
        result = run_once(second_db, asked.append, now=datetime.now(UTC))
        assert isinstance(result, HousekeepingResult)
        with housekeeping_lock(second_db) as after:
            assert after
    finally:
        first_db.dispose()
        second_db.dispose()


def test_start_scheduler_adds_one_coalescing_job(db):
    scheduler = start_scheduler(db, lambda team_id: None, interval_seconds=120, run_now=False)
    try:
        jobs = scheduler.get_jobs()
        assert [j.id for j in jobs] == [JOB_ID]
        job = jobs[0]
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 120
        assert job.trigger.interval == timedelta(seconds=120)
        assert job.next_run_time is not None  # scheduled, not paused
    finally:
        scheduler.shutdown(wait=False)
    with pytest.raises(ValueError):
        start_scheduler(db, lambda team_id: None, interval_seconds=0)
