"""2-5. Staff answering through the section modals: the report's figures, resuming halfway,
editing from the receipt, and invalid values refused in the modal."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.services.reporting import round_report

from .helpers import (
    INNOVATION,
    LEADER,
    NAMES,
    SECTION_CALLBACK,
    STAFF,
    TEAM,
    ViewSubmissionBlocked,
    action_ids,
    answer_round,
    answer_row_counts,
    blocks_text,
    command,
    designed_answers,
    input_element,
    message_with,
    open_modal,
    participants,
    question_ids,
    stored_answers,
)
from .leader_steps import close_round

COMPANY_SIZE_OPTIONS = 6  # K: options offered by icp-core's company_size


def _kappa(answers: list[str], k: int) -> float:
    """Free-marginal kappa by hand: P = (sum n_j^2 - n) / (n (n - 1)), (P - 1/K) / (1 - 1/K)."""
    n = len(answers)
    p = (sum(c * c for c in Counter(answers).values()) - n) / (n * (n - 1))
    return (p - 1 / k) / (1 - 1 / k)


def _rwg(values: list[int], points: int) -> float:
    """r_WG by hand: 1 - s^2 / ((A^2 - 1) / 12), s^2 the sample variance."""
    n = len(values)
    mean = sum(values) / n
    s2 = sum((x - mean) ** 2 for x in values) / (n - 1)
    return 1 - s2 / ((points * points - 1) / 12)


def _report_line(blocks: list[dict], prompt: str) -> str:
    """The trait's line in the table (the one with its index bar), not its headline mention."""
    lines = [ln for ln in blocks_text(blocks).splitlines() if f"*{prompt}*" in ln and "`" in ln]
    assert len(lines) == 1, (prompt, blocks_text(blocks))
    return lines[0]


def test_report_matches_hand_computed_agreement(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    for i, user in enumerate(STAFF):
        answer_round(sim, fake, user, designed_answers(i))
    people = participants(db, open_round)
    assert all(p.completed_at is not None for p in people.values())
    # every answer stored, canonical values
    first = stored_answers(db, STAFF[0], open_round)
    assert len(first) == 20
    assert first["company_size"] == "51-200" and first["innovation_attitude"] == 4
    assert sorted(first["value_drivers"]) == ["spend", "tenure"] and first["deal_size"] == 10000

    sizes = [designed_answers(i)["company_size"] for i in range(10)]
    assert Counter(sizes) == {"51-200": 7, "11-50": 3}
    kappa = _kappa(sizes, COMPANY_SIZE_OPTIONS)  # (58 - 10) / 90 = 0.5333 -> 0.44
    assert kappa == pytest.approx(0.44)
    rwg = _rwg(INNOVATION, 5)  # s^2 = 0.4, sigma_E^2 = 2 -> 0.80
    assert rwg == pytest.approx(0.8)
    # value_drivers: 5 x {spend, tenure}, 5 x {spend}: mean pairwise Jaccard (20 + 25/2) / 45
    jaccard = (10 * 1 + 10 * 1 + 25 * 0.5) / 45
    # deal_size 10k..100k: quartiles (type 7) 32.5k and 77.5k; the index floors the quartile
    # coefficient at the question's resolution c = min(1, (max - min) / 100) = 1 dollar:
    # 1 - (Q3 - Q1) / (|Q3| + |Q1| + 2c) = 1 - 45,000 / 110,002
    qcd_index = 1 - 45000 / (110000 + 2 * 1)

    close_round(fake, sim, open_round)  # figures of an open round come in steps: all ten once closed
    response = command(fake, sim, LEADER, "report")
    assert response["response_type"] == "ephemeral"
    assert "_rejected" not in response
    blocks = response["blocks"]
    text = blocks_text(blocks)
    assert "ICP alignment:" in text and "10 respondents" in text
    assert "Alignment score:" in text
    assert f" {kappa:.2f}  *Company size*" in _report_line(blocks, "Company size")
    assert "51-200 employees (70%)" in _report_line(blocks, "Company size")
    assert f" {rwg:.2f}  *Attitude to change*" in _report_line(blocks, "Attitude to change")
    assert f" {jaccard:.2f}  *What makes them valuable*" in _report_line(blocks, "What makes them valuable")
    assert f" {qcd_index:.2f}  *Deal size*" in _report_line(blocks, "Deal size")
    for user in STAFF:  # anonymous: no staff ids, no names
        assert user not in json.dumps(response)
        assert NAMES[user] not in text

    result = round_report(db, TEAM, open_round)
    assert result is not None
    data = json.loads(result.report.model_dump_json())
    by_id = {q["id"]: q for q in data["questions"]}
    assert data["respondents"] == 10
    assert abs(by_id["company_size"]["agreement"] - kappa) < 1e-9
    assert by_id["company_size"]["consensus"] == "51-200"
    assert abs(by_id["innovation_attitude"]["agreement"] - rwg) < 1e-9
    assert abs(by_id["innovation_attitude"]["details"]["variance"] - 0.4) < 1e-9
    assert abs(by_id["value_drivers"]["agreement"] - jaccard) < 1e-9
    assert by_id["value_drivers"]["consensus"] == ["spend"]
    assert abs(by_id["deal_size"]["agreement"] - qcd_index) < 1e-9
    assert by_id["deal_size"]["consensus"] == 55000
    assert by_id["risk_appetite"]["agreement"] == 1.0  # everyone answered 3
    assert data["teams"] == {"sales": 5, "support": 5}


def test_stop_halfway_and_resume(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user, answers = STAFF[3], designed_answers(3)
    view = answer_round(sim, fake, user, answers, stop_after=2, expect_done=False)
    assert question_ids(view) == ["regions", "buying_motivation", "innovation_attitude", "risk_appetite",
                                  "collaboration", "price_sensitivity", "incumbent_loyalty"]
    assert sim.close_view(user).status == 200  # "Save & close" with nothing entered: nothing to keep
    assert fake.current_view(user) is None

    kept = stored_answers(db, user, open_round)
    assert kept == {"value_drivers": ["spend"], "top20_revenue_share": 70, "company_size": "51-200",
                    "industry": ["software"], "decision_maker": "vp", "geographic_reach": "national"}
    assert participants(db, open_round)[user].completed_at is None

    status = command(fake, sim, LEADER, "status")
    status_text = blocks_text(status)
    assert "finished: 0 (0%)" in status_text and "started, not finished: 1" in status_text
    assert "Invited: 10" in status_text
    dumped = json.dumps(status)
    for person in [*STAFF, LEADER]:
        assert person not in dumped
    for name in [*NAMES.values(), "lead"]:
        assert name not in status_text.lower().replace("leaders", "")

    # Start again: the first unanswered section opens, the saved answers are still there
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    view = open_modal(sim, user, SECTION_CALLBACK)
    assert question_ids(view)[0] == "regions"
    assert stored_answers(db, user, open_round) == kept
    view = answer_round(sim, fake, user, answers)
    assert view.callback_id == "survey_done"
    assert len(stored_answers(db, user, open_round)) == 20
    assert participants(db, open_round)[user].completed_at is not None


def test_edit_from_receipt_prefills_and_replaces(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user, answers = STAFF[0], designed_answers(0)
    answer_round(sim, fake, user, answers)
    receipt = fake.messages(user)[0]  # the invitation, updated in place
    assert len(fake.messages(user)) == 1
    assert receipt.edited and action_ids(receipt.blocks) == ["survey_edit"]
    assert "answers" in receipt.text and "saved" in receipt.text

    sim.click(user, receipt, "survey_edit")
    view = open_modal(sim, user, SECTION_CALLBACK)
    refreshes = len(fake.calls_to("chat.update")) + len(fake.calls_to("views.publish"))
    assert question_ids(view) == ["value_drivers", "top20_revenue_share"]  # edit starts at the first section
    assert float(input_element(view, "top20_revenue_share")["initial_value"]) == 70
    assert json.loads(view.private_metadata)["mode"] == "edit"
    seen = {}
    while view is not None and view.callback_id == SECTION_CALLBACK:
        for qid in question_ids(view):
            seen[qid] = input_element(view, qid)
        change = {"q:company_size": "201-1000"} if "company_size" in question_ids(view) else {}
        ack = sim.submit(user, values=change)  # everything else as pre-filled
        assert ack.response_action == "update", dict(ack)
        view = fake.current_view(user)
    assert view.callback_id == "survey_done"
    # the receipt and App Home already said "done": an edit refreshes neither
    assert len(fake.calls_to("chat.update")) + len(fake.calls_to("views.publish")) == refreshes
    # every question came back pre-filled with the stored answer
    assert seen["company_size"]["initial_option"]["value"] == "51-200"
    assert sorted(o["value"] for o in seen["value_drivers"]["initial_options"]) == ["spend", "tenure"]
    assert seen["innovation_attitude"]["initial_option"]["value"] == "4"
    assert float(seen["deal_size"]["initial_value"]) == 10000
    assert seen["ideal_customer"]["initial_value"] == answers["ideal_customer"]

    stored = stored_answers(db, user, open_round)
    assert stored["company_size"] == "201-1000"
    assert stored["team"] == "sales" and stored["deal_size"] == 10000
    counts = answer_row_counts(db, user, open_round)
    assert len(counts) == 20 and set(counts.values()) == {1}


def test_invalid_values_refused_in_the_modal(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user = STAFF[5]
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    view = open_modal(sim, user, SECTION_CALLBACK)
    assert question_ids(view) == ["value_drivers", "top20_revenue_share"]

    # Slack's client stops a 4th choice (max_selected_items); a forged submission is refused by the bot
    ack = sim.submit(user, values={"q:value_drivers": ["spend", "tenure", "frequency", "referrals"],
                                   "q:top20_revenue_share": "70"}, check_client_side=False)
    assert ack.response_action == "errors"
    assert set(ack.errors) == {"q:value_drivers"}
    message = ack.errors["q:value_drivers"]
    assert "3" in message and len(message) <= 150 and "Traceback" not in message
    assert fake.current_view(user).id == view.id  # the modal stays
    assert stored_answers(db, user, open_round) == {}

    # Slack's client refuses an out-of-bounds number; a forged submission is refused by the bot
    with pytest.raises(ViewSubmissionBlocked):
        sim.submit(user, values={"q:value_drivers": ["spend"], "q:top20_revenue_share": "150"})
    ack = sim.submit(user, values={"q:value_drivers": ["spend"], "q:top20_revenue_share": "150"},
                     check_client_side=False)
    assert ack.response_action == "errors"
    assert set(ack.errors) == {"q:top20_revenue_share"}
    assert "100" in ack.errors["q:top20_revenue_share"]
    assert fake.current_view(user).id == view.id
    assert stored_answers(db, user, open_round) == {}

    # below the minimum, forged the same way
    ack = sim.submit(user, values={"q:value_drivers": ["spend"], "q:top20_revenue_share": "-5"},
                     check_client_side=False)
    assert ack.response_action == "errors" and set(ack.errors) == {"q:top20_revenue_share"}
    assert stored_answers(db, user, open_round) == {}

    # the valid answer then goes through and the next section opens
    ack = sim.submit(user, values={"q:value_drivers": ["spend", "tenure"], "q:top20_revenue_share": "70"})
    assert ack.response_action == "update"
    assert question_ids(fake.current_view(user))[0] == "company_size"
    assert stored_answers(db, user, open_round)["value_drivers"] == ["spend", "tenure"]
