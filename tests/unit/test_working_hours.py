"""Working hours in a person's own time zone, across weekends and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.working_hours import WorkingHours, next_working_moment, next_working_morning, zone

PARIS = zone("Europe/Paris")
NEW_YORK = zone("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_inside_the_window_is_now():
    now = utc(2026, 3, 4, 10, 0)  # Wednesday 11:00 in Paris
    assert next_working_moment(now, PARIS) == now


def test_at_night_it_is_the_next_morning_and_at_the_weekend_monday():
    assert next_working_moment(utc(2026, 3, 4, 20, 0), PARIS) == utc(2026, 3, 5, 8, 0)  # Thu 09:00 CET
    assert next_working_moment(utc(2026, 3, 5, 5, 0), PARIS) == utc(2026, 3, 5, 8, 0)  # before 09:00: today
    assert next_working_moment(utc(2026, 3, 6, 17, 0), PARIS) == utc(2026, 3, 9, 8, 0)  # Fri 18:00 -> Mon


def test_across_daylight_saving_changes_in_two_time_zones():
    # Europe springs forward on Sunday 29 March 2026: Monday 09:00 is 07:00 UTC, not 08:00.
    assert next_working_moment(utc(2026, 3, 27, 18, 0), PARIS) == utc(2026, 3, 30, 7, 0)
    # The US springs forward on Sunday 8 March 2026: Monday 09:00 EDT is 13:00 UTC (14:00 before).
    assert next_working_moment(utc(2026, 3, 6, 23, 0), NEW_YORK) == utc(2026, 3, 9, 13, 0)
    assert next_working_moment(utc(2026, 3, 5, 23, 0), NEW_YORK) == utc(2026, 3, 6, 14, 0)
    # ...and falls back on 1 November 2026.
    assert next_working_moment(utc(2026, 10, 30, 22, 0), NEW_YORK) == utc(2026, 11, 2, 14, 0)


def test_remind_me_later_is_the_next_working_morning():
    assert next_working_morning(utc(2026, 3, 4, 10, 0), PARIS) == utc(2026, 3, 5, 8, 0)
    assert next_working_morning(utc(2026, 3, 6, 10, 0), PARIS) == utc(2026, 3, 9, 8, 0)


def test_working_hours_are_parsed_or_refused_with_the_reason():
    assert WorkingHours.parse("08:30-18:00") == WorkingHours(start=time(8, 30), end=time(18, 0))
    assert str(WorkingHours.parse("00:00-24:00")) == "00:00-24:00"
    for bad, reason in (("9-5", "look like"), ("17:00-09:00", "end after"), ("25:00-26:00", "look like")):
        with pytest.raises(ValueError, match=reason):
            WorkingHours.parse(bad)


def test_unknown_zones_fall_back():
    assert zone(None, "Europe/Paris") == PARIS
    assert str(zone("Mars/Olympus_Mons")) == "UTC"


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
       st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]))
def test_the_answer_is_never_before_now_and_always_inside_the_window(now, name):
    tz = zone(name)
    due = next_working_moment(now, tz)
    local = due.astimezone(tz)
    assert due >= now
    assert local.weekday() < 5 and time(9, 0) <= local.time() < time(17, 0)
    assert (due - now).days <= 3
