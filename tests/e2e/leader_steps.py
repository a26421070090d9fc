"""Leader steps that take more than one request since issue 18: closing a round asks for
confirmation (an ephemeral "Close round" button behind Slack's confirmation dialog)."""

from __future__ import annotations

from typing import Any

from .helpers import LEADER, FakeSlack, SlackClientSim, command

CLOSE = "round_close_confirmed"


def _has_close(blocks: list[dict[str, Any]] | None) -> bool:
    return any(el.get("action_id") == CLOSE for b in blocks or [] if b.get("type") == "actions"
               for el in b["elements"])


def close_round(fake: FakeSlack, sim: SlackClientSim, round_id: int | None = None,
                user: str = LEADER) -> dict[str, Any]:
    """``/icp-check close [round]``, then "Close round" confirmed in Slack's dialog: the reply
    that replaces the question (or the command's own answer when there is nothing to confirm),
    as ``{"text", "blocks"}``."""
    question = command(fake, sim, user, f"close {round_id}" if round_id else "close")
    if not _has_close(question.get("blocks")):
        return question
    button = next(el for b in question["blocks"] if b.get("type") == "actions" for el in b["elements"]
                  if el.get("action_id") == CLOSE)
    assert button["confirm"]["confirm"]["text"] == "Close round"  # Slack asks before the click arrives
    eph = fake.wait_for(lambda: next((e for e in reversed(fake.ephemerals(user)) if _has_close(e.blocks)), None))
    assert sim.click(user, {"channel": eph.channel, "ts": eph.ts}, CLOSE).status == 200
    done = fake.wait_for(lambda: next((e for e in fake.ephemerals(user)
                                       if e.ts == eph.ts and not _has_close(e.blocks)), None), timeout=10)
    return {"text": done.text, "blocks": done.blocks}
