"""The customer list repository: replaced whole, read back, gone with the workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from storage import customer_lists
from storage.db import Database
from storage.models import CustomerRecord, Workspace
from survey.customers import Customer

TEAM = "T0001"
OTHER = "T0002"


def _customers(prefix: str, n: int) -> list[Customer]:
    return [Customer(id=f"{prefix}{i}", name=f"Company {i}", revenue=1000.0 * (i + 1), deals=i,
                     customer_since=date(2024, 1, 1 + i),
                     traits={"company_size": "51-200", "industry": ["software"], "innovation_attitude": 4})
            for i in range(n)]


def test_replace_and_read_back(db: Database) -> None:
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    with db.session() as s:
        assert customer_lists.replace_customers(s, TEAM, _customers("a", 3), source="hubspot", template_key="icp-core",
                                      imported_by="ULEAD", at=when) == 3
    with db.session(read_only=True) as s:
        assert customer_lists.list_customers(s, TEAM) == _customers("a", 3)
        status = customer_lists.customer_status(s, TEAM)
    assert (status.customers, status.total_revenue, status.source, status.template_key, status.imported_by) == (
        3, 1000.0 + 2000.0 + 3000.0, "hubspot", "icp-core", "ULEAD")
    assert status.imported_at == when


def test_a_new_import_replaces_the_list_and_leaves_other_workspaces_alone(db: Database) -> None:
    with db.session() as s:
        customer_lists.replace_customers(s, TEAM, _customers("a", 3), source="hubspot", template_key="icp-core")
        customer_lists.replace_customers(s, OTHER, _customers("z", 2), source="hubspot", template_key="icp-core")
    with db.session() as s:
        customer_lists.replace_customers(s, TEAM, _customers("b", 2), source="salesforce", template_key="icp-core")
    with db.session(read_only=True) as s:
        assert [c.id for c in customer_lists.list_customers(s, TEAM)] == ["b0", "b1"]
        assert [c.id for c in customer_lists.list_customers(s, OTHER)] == ["z0", "z1"]
        assert customer_lists.customer_status(s, TEAM).source == "salesforce"


def test_a_failed_import_keeps_the_old_list(db: Database) -> None:
    with db.session() as s:
        customer_lists.replace_customers(s, TEAM, _customers("a", 2), source="hubspot", template_key="icp-core")
    twice = _customers("b", 2) + _customers("b", 1)  # b0 twice: the unique key refuses it
    with pytest.raises(IntegrityError), db.session() as s:
        customer_lists.replace_customers(s, TEAM, twice, source="hubspot", template_key="icp-core")
    with db.session(read_only=True) as s:
        assert [c.id for c in customer_lists.list_customers(s, TEAM)] == ["a0", "a1"]


def test_customers_go_with_the_workspace(db: Database) -> None:
    with db.session() as s:
        customer_lists.replace_customers(s, TEAM, _customers("a", 2), source="hubspot", template_key="icp-core")
    with db.session() as s:
        s.execute(delete(Workspace).where(Workspace.team_id == TEAM))
    with db.session(read_only=True) as s:
        assert s.scalar(select(func.count()).select_from(CustomerRecord)) == 0
        assert customer_lists.customer_status(s, TEAM).customers == 0


def test_delete_customers(db: Database) -> None:
    with db.session() as s:
        customer_lists.replace_customers(s, TEAM, _customers("a", 4), source="mapping", template_key="icp-core")
    with db.session() as s:
        assert customer_lists.delete_customers(s, TEAM) == 4
    with db.session(read_only=True) as s:
        assert customer_lists.list_customers(s, TEAM) == []
        assert customer_lists.customer_status(s, TEAM).imported_at is None
