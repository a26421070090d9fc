"""Per-item claims between processes: a transaction-level advisory lock on a key.

Work that several processes may all find due (a workspace's weekly digest, say) is claimed
item by item: the process that gets the key's lock does the item inside that transaction,
the others skip it and go on to the next item, so the items are shared out instead of done
by one process while the others wait. PostgreSQL: ``pg_try_advisory_xact_lock`` on a 64-bit
hash of the key (``hashtextextended``), released at commit or rollback. Other databases (one
process; SQLite serialises writers anyway): always granted.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def try_claim(session: Session, key: str) -> bool:
    """True when this transaction now holds ``key``'s lock (until it ends); False when another
    transaction holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
                                {"k": key}).scalar())
