"""``/icp-check settings`` and ``/icp-check digest``: a workspace's settings as leaders read and
change them. Every change is validated here and refused with a message that names the setting
and what it accepts; nothing is stored from a bad value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.working_hours import WorkingHours, next_weekly
from storage import workspaces
from storage.db import Database
from storage.workspaces import WorkspaceSettings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MIN_ANONYMITY, MAX_ANONYMITY = 3, 50


class SettingRefused(ValueError):
    """A value a setting does not accept; the message says which setting and what it takes."""


def read(db: Database, team_id: str) -> WorkspaceSettings:
    with db.session(read_only=True) as session:
        return workspaces.settings_of(session, team_id)


def next_digest_at(settings: WorkspaceSettings, now: datetime) -> datetime | None:
    if not settings.digest_channel:
        return None
    hour, minute = (int(x) for x in settings.digest_time.split(":"))
    return next_weekly(now, settings.tz, settings.digest_weekday, time(hour, minute))


def change_setting(db: Database, team_id: str, name: str, value: str) -> WorkspaceSettings:
    """``settings timezone|anonymity|hours VALUE``."""
    name = name.lower()
    if name in ("timezone", "tz", "time-zone"):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingRefused(f"`{value}` is not a time zone I know: use a name such as Europe/Paris or "
                                 "America/New_York") from None
        changes: dict = {"timezone": value}
    elif name in ("anonymity", "threshold", "min-group"):
        if not value.isascii() or not value.isdigit() or not MIN_ANONYMITY <= int(value) <= MAX_ANONYMITY:
            raise SettingRefused(f"the anonymity threshold is a whole number from {MIN_ANONYMITY} to "
                                 f"{MAX_ANONYMITY} (the fewest people any figure may describe), not `{value}`")
        changes = {"min_group_size": int(value)}
    elif name in ("hours", "working-hours"):
        if value.lower() in ("off", "none"):
            changes = {"working_hours": None}
        else:
            try:
                changes = {"working_hours": str(WorkingHours.parse(value))}
            except ValueError as exc:
                raise SettingRefused(f"working hours: {exc}; or `off` to send DMs at once") from None
    else:
        raise SettingRefused(f"there is no setting `{name}`: the settings are `timezone`, `anonymity` and `hours`")
    with db.session() as session:
        workspaces.get_or_create_workspace(session, team_id)
        workspaces.update_workspace(session, team_id, **changes)
        return workspaces.settings_of(session, team_id)


@dataclass(frozen=True)
class DigestChoice:
    channel: str
    weekday: int
    at: str


def parse_digest_args(args: list[str], current: WorkspaceSettings) -> DigestChoice:
    """``#channel [weekday] [HH:MM]``: the day and time default to what is set (Monday 09:00)."""
    match = CHANNEL.match(args[0]) if args else None
    if match is None:
        raise SettingRefused("name the channel with #, e.g. `/icp-check digest #leadership monday 09:00`")
    weekday, at = current.digest_weekday, current.digest_time
    for word in args[1:]:
        lowered = word.lower().rstrip(",")
        day = [i for i, name in enumerate(WEEKDAYS) if len(lowered) >= 3 and name.startswith(lowered)]
        clock = CLOCK.match(lowered)
        if day:
            weekday = day[0]
        elif clock:
            at = f"{int(clock.group(1)):02d}:{clock.group(2)}"
        else:
            raise SettingRefused(f"`{word}` is neither a weekday (monday...sunday) nor a time (HH:MM, 24-hour)")
    return DigestChoice(channel=match.group(1), weekday=weekday, at=at)


def set_digest(db: Database, team_id: str, choice: DigestChoice | None, set_by: str) -> WorkspaceSettings:
    """Post the weekly digest to ``choice``; None turns it off."""
    with db.session() as session:
        workspaces.get_or_create_workspace(session, team_id)
        if choice is None:
            workspaces.update_workspace(session, team_id, digest_channel=None)
        else:
            workspaces.update_workspace(session, team_id, digest_channel=choice.channel, digest_weekday=choice.weekday,
                                        digest_time=choice.at, digest_set_by=set_by)
        return workspaces.settings_of(session, team_id)


def set_pulse_cadence(db: Database, team_id: str, every_days: int | None) -> WorkspaceSettings:
    """A pulse every ``every_days`` days (1 to 365); None turns pulses off."""
    if every_days is not None and not 1 <= every_days <= 365:
        raise SettingRefused(f"a pulse cadence is 1 to 365 days, not {every_days}")
    with db.session() as session:
        workspaces.get_or_create_workspace(session, team_id)
        workspaces.update_workspace(session, team_id, pulse_every_days=every_days)
        return workspaces.settings_of(session, team_id)
