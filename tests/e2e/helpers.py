"""Shared constants and helpers for the end-to-end tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Answer, RoundParticipant, SurveyRound
from tests.fakeslack import (
    FakeSlack,
    Message,
    SlackClientSim,
    ViewRecord,
    ViewSubmissionBlocked,
    sign,
)

__all__ = ["FakeSlack", "SlackClientSim", "ViewRecord", "ViewSubmissionBlocked", "sign"]

SECRET = "e2e-signing-secret"
TEAM = "T0001"
LEADER = "U0LEAD"
STAFF = [f"U0STAFF{i:02d}" for i in range(1, 11)]
NAMES = {u: f"staffer-{i:02d}" for i, u in enumerate(STAFF, 1)}
OTHER_BOT = "U0OTHERBOT"
GONE = "U0GONE"  # a deactivated account

SECTION_CALLBACK = "survey_section"
DONE_CALLBACK = "survey_done"

# The designed answers of the 10 staff (index i is STAFF[i]).
INNOVATION = [4, 4, 4, 4, 5, 5, 3, 4, 4, 5]


def designed_answers(i: int) -> dict[str, Any]:
    return {
        "team": "sales" if i < 5 else "support",
        "value_drivers": ["spend", "tenure"] if i % 2 == 0 else ["spend"],
        "top20_revenue_share": "70",
        "geographic_reach": "national",
        "regions": ["europe"],
        "company_size": "51-200" if i < 7 else "11-50",
        "industry": ["software"],
        "decision_maker": "vp",
        "buying_motivation": "grow_revenue",
        "innovation_attitude": str(INNOVATION[i]),
        "risk_appetite": "3",
        "collaboration": "4",
        "price_sensitivity": "2",
        "incumbent_loyalty": "2",
        "why_us": "innovation",
        "deal_size": str((i + 1) * 10000),
        "acquisition_cost": "10000",
        "disqualifiers": ["deep_discounts"],
        "ideal_customer": "Mid-size software companies that want to grow revenue.",
        "confidence": "4",
    }


# ------------------------------------------------------------------------------ messages
def action_ids(blocks: list[dict[str, Any]] | None) -> list[str]:
    out = []
    for block in blocks or []:
        if block.get("type") == "actions":
            out += [el.get("action_id") for el in block.get("elements", [])]
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            out.append(block["accessory"].get("action_id"))
    return out


def button_value(blocks: list[dict[str, Any]] | None, action_id: str) -> str | None:
    for block in blocks or []:
        for el in block.get("elements", []) if block.get("type") == "actions" else []:
            if el.get("action_id") == action_id:
                return el.get("value")
    return None


def message_with(fake: FakeSlack, user: str, action_id: str) -> Message:
    """The latest message in the user's DM that has a button ``action_id``."""
    found = [m for m in fake.messages(user) if action_id in action_ids(m.blocks)]
    assert found, f"no message with {action_id!r} in {user}'s DM: {fake.messages(user)}"
    return found[-1]


def blocks_text(payload: dict[str, Any] | list[dict[str, Any]] | None) -> str:
    """Every text string in a message payload or block list, newline-joined."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return "\n".join(texts)


def question_ids(view: ViewRecord) -> list[str]:
    return [b["block_id"][2:] for b in view.blocks if str(b.get("block_id", "")).startswith("q:")]


def input_element(view: ViewRecord, qid: str) -> dict[str, Any]:
    return next(b["element"] for b in view.blocks if b.get("block_id") == f"q:{qid}")


def chat_updates(fake: FakeSlack, channel: str) -> list:
    return [c for c in fake.calls_to("chat.update") if c.params.get("channel") == channel]


# ------------------------------------------------------------------------------ commands
# These work with any delivery: in process they read the outcome at once (the bot is done when
# the request returns); from a real server (HTTP, Socket Mode) they wait for it, bounded.
def command(fake: FakeSlack, sim: SlackClientSim, user: str, text: str,
            timeout: float = 10.0) -> dict[str, Any]:
    """Run ``/icp-check <text>`` as ``user``; the first response through its response_url."""
    resp = sim.slash(user, text)
    assert resp.status == 200, resp.body
    assert resp.response_url
    url = resp.response_url
    return sim.expect(lambda: (fake.responses(url) or [None])[0], timeout=timeout)


def open_modal(sim: SlackClientSim, user: str, callback_id: str, timeout: float = 5.0) -> ViewRecord:
    """The user's top modal, once it is the one with ``callback_id``."""
    def ready():
        view = sim.fake.current_view(user)
        return view if view is not None and view.callback_id == callback_id else None

    return sim.expect(ready, timeout=timeout)


def start_round(fake: FakeSlack, sim: SlackClientSim, users: list[str] | None = None,
                **values: Any) -> int:
    """The leader starts a round for ``users`` (default: the 10 staff); its round id once the
    invitations are out and the leader's summary DM is posted."""
    users = STAFF if users is None else users
    before = len(fake.messages(LEADER))
    resp = sim.slash(LEADER, "start")
    assert resp.status == 200
    open_modal(sim, LEADER, "round_start")
    ack = sim.submit(LEADER, values={"users": users, "delivery": "now", **values})
    assert ack.response_action is None, dict(ack)
    summary = sim.expect(
        lambda: next((m for m in fake.messages(LEADER)[before:] if "is open" in m.text), None),
        timeout=15)
    return int(summary.text.split()[1].rstrip(","))


def answer_round(sim: SlackClientSim, fake: FakeSlack, user: str, answers: dict[str, Any], *,
                 button: str = "survey_start", stop_after: int | None = None,
                 expect_done: bool = True) -> ViewRecord | None:
    """Click ``button`` in the user's DM and submit each section's modal with ``answers``
    (question id -> value, for the questions the section shows; unanswered blocks keep their
    pre-filled value). Stops after ``stop_after`` sections, else at the thank-you view, once
    the invitation has turned into a receipt."""
    msg = message_with(fake, user, button)
    updates_before = len(chat_updates(fake, msg.channel))
    resp = sim.click(user, msg, button)
    assert resp.status == 200
    view = open_modal(sim, user, SECTION_CALLBACK)
    submitted = 0
    while view is not None and view.callback_id == SECTION_CALLBACK:
        if stop_after is not None and submitted >= stop_after:
            return view
        values = {f"q:{q}": answers[q] for q in question_ids(view) if q in answers}
        ack = sim.submit(user, values=values)
        assert ack.response_action == "update", (question_ids(view), dict(ack))
        submitted += 1
        assert submitted <= 20, "the survey never ended"
        view = fake.current_view(user)
    if expect_done:
        assert view is not None and view.callback_id == DONE_CALLBACK, view
        # the invitation becomes a receipt after the person is marked complete
        sim.expect(lambda: len(chat_updates(fake, msg.channel)) > updates_before)
    return view


# ------------------------------------------------------------------------------ database
def stored_answers(db: Database, user: str, round_id: int) -> dict[str, Any]:
    with db.session(read_only=True) as s:
        rows = s.execute(select(Answer.question_id, Answer.value)
                         .where(Answer.round_id == round_id, Answer.user_id == user))
        return {q: v for q, v in rows}


def answer_row_counts(db: Database, user: str, round_id: int) -> dict[str, int]:
    with db.session(read_only=True) as s:
        rows = s.execute(select(Answer.question_id, func.count())
                         .where(Answer.round_id == round_id, Answer.user_id == user)
                         .group_by(Answer.question_id))
        return {q: n for q, n in rows}


def count_rows(db: Database, model) -> int:
    with db.session(read_only=True) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def participants(db: Database, round_id: int) -> dict[str, RoundParticipant]:
    with db.session(read_only=True) as s:
        rows = s.execute(select(RoundParticipant).where(RoundParticipant.round_id == round_id)).scalars()
        out = {p.user_id: p for p in rows}
        s.expunge_all()
        return out


def round_status(db: Database, round_id: int) -> str:
    with db.session(read_only=True) as s:
        return s.get(SurveyRound, round_id).status


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


def reminders_go_out_now(db: Database, team_id: str = TEAM) -> None:
    """Working hours off for the workspace: reminders go out at once whatever the wall clock
    says (the tests of working hours set a clock of their own)."""
    from storage import workspaces

    with db.session() as s:
        workspaces.get_or_create_workspace(s, team_id)
        workspaces.update_workspace(s, team_id, working_hours=None)
