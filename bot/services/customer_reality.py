"""Perception against reality for a workspace: its imported customer list beside the staff's
answers of the latest closed round, for ``/icp-check customers`` and the digest. Figures only:
no customer is ever named on a Slack surface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.services.profiles import load_icp
from bot.services.reporting import round_report
from storage import rounds
from storage.db import Database

if TYPE_CHECKING:
    from storage.customer_lists import CustomerListStatus
    from survey.reality import RealityComparison


@dataclass(frozen=True)
class CustomerReality:
    status: CustomerListStatus
    round_title: str | None
    comparison: RealityComparison | None


def customer_reality(db: Database, team_id: str, *, personas: bool = True) -> CustomerReality:
    """The import status, and the comparison with the latest closed round (None without one,
    or without customers)."""
    from storage import customer_lists  # the customer stack (CSV, CRM mapping): not at start-up

    with db.session(read_only=True) as session:
        status = customer_lists.customer_status(session, team_id)
        imported = customer_lists.list_customers(session, team_id) if status.customers else []
        closed = rounds.latest_round(session, team_id, status="closed")
        loaded = load_icp(session, team_id)
    if not imported or closed is None:
        return CustomerReality(status=status, round_title=closed.title if closed else None, comparison=None)
    result = round_report(db, team_id, closed.id, bootstrap=0)
    if result is None:
        return CustomerReality(status=status, round_title=closed.title, comparison=None)
    from survey.reality import reality_for  # numpy, scikit-learn, kmodes: not at start-up

    profile = loaded[0] if loaded and loaded[1].template.id == result.template.id else None
    comparison = reality_for(result.report, result.template, imported, profile)
    if not personas:
        comparison = comparison.model_copy(update={"personas": []})
    return CustomerReality(status=status, round_title=closed.title, comparison=comparison)
