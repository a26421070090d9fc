"""Ratified ICP versions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from storage import icp, rounds
from storage.db import Database


class Profile(BaseModel):
    company_size: str
    industries: list[str]
    ratified_on: datetime


def test_ratify_numbers_versions_per_workspace(db: Database, open_round) -> None:
    with db.session() as s:
        assert icp.current_icp(s, "T1") is None
        assert icp.ratify(s, "T1", {"company_size": "51-200"}, open_round.id, "ULEAD") == 1
        assert icp.ratify(s, "T1", {"company_size": "201-1000"}, None, "ULEAD2") == 2
        assert icp.ratify(s, "T2", {"company_size": "11-50"}) == 1
    with db.session() as s:
        current = icp.current_icp(s, "T1")
        assert (current.version, current.profile, current.ratified_by) == (2, {"company_size": "201-1000"}, "ULEAD2")
        history = icp.icp_history(s, "T1")
        assert [(v.version, v.source_round_id) for v in history] == [(2, None), (1, open_round.id)]
        assert icp.get_icp_version(s, "T1", 1).profile == {"company_size": "51-200"}
        assert icp.current_icp(s, "T2").version == 1


def test_ratify_accepts_a_pydantic_profile_and_stores_its_json(db: Database) -> None:
    profile = Profile(company_size="51-200", industries=["saas", "fintech"], ratified_on=datetime(2025, 11, 3, tzinfo=UTC))
    with db.session() as s:
        icp.ratify(s, "T1", profile, ratified_by="ULEAD")
    with db.session() as s:
        stored = icp.current_icp(s, "T1").profile
    assert stored == {"company_size": "51-200", "industries": ["saas", "fintech"], "ratified_on": "2025-11-03T00:00:00Z"}
    assert Profile.model_validate(stored) == profile


def test_ratify_refuses_what_is_not_json(db: Database) -> None:
    with pytest.raises(TypeError, match="not plain JSON"), db.session() as s:
        icp.ratify(s, "T1", {"when": datetime.now(UTC)})
    with db.session() as s:
        assert icp.current_icp(s, "T1") is None


def test_concurrent_ratifications_get_consecutive_versions(db: Database, race) -> None:
    def ratify(i: int) -> int:
        with db.session() as s:
            return icp.ratify(s, "T1", {"n": i}, ratified_by=f"U{i}")

    versions = race(8, ratify)
    assert sorted(versions) == list(range(1, 9))
    with db.session() as s:
        history = icp.icp_history(s, "T1")
    assert [v.version for v in history] == list(range(8, 0, -1))
    assert {v.profile["n"]: v.version for v in history} == {i: versions[i] for i in range(8)}


def test_deleting_the_source_round_keeps_the_icp(db: Database, open_round) -> None:
    with db.session() as s:
        icp.ratify(s, "T1", {"company_size": "51-200"}, open_round.id)
        s.delete(rounds.get_round(s, open_round.id))
    with db.session() as s:
        current = icp.current_icp(s, "T1")
        assert current.version == 1 and current.source_round_id is None
