"""/icp-check customers and the digest put the staff's answers beside the customers who bring
the revenue, in figures only."""

from __future__ import annotations

from storage import customer_lists, rounds
from survey.customers import Customer

from .helpers import LEADER, STAFF, blocks_text, command, designed_answers


def _customers() -> list[Customer]:
    # the top 20% by revenue (1 of 5) is a 201-1000 company; the rest 51-200
    sizes = ["201-1000", "51-200", "51-200", "51-200", "51-200"]
    revenue = [900_000.0, 40_000.0, 30_000.0, 20_000.0, 10_000.0]
    return [Customer(id=f"acc-{i}", name=f"SECRET-NAME-{i}", revenue=r, traits={"company_size": s})
            for i, (s, r) in enumerate(zip(sizes, revenue, strict=True))]


def test_customers_beside_the_staffs_answers_and_in_the_digest(world, open_round, answer_round):
    fake, sim, db = world.fake, world.sim, world.db
    assert "No customer list is imported yet" in command(fake, sim, LEADER, "customers")["text"]
    with db.session() as s:
        customer_lists.replace_customers(s, fake.team_id, _customers(), source="hubspot", template_key="icp-core")
    assert "comes once a round has closed" in command(fake, sim, LEADER, "customers")["text"]
    for i, user in enumerate(STAFF[:6]):
        answer_round(sim, fake, user, designed_answers(i))
    with db.session() as s:
        rounds.close_round(s, open_round)

    text = command(fake, sim, LEADER, "customers")["text"]
    assert text.startswith("*Customers*: 5 accounts from hubspot")
    assert "Revenue concentration: the top 20% of customers (1 of 5) bring 90% of revenue" in text
    assert "top 20% of customers by revenue are 201-1000" in text
    assert "SECRET-NAME" not in text and "acc-" not in text  # no customer is named
    assert "is for ICP Align leaders" in command(fake, sim, STAFF[0], "customers")["text"]

    fake.add_channel("C0LEAD", "leadership", members=[LEADER])
    command(fake, sim, LEADER, "digest <#C0LEAD|leadership>")
    command(fake, sim, LEADER, "digest now")
    digest = blocks_text(fake.messages("C0LEAD")[-1].blocks)
    assert "Perception and reality" in digest and "201-1000" in digest and "SECRET-NAME" not in digest
