"""8. Scheduled housekeeping: rounds past their close date are closed once, with closed notices
of every invitation and reminder DM and one DM to the creator; due reminders are queued on their
interval, at most max_reminders each, never to a finisher and never after close, each due in its
person's working hours. Every message goes through the outbox: a run queues, a sender with the
same controlled ``now`` sends. Nothing sleeps."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, update

from bot.housekeeping import (
    HousekeepingResult,
    app_client_for_team,
    installation_client_for_team,
    run_housekeeping,
)
from bot.outbox import DrainResult, OutboxSender
from bot.pacing import Pacer
from bot.scheduler import JOB_ID, housekeeping_lock, run_once, start_scheduler
from bot.services import closing, reminders
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import OutboxMessage, RoundParticipant, SurveyRound
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
    reminders_go_out_now,
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


def _send(db: Database, app, now: datetime, client_for_team=None) -> DrainResult:
    """What a sender whose clock says ``now`` sends (a new one each time: nothing in memory)."""
    clients = client_for_team or app_client_for_team(app.client)
    return OutboxSender(db, clients, pacer=Pacer(1000, 1000), clock=lambda: now, inline=True).drain()


def _run(db: Database, app, now: datetime) -> HousekeepingResult:
    """One scheduled run at ``now``, then its sender at ``now``."""
    result = run_housekeeping(db, app_client_for_team(app.client), now)
    _send(db, app, now)
    return result


def _run_in_threads(db, app, now, n: int = 2) -> list[HousekeepingResult]:
    """``n`` runs started together, as from replicas without the advisory lock; then the sender."""
    barrier = threading.Barrier(n)
    results: list[HousekeepingResult] = []
    errors: list[BaseException] = []
    clients = app_client_for_team(app.client)

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
    _send(db, app, now)
    return results


def _leader_notices(fake, round_id: int) -> list:
    return [m for m in fake.messages(LEADER) if f"/icp-check report {round_id}" in m.text
            and "finished" in m.text and "closed" in m.text]


def _updates_per_message(fake, since: int = 0) -> Counter:
    return Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update")[since:]
                   if c.response.get("ok"))


def _reminder_posts(fake, since: int = 0) -> list:
    return [c for c in _posts(fake, since) if c.params["channel"] != LEADER and c.response.get("ok")]


# -- closing ---------------------------------------------------------------------------------


def test_a_round_past_its_close_date_is_closed_once(world, app, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    finished, pending = STAFF[:3], STAFF[3:]
    for i, user in enumerate(finished):
        answer_round(sim, fake, user, designed_answers(i))
    t0 = _invited_at(db, open_round)
    closes_at = t0 + timedelta(hours=24)
    _set_round(db, open_round, closes_at=closes_at)

    # before the close date nothing is closed (and nobody is due a reminder yet)
    result = _run(db, app, closes_at - timedelta(minutes=1))
    assert result.closed == [] and result.queued == 0
    assert round_status(db, open_round) == "open"

    updates_before, posts_before = len(fake.calls_to("chat.update")), len(_posts(fake))
    result = _run(db, app, closes_at + timedelta(minutes=5))
    assert result.closed == [open_round]
    assert (result.closed_notices, result.creator_notices, result.reminders) == (10, 1, 0)
    assert result.errors == []
    assert round_status(db, open_round) == "closed"
    with db.session(read_only=True) as s:
        assert s.get(SurveyRound, open_round).closed_at == closes_at  # closed at its close date

    # every invitation and receipt is now a closed notice, without buttons, updated once
    updates = _updates_per_message(fake, updates_before)
    assert sorted(channel for channel, _ in updates) == sorted("D" + u for u in STAFF)
    assert set(updates.values()) == {1}
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
    again = _run(db, app, closes_at + timedelta(minutes=10))
    assert again.closed == [] and again.queued == 0
    for r in _run_in_threads(db, app, closes_at + timedelta(hours=1)):
        assert r.closed == [] and r.queued == 0 and r.errors == []
    assert len(fake.calls_to("chat.update")) == updates_before
    assert len(_posts(fake)) == posts_before
    assert len(_leader_notices(fake, open_round)) == 1


def test_two_concurrent_runs_close_a_round_once(world, app, open_round):
    fake, db = world.fake, world.db
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)
    updates_before = len(fake.calls_to("chat.update"))

    results = _run_in_threads(db, app, closes_at + timedelta(minutes=1))

    assert sorted(len(r.closed) for r in results) == [0, 1]
    assert sum(r.closed_notices for r in results) == 10
    assert sum(r.creator_notices for r in results) == 1
    assert all(r.errors == [] for r in results)
    assert set(_updates_per_message(fake, updates_before).values()) == {1}
    assert len(fake.calls_to("chat.update")) - updates_before == 10
    assert len(_leader_notices(fake, open_round)) == 1
    assert "0 of 10 finished" in _leader_notices(fake, open_round)[0].text


def test_a_failed_close_notice_is_retried_by_the_sender(world, app, open_round):
    fake, db = world.fake, world.db
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)
    now = closes_at + timedelta(minutes=1)

    fake.fail_next("chat.postMessage", error="fatal_error")  # a passing fault the client does not retry
    first = _run(db, app, now)
    assert first.closed == [open_round] and first.creator_notices == 1
    assert _leader_notices(fake, open_round) == []  # Slack failed: due again after a backoff
    with db.session(read_only=True) as s:
        waiting = outbox_store.find(s, f"{TEAM}:close-notice:{LEADER}:round-{open_round}")
        assert waiting.status == "pending" and waiting.last_error == "fatal_error"

    second = _run(db, app, now + timedelta(minutes=5))
    assert second.closed == [] and second.queued == 0
    assert len(_leader_notices(fake, open_round)) == 1
    _run(db, app, now + timedelta(hours=1))
    assert len(_leader_notices(fake, open_round)) == 1
    with db.session(read_only=True) as s:
        assert outbox_store.find(s, f"{TEAM}:close-notice:{LEADER}:round-{open_round}").status == "sent"


def test_a_crash_between_the_close_and_the_sending_still_sends_each_notice_once(world, app, open_round):
    """The close commits with its notices; the process dies before any is sent. A new sender,
    in a new process (a new engine on the same database), sends each once."""
    fake, db = world.fake, world.db
    reminders_go_out_now(db)
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=t0 + timedelta(hours=60))
    assert _run(db, app, t0 + timedelta(hours=49)).reminders == 10  # one reminder DM each

    updates_before, posts_before = len(fake.calls_to("chat.update")), len(_posts(fake))
    closing = run_housekeeping(db, app_client_for_team(app.client), t0 + timedelta(hours=61))  # no sender runs
    assert closing.closed == [open_round] and closing.closed_notices == 20 and closing.creator_notices == 1
    assert len(fake.calls_to("chat.update")) == updates_before

    restarted = Database(db.engine.url.render_as_string(hide_password=False))
    try:
        assert _send(restarted, app, t0 + timedelta(hours=62)).sent == 21
        assert _send(restarted, app, t0 + timedelta(hours=63)).sent == 0
    finally:
        restarted.dispose()
    updates = _updates_per_message(fake, updates_before)
    assert len(updates) == 20 and set(updates.values()) == {1}  # 10 invitations, 10 reminders
    reminder_dms = {(m.channel, m.ts) for u in STAFF for m in fake.messages(u)[1:]}
    assert len(reminder_dms) == 10 and reminder_dms <= set(updates)
    assert all("is closed" in m.text and action_ids(m.blocks) == [] for u in STAFF for m in fake.messages(u))
    assert [c.params["channel"] for c in _posts(fake, posts_before)] == [LEADER]


# -- reminders -------------------------------------------------------------------------------


def test_due_reminders_follow_the_interval_and_the_limit(world, app, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    reminders_go_out_now(db)
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
        result = _run(db, app, t0 + timedelta(hours=hours))
        assert result.errors == [] and result.closed == []
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
    assert sum(r.reminders for r in _run_in_threads(db, app, t0 + timedelta(hours=96))) == 0
    assert _posts(fake, before) == []

    # 48 h after the first reminder: the second, again to the non-finishers only, even when
    # two runs race for it
    before = len(_posts(fake))
    results = _run_in_threads(db, app, t0 + timedelta(hours=100))
    assert sum(r.reminders for r in results) == 8
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
    reminders_go_out_now(db)
    answer_round(sim, fake, STAFF[0], designed_answers(0))
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=t0 + timedelta(hours=60))

    before = len(_posts(fake))
    assert _run(db, app, t0 + timedelta(hours=49)).reminders == 9
    # the second reminder would be due at T+97h, but the round closed at T+60h
    result = _run(db, app, t0 + timedelta(hours=100))
    assert result.closed == [open_round] and result.reminders == 0
    assert _run(db, app, t0 + timedelta(hours=200)).queued == 0
    assert len(_reminder_posts(fake, before)) == 9
    assert all(p.reminders_sent == (0 if u == STAFF[0] else 1)
               for u, p in participants(db, open_round).items())


def test_a_manual_reminder_counts_for_the_schedule(world, app, open_round):
    """``/icp-check remind`` and the scheduler share keys and counts: no double reminder."""
    fake, db = world.fake, world.db
    reminders_go_out_now(db)
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=None)
    manual = reminders.remind(db, TEAM, open_round, now=t0 + timedelta(hours=10), requested_by=LEADER)
    assert (manual.queued.now, manual.queued.later) == (10, 0)
    assert _send(db, app, t0 + timedelta(hours=10)).sent == 10
    before = len(_posts(fake))
    assert _run(db, app, t0 + timedelta(hours=49)).reminders == 0  # 39 h since
    assert _run(db, app, t0 + timedelta(hours=59)).reminders == 10  # the 2nd
    assert _run(db, app, t0 + timedelta(hours=200)).reminders == 0  # max 2
    assert len(_posts(fake, before)) == 10


# Friday 4 December 2026, 16:00 UTC: 11:00 in New York, 01:00 on Saturday in Tokyo.
FRIDAY = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
MONDAY_9_TOKYO = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # Monday 09:00 JST


def _invited_before(db: Database, round_id: int, moment: datetime, tz: dict[str, str]) -> None:
    with db.session() as s:
        s.execute(update(RoundParticipant).where(RoundParticipant.round_id == round_id).values(invited_at=moment))
        for user, name in tz.items():
            s.execute(update(RoundParticipant).where(RoundParticipant.round_id == round_id,
                                                     RoundParticipant.user_id == user).values(tz=name))


def test_reminders_wait_for_each_persons_working_hours_never_a_weekend(world, app, open_round):
    fake, db = world.fake, world.db
    tokyo = STAFF[0]
    _set_round(db, open_round, closes_at=None, max_reminders=1)  # one each: the later runs queue nothing
    _invited_before(db, open_round, FRIDAY - timedelta(hours=49), {tokyo: "Asia/Tokyo"})
    assert participants(db, open_round)[STAFF[1]].tz == "America/New_York"  # from users.info at launch

    before = len(_posts(fake))
    result = _run(db, app, FRIDAY)
    assert (result.reminders, result.reminders_later) == (9, 1)
    assert sorted(c.params["channel"] for c in _posts(fake, before)) == sorted("D" + u for u in STAFF[1:])
    with db.session(read_only=True) as s:
        queued = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder",
                                                      OutboxMessage.target == tokyo))
        assert queued.status == "pending" and queued.due_at == MONDAY_9_TOKYO
    # the weekend in Tokyo: nothing, however often the sender and the scheduler run
    for moment in (FRIDAY + timedelta(hours=10), datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
                   datetime(2026, 12, 6, 12, 0, tzinfo=UTC), MONDAY_9_TOKYO - timedelta(seconds=1)):
        assert _run(db, app, moment).queued == 0
    assert fake.messages(tokyo)[1:] == []
    # Monday 09:00 in Tokyo: the reminder, once
    assert _run(db, app, MONDAY_9_TOKYO).queued == 0
    assert len(fake.messages(tokyo)) == 2 and "Reminder" in fake.messages(tokyo)[1].text
    _run(db, app, MONDAY_9_TOKYO + timedelta(hours=1))
    assert len(fake.messages(tokyo)) == 2
    assert participants(db, open_round)[tokyo].reminders_sent == 1


def test_a_reminder_to_a_deactivated_person_is_given_up_and_the_creator_told_once(world, app, open_round):
    fake, db = world.fake, world.db
    reminders_go_out_now(db)
    t0 = _invited_at(db, open_round)
    _set_round(db, open_round, closes_at=None)
    # Their DMs answer is_archived. (A forced account_inactive would hit whichever reminder the
    # sender, with several calls in flight, happens to send first; undelivered_notice's merging
    # of the two errors into one reason is tested in tests/unit.)
    fake.deactivate_user(STAFF[0])
    fake.deactivate_user(STAFF[1])
    leader_before = len(fake.messages(LEADER))

    assert _run(db, app, t0 + timedelta(hours=49)).reminders == 10
    told = fake.messages(LEADER)[leader_before:]
    assert len(told) == 1
    assert told[0].text.startswith(f"2 of 10 reminders of round {open_round} could not be delivered")
    assert "(2: the account is deactivated)" in told[0].text  # an archived DM, said for a person
    assert len(_reminder_posts(fake)) == 8 + 10  # the invitations, and 8 reminders

    # the second reminder goes to the other 8 only; the creator is not told again
    result = _run(db, app, t0 + timedelta(hours=100))
    assert result.reminders == 8
    assert len(fake.messages(LEADER)) == leader_before + 1
    assert {p.user_id: p.reminders_sent for p in participants(db, open_round).values()} == {
        u: 1 if u in STAFF[:2] else 2 for u in STAFF}


def test_a_reminder_still_queued_at_close_is_never_sent(world, app, open_round):
    fake, db = world.fake, world.db
    tokyo = STAFF[0]
    _set_round(db, open_round, closes_at=FRIDAY + timedelta(days=7))
    _invited_before(db, open_round, FRIDAY - timedelta(hours=49), {tokyo: "Asia/Tokyo"})
    assert _run(db, app, FRIDAY).reminders_later == 1  # Monday 09:00 in Tokyo

    closed = closing.close_round(db, TEAM, open_round, FRIDAY + timedelta(hours=13))  # Saturday in Tokyo
    assert closed is not None and closed.cancelled == 1
    assert closed.notices == 10 + 9  # the invitations and the reminders that went out
    _run(db, app, MONDAY_9_TOKYO + timedelta(hours=1))
    assert len(fake.messages(tokyo)) == 1 and "is closed" in fake.messages(tokyo)[0].text
    with db.session(read_only=True) as s:
        assert outbox_store.pending_count(s, round_id=open_round) == 0
    assert not [m for m in fake.messages(LEADER) if "could not be delivered" in m.text]


def test_no_reminder_is_queued_for_working_hours_after_the_close_date(world, app, open_round):
    fake, db = world.fake, world.db
    tokyo = STAFF[0]
    _set_round(db, open_round, closes_at=FRIDAY + timedelta(hours=12))  # Saturday 13:00 in Tokyo
    _invited_before(db, open_round, FRIDAY - timedelta(hours=49), {tokyo: "Asia/Tokyo"})
    result = _run(db, app, FRIDAY)
    assert (result.reminders, result.reminders_later) == (9, 0)
    assert participants(db, open_round)[tokyo].reminders_sent == 0
    assert _run(db, app, FRIDAY + timedelta(hours=13)).closed == [open_round]
    assert len(fake.messages(tokyo)) == 1 and "is closed" in fake.messages(tokyo)[0].text


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


def test_a_workspace_without_installation_still_closes(world, app, open_round):
    fake, db = world.fake, world.db
    closes_at = _invited_at(db, open_round) + timedelta(hours=1)
    _set_round(db, open_round, closes_at=closes_at)
    updates_before = len(fake.calls_to("chat.update"))
    result = run_housekeeping(db, lambda team_id: None, closes_at + timedelta(minutes=1))
    assert result.closed == [open_round]
    assert round_status(db, open_round) == "closed"
    uninstalled = _send(db, app, closes_at + timedelta(minutes=1), client_for_team=lambda team_id: None)
    assert uninstalled.sent == 0 and uninstalled.gave_up == 11  # 10 notices and the creator's DM
    assert len(fake.calls_to("chat.update")) == updates_before
    # not retried for ever: "not installed" is not a passing fault
    assert run_housekeeping(db, lambda team_id: None, closes_at + timedelta(hours=2)).queued == 0
    assert _send(db, app, closes_at + timedelta(hours=2), client_for_team=lambda team_id: None).gave_up == 0


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
