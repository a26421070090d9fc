"""Workspaces, their settings and their leaders."""

from __future__ import annotations

import pytest

from storage import workspaces
from storage.db import Database
from storage.errors import NotFound


def test_get_or_create_creates_once_with_defaults(db: Database) -> None:
    with db.session() as s:
        created = workspaces.get_or_create_workspace(s, "T1", "Acme")
        again = workspaces.get_or_create_workspace(s, "T1")
    assert created.team_id == again.team_id == "T1"
    with db.session() as s:
        w = workspaces.get_workspace(s, "T1")
        assert (w.name, w.digest_channel, w.digest_weekday, w.digest_time, w.timezone, w.min_group_size) == (
            "Acme", None, 0, "09:00", "UTC", 3,
        )
        assert [x.team_id for x in workspaces.list_workspaces(s)] == ["T1"]


def test_get_or_create_updates_a_changed_name(db: Database) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1", "Acme")
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1", "Acme Inc")
    with db.session() as s:
        assert workspaces.get_workspace(s, "T1").name == "Acme Inc"


def test_concurrent_get_or_create_makes_one_row(db: Database, race) -> None:
    def create(_: int) -> str:
        with db.session() as s:
            return workspaces.get_or_create_workspace(s, "T1").team_id

    assert race(6, create) == ["T1"] * 6
    with db.session() as s:
        assert len(workspaces.list_workspaces(s)) == 1


def test_update_settings(db: Database) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1")
        workspaces.update_workspace(
            s, "T1", digest_channel="C42", digest_weekday=4, digest_time="16:30",
            timezone="Europe/Berlin", min_group_size=5,
        )
    with db.session() as s:
        w = workspaces.get_workspace(s, "T1")
        assert (w.digest_channel, w.digest_weekday, w.digest_time, w.timezone, w.min_group_size) == (
            "C42", 4, "16:30", "Europe/Berlin", 5,
        )
        workspaces.update_workspace(s, "T1", digest_channel=None)  # turns the digest off
    with db.session() as s:
        w = workspaces.get_workspace(s, "T1")
        assert w.digest_channel is None and w.digest_weekday == 4  # untouched settings kept


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("digest_weekday", 7, "digest_weekday"),
        ("digest_weekday", True, "digest_weekday"),
        ("digest_time", "9:00", "HH:MM"),
        ("digest_time", "24:00", "HH:MM"),
        ("timezone", "Mars/Olympus", "unknown timezone"),
        ("min_group_size", 1, "at least 2"),
    ],
)
def test_update_refuses_bad_settings(db: Database, setting: str, value, message: str) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1")
    with pytest.raises(ValueError, match=message), db.session() as s:
        workspaces.update_workspace(s, "T1", **{setting: value})
    with db.session() as s:
        w = workspaces.get_workspace(s, "T1")
        assert (w.digest_weekday, w.digest_time, w.timezone, w.min_group_size) == (0, "09:00", "UTC", 3)


def test_update_unknown_workspace(db: Database) -> None:
    with pytest.raises(NotFound), db.session() as s:
        workspaces.update_workspace(s, "TNOPE", name="x")


def test_leaders(db: Database) -> None:
    with db.session() as s:
        assert workspaces.add_leader(s, "T1", "U1", added_by="UADMIN") is True
        assert workspaces.add_leader(s, "T1", "U2", added_by="U1") is True
        assert workspaces.add_leader(s, "T1", "U1", added_by="USOMEONE") is False
        assert workspaces.add_leader(s, "T2", "U1") is True  # another workspace
    with db.session() as s:
        leaders = workspaces.list_leaders(s, "T1")
        assert [(x.user_id, x.added_by) for x in leaders] == [("U1", "UADMIN"), ("U2", "U1")]
        assert workspaces.is_leader(s, "T1", "U2")
        assert not workspaces.is_leader(s, "T1", "U3")
        assert not workspaces.is_leader(s, "T2", "U2")
        assert workspaces.remove_leader(s, "T1", "U1") is True
        assert workspaces.remove_leader(s, "T1", "U1") is False
    with db.session() as s:
        assert [x.user_id for x in workspaces.list_leaders(s, "T1")] == ["U2"]
        assert [x.user_id for x in workspaces.list_leaders(s, "T2")] == ["U1"]
