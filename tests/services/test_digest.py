"""The weekly digest: due once per local week at the workspace's weekday and time, across
daylight-saving changes, from one or two schedulers; a channel it cannot post to is reported
to the leader once and not retried for ever."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services import digest, workspace_settings
from bot.services.workspace_settings import SettingRefused
from bot.slack_client import outbox_client
from storage import outbox, workspaces
from storage.db import Database
from storage.models import OutboxMessage
from tests.fakeslack import FakeSlack

TEAM = "T0001"
LEAD = "U0LEAD"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _configure(db: Database, tz: str, args: list[str], team: str = TEAM) -> None:
    workspace_settings.change_setting(db, team, "timezone", tz)
    current = workspace_settings.read(db, team)
    workspace_settings.set_digest(db, team, workspace_settings.parse_digest_args(args, current), LEAD)


def _digests(db: Database) -> list[OutboxMessage]:
    with db.session(read_only=True) as s:
        return list(s.query(OutboxMessage).filter(OutboxMessage.kind == "digest").order_by(OutboxMessage.id))


def test_once_a_week_at_the_local_time_across_daylight_saving(db):
    _configure(db, "Europe/Paris", ["<#C0LEAD|leadership>", "monday", "09:00"])
    # Monday 30 March 2026, the day after Europe's clocks went forward: 09:00 CEST is 07:00 UTC.
    assert digest.enqueue_due_digests(db, utc(2026, 3, 30, 6, 59)) == 0  # still Sunday's week
    assert digest.enqueue_due_digests(db, utc(2026, 3, 30, 7, 0)) == 1
    assert digest.enqueue_due_digests(db, utc(2026, 3, 30, 7, 5)) == 0  # once per week
    assert digest.enqueue_due_digests(db, utc(2026, 4, 3, 12, 0)) == 0
    assert digest.enqueue_due_digests(db, utc(2026, 4, 6, 7, 0)) == 1
    keys = [m.key for m in _digests(db)]
    assert keys == [f"{TEAM}:digest:C0LEAD:2026-W14", f"{TEAM}:digest:C0LEAD:2026-W15"]


def test_a_second_time_zone_and_a_late_scheduler(db):
    _configure(db, "America/New_York", ["<#C0NY>", "fri", "17:30"], team="T0NY")
    # Friday 6 March 2026 17:30 EST is 22:30 UTC; the next Friday (after 8 March) is EDT, 21:30 UTC.
    assert digest.enqueue_due_digests(db, utc(2026, 3, 6, 22, 29)) == 0
    assert digest.enqueue_due_digests(db, utc(2026, 3, 8, 3, 0)) == 1  # late (a restart): still posted
    assert digest.enqueue_due_digests(db, utc(2026, 3, 13, 21, 29)) == 0
    assert digest.enqueue_due_digests(db, utc(2026, 3, 13, 21, 30)) == 1


def test_two_schedulers_at_the_same_moment_enqueue_one_digest(db):
    _configure(db, "UTC", ["<#C0LEAD>", "monday", "09:00"])
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run():
        barrier.wait(timeout=10)
        try:
            results.append(digest.enqueue_due_digests(db, utc(2026, 3, 2, 9, 1)))
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(-1)
            raise exc

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [0, 1] and len(_digests(db)) == 1


def test_a_digest_another_process_is_composing_is_left_to_it(db, request):
    """Workers share the due digests out: one whose key another transaction has claimed is
    skipped (PostgreSQL: that transaction is another process's), the others are composed;
    once the claim ends the skipped one is enqueued by whoever comes next, exactly once."""
    from storage import locks

    for team, channel in (("T0A", "C0A"), ("T0B", "C0B")):
        _configure(db, "UTC", [f"<#{channel}>", "monday", "09:00"], team=team)
    now = utc(2026, 3, 2, 9, 1)
    claimed = "T0A:digest:C0A:2026-W10"
    if db.dialect == "postgresql":
        other = Database(db.url)  # another process: its own connections, its own sessions
        request.addfinalizer(other.dispose)
        with other.session() as held:
            assert locks.try_claim(held, claimed)
            assert digest.enqueue_due_digests(db, now) == 1  # T0B only
            assert [m.team_id for m in _digests(db)] == ["T0B"]
    else:  # one process: always granted
        with db.session() as s:
            assert locks.try_claim(s, claimed) and locks.try_claim(s, claimed)
    assert digest.enqueue_due_digests(db, now) == (1 if db.dialect == "postgresql" else 2)
    assert digest.enqueue_due_digests(db, now) == 0
    assert sorted(m.team_id for m in _digests(db)) == ["T0A", "T0B"]


def test_a_worker_without_the_housekeeping_lock_still_composes_due_digests(db, request):
    """While one process holds the housekeeping run, another's run skips the closes and
    reminders but composes the digests nobody is on (the slow part with many workspaces)."""
    if db.dialect != "postgresql":
        pytest.skip("one process on SQLite: every run holds the lock")
    from bot.scheduler import housekeeping_lock, run_once

    for team, channel in (("T0A", "C0A"), ("T0B", "C0B")):
        _configure(db, "UTC", [f"<#{channel}>", "monday", "09:00"], team=team)
    other = Database(db.url)
    request.addfinalizer(other.dispose)
    with housekeeping_lock(other) as held:
        assert held
        assert run_once(db, lambda team: None, now=utc(2026, 3, 2, 9, 1)) is None  # skipped ...
    assert sorted(m.team_id for m in _digests(db)) == ["T0A", "T0B"]  # ... but the digests are in


def test_digest_settings_are_validated_and_named():
    current = workspaces.WorkspaceSettings(team_id=TEAM)
    choice = workspace_settings.parse_digest_args(["<#C123|x>", "Wed", "8:05"], current)
    assert (choice.channel, choice.weekday, choice.at) == ("C123", 2, "08:05")
    assert workspace_settings.parse_digest_args(["<#C123>"], current).at == "09:00"  # Monday 09:00 by default
    for args, reason in ((["#general"], "name the channel"), (["<#C1>", "someday"], "neither a weekday"),
                         (["<#C1>", "25:00"], "neither a weekday")):
        with pytest.raises(SettingRefused, match=reason):
            workspace_settings.parse_digest_args(args, current)


def test_settings_changes_are_refused_with_the_setting_named(db):
    for name, value, reason in (("timezone", "Mars/Base", "not a time zone"), ("anonymity", "2", "from 3 to 50"),
                                ("hours", "17:00-09:00", "working hours"), ("colour", "blue", "no setting")):
        with pytest.raises(SettingRefused, match=reason):
            workspace_settings.change_setting(db, TEAM, name, value)
    assert workspace_settings.change_setting(db, TEAM, "hours", "off").working_hours is None
    assert workspace_settings.change_setting(db, TEAM, "anonymity", "5").min_group_size == 5


@pytest.mark.parametrize("channel, archived, bot_member, hint", [
    ("C0GONE", False, True, "the channel does not exist"),
    ("C0ARCH", True, True, "the channel is archived"),
    ("C0OUT", False, False, "ICP Align is not in the channel"),
])
def test_a_channel_it_cannot_post_to_is_reported_once(db, channel, archived, bot_member, hint):
    fake = FakeSlack().start()
    try:
        fake.add_user(LEAD, "lead", is_admin=True)
        if channel != "C0GONE":
            fake.add_channel(channel, "leadership", archived=archived, bot_member=bot_member, is_private=True)
        _configure(db, "UTC", [f"<#{channel}>", "monday", "09:00"])
        assert digest.enqueue_due_digests(db, utc(2026, 3, 2, 9, 1)) == 1
        client = outbox_client(fake.api_url, fake.bot_token)
        clock = [utc(2026, 3, 2, 9, 1)]
        sender = OutboxSender(db, lambda team: client, pacer=Pacer(1000, 1000), clock=lambda: clock[0], inline=True)
        result = sender.drain()
        assert result.gave_up == 1 and result.reported == 1
        notices = [m.text for m in fake.messages(LEAD)]
        assert len(notices) == 1 and hint in notices[0] and "digests" in notices[0]
        clock[0] += timedelta(days=1)
        assert sender.drain().sent == 0 and len(fake.messages(LEAD)) == 1  # not retried, not told twice
        with db.session(read_only=True) as s:
            assert outbox.pending_count(s) == 0
    finally:
        fake.stop()


def test_a_closed_rounds_report_goes_to_the_digest_channel_once_without_quotes(db):
    from bot.services import close_reports, survey_steps
    from storage import rounds, templates
    from survey.template import load_builtin
    from tests.e2e.helpers import designed_answers

    template = load_builtin("icp-core")
    now = utc(2026, 3, 2, 12, 0)
    _configure(db, "UTC", ["<#C0LEAD>", "monday", "09:00"])
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by=LEAD, opened_at=now - timedelta(days=3))
        people = [f"U0C{i}" for i in range(4)]
        rounds.add_participants(s, rnd.id, [(u, None) for u in people])
        round_id = rnd.id
    for i, user in enumerate(people):
        answers = {**designed_answers(i), "ideal_customer": f"QUOTE-{i} growing software firms"}
        for section, part in enumerate(template.sections):
            raw = {q.id: answers[q.id] for q in part.questions if q.id in answers}
            survey_steps.record_step(db, TEAM, user, round_id, section, raw, now=now - timedelta(days=2))
    assert close_reports.enqueue_close_reports(db, now) == 0  # still open
    with db.session() as s:
        rounds.close_round(s, round_id, at=now)
    assert close_reports.enqueue_close_reports(db, now + timedelta(minutes=5)) == 1
    assert close_reports.enqueue_close_reports(db, now + timedelta(minutes=10)) == 0
    with db.session(read_only=True) as s:
        posted = s.query(OutboxMessage).filter(OutboxMessage.kind == "close-report").one()
    assert posted.target == "C0LEAD" and "QUOTE-" not in str(posted.payload)
