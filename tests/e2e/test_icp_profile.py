"""10. After a round: ratify the consensus as ICP version 1, read it with `profile`, score
prospects with `fit`, and export the answers as a pseudonymous CSV by DM."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from storage import rounds
from storage.models import IcpVersion

from .helpers import (
    LEADER,
    STAFF,
    answer_round,
    blocks_text,
    command,
    designed_answers,
    open_modal,
)

RESPONDENTS = STAFF[:4]


@pytest.fixture
def answered_round(world, open_round) -> int:
    """Four finished, then closed: an open round's figures come in steps of three finished."""
    for i, user in enumerate(RESPONDENTS):
        answer_round(world.sim, world.fake, user, designed_answers(i))
    with world.db.session() as session:
        rounds.close_round(session, open_round)
    return open_round


def _prefill(view) -> dict:
    """question id -> the value its input starts with, as the simulator takes it."""
    out = {}
    for block in view.blocks:
        bid = str(block.get("block_id", ""))
        if not bid.startswith("q:"):
            continue
        el = block["element"]
        if el.get("initial_option"):
            out[bid[2:]] = el["initial_option"]["value"]
        elif el.get("initial_options"):
            out[bid[2:]] = [o["value"] for o in el["initial_options"]]
        elif el.get("initial_value") is not None:
            out[bid[2:]] = el["initial_value"]
    return out


def _ratify(world) -> dict:
    sim = world.sim
    sim.slash(LEADER, "ratify")
    view = open_modal(sim, LEADER, "icp_ratify", timeout=10)
    prefill = _prefill(view)
    ack = sim.submit(LEADER)  # as pre-filled: the consensus
    assert ack.response_action == "update", dict(ack)
    assert ack["view"]["callback_id"] == "icp_ratified"
    assert "Version 1 of our ICP is ratified" in blocks_text(ack["view"]["blocks"])
    return prefill


def test_ratify_prefills_consensus_and_profile_shows_it(world, answered_round):
    fake, db = world.fake, world.db
    prefill = _ratify(world)
    # the consensus of the 4 designed answers
    assert prefill["company_size"] == "51-200"
    assert prefill["value_drivers"] == ["spend"]  # tenure is chosen by 2 of 4: no majority
    assert prefill["innovation_attitude"] == "4"
    assert prefill["why_us"] == "innovation"
    assert float(prefill["deal_size"]) == 25000  # median of 10k..40k
    assert prefill["disqualifiers"] == ["deep_discounts"]
    assert "team" not in prefill and "ideal_customer" not in prefill

    with db.session(read_only=True) as s:
        versions = s.execute(select(IcpVersion.version, IcpVersion.source_round_id)).all()
    assert versions == [(1, answered_round)]

    profile = command(fake, world.sim, STAFF[9], "profile")  # anyone may read it
    text = blocks_text(profile)
    assert "Our ideal customer profile (version 1)" in text
    assert "51-200 employees" in text
    assert "Walk away when:* Wins only through deep discounts" in text


def _fit(world, values: dict) -> dict:
    sim = world.sim
    sim.slash(LEADER, "fit")
    open_modal(sim, LEADER, "icp_fit", timeout=10)
    ack = sim.submit(LEADER, values={"prospect_name": "Acme", **{f"q:{k}": v for k, v in values.items()}})
    assert ack.response_action == "update", dict(ack)
    assert ack["view"]["callback_id"] == "icp_fit_result"
    sim.close_view(LEADER)
    return ack["view"]


def test_fit_scores_matching_prospect_high_and_disqualified_zero(world, answered_round):
    prefill = _ratify(world)
    world.sim.close_view(LEADER)
    prospect = {k: v for k, v in prefill.items() if k != "disqualifiers"}
    text = blocks_text(_fit(world, prospect)["blocks"])
    score = int(re.search(r"\(fit (\d+)/100\)", text).group(1))
    assert score >= 80 and "strong fit" in text and "Acme" in text

    walk = blocks_text(_fit(world, {**prospect, "disqualifiers": ["deep_discounts"]})["blocks"])
    assert "walk away" in walk and "(fit 0/100)" in walk
    assert "Wins only through deep discounts" in walk


def test_fit_form_is_for_leaders(world, answered_round):
    _ratify(world)
    response = command(world.fake, world.sim, STAFF[0], "fit")
    assert "is for ICP Align leaders" in response["text"]


def test_export_sends_pseudonymous_csv_to_leader(world, answered_round):
    fake = world.fake
    response = command(fake, world.sim, LEADER, "export", timeout=15)
    assert response["text"].startswith("Sent to your DMs"), response
    assert len(fake.calls_to("files.completeUploadExternal")) == 1
    uploads = [f for f in fake.files.values() if f["completed"]]
    assert len(uploads) == 1
    upload = uploads[0]
    assert upload["channels"] == ["D" + LEADER]
    content = upload["content"].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == len(RESPONDENTS)
    assert list(rows[0])[:2] == ["respondent", "team"]
    respondents = [r["respondent"] for r in rows]
    assert len(set(respondents)) == len(RESPONDENTS)
    for value in respondents:
        assert value and not re.fullmatch(r"[UW][A-Z0-9]{7,}", value)
    for user in [*STAFF, LEADER]:
        assert user not in content
    assert sorted(r["company_size"] for r in rows) == ["51-200"] * 4
    # nobody else got a file
    assert all(f["channels"] == ["D" + LEADER] for f in fake.files.values() if f["completed"])
    assert [m for m in fake.messages(LEADER) if m.files]
