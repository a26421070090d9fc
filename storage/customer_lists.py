"""A workspace's customer list: replaced whole on each import, read back as ``survey`` customers.

Customer data is the company's, not the staff's: it lives only in this table, goes with the
workspace (ON DELETE CASCADE), and is handed out as ``survey.customers.Customer`` objects for
aggregate views; nothing here posts or logs a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.icp import profile_to_json
from storage.models import CustomerRecord, Workspace, utcnow
from storage.workspaces import get_or_create_workspace
from survey.customers import Customer


@dataclass(frozen=True)
class CustomerListStatus:
    """What ``/icp-check customers`` shows about the import: no rows, only counts."""

    customers: int
    total_revenue: float
    source: str | None
    template_key: str | None
    imported_at: datetime | None
    imported_by: str | None


def replace_customers(
    session: Session,
    team_id: str,
    customers: Sequence[Customer],
    *,
    source: str,
    template_key: str,
    imported_by: str | None = None,
    at: datetime | None = None,
) -> int:
    """Replace the workspace's customer list with ``customers`` in the caller's unit of work.

    The old list is deleted and the new one inserted in the same transaction, so a reader
    sees either list whole; a failure (say, a duplicate id) leaves the old list in place.
    The workspace row is locked first so two imports at once run one after the other.
    """
    get_or_create_workspace(session, team_id)
    session.execute(select(Workspace.team_id).where(Workspace.team_id == team_id).with_for_update())
    session.execute(delete(CustomerRecord).where(CustomerRecord.team_id == team_id))
    when = at or utcnow()
    session.add_all(
        CustomerRecord(
            team_id=team_id,
            external_id=c.id,
            name=c.name,
            revenue=float(c.revenue),
            deals=c.deals,
            customer_since=c.customer_since,
            traits=profile_to_json(c.traits),
            source=source,
            template_key=template_key,
            imported_by=imported_by,
            imported_at=when,
        )
        for c in customers
    )
    session.flush()
    return len(customers)


def list_customers(session: Session, team_id: str) -> list[Customer]:
    """The workspace's customers, in the order of their ids."""
    rows = session.scalars(
        select(CustomerRecord).where(CustomerRecord.team_id == team_id).order_by(CustomerRecord.external_id)
    )
    return [
        Customer(id=r.external_id, name=r.name, revenue=r.revenue, deals=r.deals,
                 customer_since=r.customer_since, traits=dict(r.traits or {}))
        for r in rows
    ]


def customer_status(session: Session, team_id: str) -> CustomerListStatus:
    """How many customers, their revenue, and where and when the list came from."""
    count, total = session.execute(
        select(func.count(CustomerRecord.id), func.coalesce(func.sum(CustomerRecord.revenue), 0.0))
        .where(CustomerRecord.team_id == team_id)
    ).one()
    latest = session.scalars(
        select(CustomerRecord).where(CustomerRecord.team_id == team_id)
        .order_by(CustomerRecord.imported_at.desc()).limit(1)
    ).first()
    return CustomerListStatus(
        customers=int(count), total_revenue=float(total),
        source=latest.source if latest else None,
        template_key=latest.template_key if latest else None,
        imported_at=latest.imported_at if latest else None,
        imported_by=latest.imported_by if latest else None,
    )


def delete_customers(session: Session, team_id: str) -> int:
    """Remove the workspace's customer list; the number of rows removed."""
    result = session.execute(delete(CustomerRecord).where(CustomerRecord.team_id == team_id))
    return int(result.rowcount or 0)
