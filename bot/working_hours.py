"""When a DM may reach a person: inside their working hours, in their own Slack time zone.

Working hours are a daily window (09:00-17:00 by default) on working days (Monday to Friday).
Times are computed as wall-clock times in the person's zone with ``zoneinfo``, so a DM due "at
09:00" is at 09:00 local time on either side of a daylight-saving change; a window start that
falls into a spring-forward gap is read forward by the gap (``fold``-aware, as zoneinfo does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """``"09:00-17:00"``; ValueError with the reason otherwise."""
        match = HOURS.match(text.strip())
        if not match:
            raise ValueError(f"working hours must look like 09:00-17:00, not {text!r}")
        start = time(int(match.group(1)), int(match.group(2)))
        end_hour, end_minute = int(match.group(3)), int(match.group(4))
        if end_hour == 24 and end_minute:
            raise ValueError("working hours end at 24:00 at the latest")
        end = time.max if end_hour == 24 else time(end_hour, end_minute)
        if end <= start:
            raise ValueError("working hours must end after they start (09:00-17:00)")
        return cls(start=start, end=end)

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The zone ``name``, or ``fallback`` when Slack gave none or one zoneinfo does not know."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _start_on(day: date, hours: WorkingHours, tz: ZoneInfo) -> datetime:
    # Round-trip through UTC: a wall time inside a DST gap becomes the first real instant after it.
    return datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)


def next_working_moment(now: datetime, tz: ZoneInfo, hours: WorkingHours = WorkingHours()) -> datetime:
    """``now`` if it is inside working hours in ``tz``, else when the next working window
    opens (in UTC)."""
    local = now.astimezone(tz)
    if local.weekday() in hours.weekdays and hours.start <= local.time() < hours.end:
        return now
    day = local.date()
    if local.weekday() in hours.weekdays and local.time() < hours.start:
        return _start_on(day, hours, tz)
    return next_working_morning(now, tz, hours)


def next_working_morning(now: datetime, tz: ZoneInfo, hours: WorkingHours = WorkingHours()) -> datetime:
    """The start of the first working window after ``now``'s local day ("remind me tomorrow")."""
    day = now.astimezone(tz).date()
    for _ in range(8):
        day += timedelta(days=1)
        if day.weekday() in hours.weekdays:
            return _start_on(day, hours, tz)
    raise ValueError("working hours have no working day")


def next_weekly(now: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    """The first ``weekday`` ``at`` (local wall time in ``tz``) at or after ``now``, in UTC."""
    local = now.astimezone(tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    moment = _start_on(day, WorkingHours(start=at, end=time.max), tz)
    return moment if moment >= now else _start_on(day + timedelta(days=7), WorkingHours(start=at, end=time.max), tz)


def last_weekly(now: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    """The latest ``weekday`` ``at`` (local wall time in ``tz``) at or before ``now``, in UTC."""
    upcoming = next_weekly(now, tz, weekday, at)
    if upcoming == now:
        return now
    local_day = upcoming.astimezone(tz).date() - timedelta(days=7)
    return _start_on(local_day, WorkingHours(start=at, end=time.max), tz)
