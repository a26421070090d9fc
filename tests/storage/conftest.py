"""Storage test helpers: a workspace with an open round, and a way to race threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from storage import rounds, templates
from storage.db import Database

TEAM = "T0001"


@dataclass
class OpenRound:
    id: int
    template_id: int


@pytest.fixture
def open_round(db: Database) -> OpenRound:
    """An open round of the built-in icp-core template with participants U1 (sales),
    U2 (support) and U3 (no team)."""
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        survey_round = rounds.create_round(s, TEAM, stored.id, title="Q4 ICP check", created_by="ULEAD")
        rounds.add_participants(s, survey_round.id, [("U1", "sales"), ("U2", "support"), ("U3", None)])
        return OpenRound(id=survey_round.id, template_id=stored.id)


@pytest.fixture
def race() -> Callable[[int, Callable[[int], Any]], list[Any]]:
    """``race(n, fn)``: see ``run_in_threads``."""
    return run_in_threads


def run_in_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; re-raise the first error."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results
