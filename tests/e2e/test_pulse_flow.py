"""A leader sends a StrategyCheck from Slack; staff answer with one click in the DM."""

from __future__ import annotations

from .helpers import LEADER, STAFF, action_ids, command, designed_answers
from .leader_steps import close_round


def test_pulse_now_then_one_click_answers(world, open_round, answer_round):
    fake, sim = world.fake, world.sim
    assert "are off" in command(fake, sim, LEADER, "pulse")["text"]
    assert "no round has closed" in command(fake, sim, LEADER, "pulse now")["text"]
    for i, user in enumerate(STAFF[:6]):  # half say a VP signs the deal, half the founder: a split
        answer_round(sim, fake, user, {**designed_answers(i), "decision_maker": "vp" if i % 2 else "founder_ceo"})
    close_round(fake, sim, open_round)

    reply = command(fake, sim, LEADER, "pulse now")["text"]
    assert reply.startswith("StrategyCheck on") and "sent to 10 people" in reply
    def answered_updates():
        return [c for c in fake.calls_to("chat.update") if "you said" in str(c.params.get("blocks"))]

    for n, user in enumerate(STAFF[:3], 1):
        dm = next(m for m in reversed(fake.messages(user))
                  if any(a.startswith("pulse_answer:") for a in action_ids(m.blocks)))
        assert "Where do you stand now?" in str(dm.blocks) and "Decision maker" in dm.text
        sim.click(user, dm, "pulse_answer:0")
        fake.wait_for(lambda n=n: len(answered_updates()) == n, timeout=10)
    updates = fake.wait_for(lambda: len(answered_updates()) == 3 and answered_updates(), timeout=10)
    assert [c.params["channel"] for c in updates] == ["D" + u for u in STAFF[:3]]  # each their own DM
    assert "How the team answered so far" not in str(updates[0].params["blocks"])  # 1 answer: hidden
    assert "How the team answered so far" in str(updates[2].params["blocks"])  # 3 answers: shown

    on = command(fake, sim, LEADER, "pulse on every 2 weeks")["text"]
    assert on.startswith("StrategyCheck pulses every 14 days")
    assert "every 14 days" in command(fake, sim, LEADER, "pulse")["text"]
    assert command(fake, sim, LEADER, "pulse off")["text"] == "StrategyCheck pulses are off."
