"""Every ``/icp-check`` subcommand, fuzzed: junk arguments and mistyped, missing, oversized
or odd form fields, from a leader, a staff member or an unknown user (see fuzzing.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.listeners.commands import SUBCOMMANDS

from .fuzzing import check, deliver, form_body, fuzz, maybe_truncated, mutated, odd_text
from .helpers import LEADER, STAFF, start_round

ARGS = st.sampled_from(["1", "2", "latest", "on", "off", "now", "add", "remove", "<@U0STAFF01>", "weekly",
                        "monday", "threshold", "5", "help", "import"]) | odd_text

# What a valid command may write (row counts); everything else must leave them as they were.
WRITES = {"remind": {"outbox"}, "pulse": {"rounds", "participants", "outbox"}}


def _form(fake, user: str, text: str) -> dict[str, str]:
    channel = "D" + user
    return {"token": "verification-token", "team_id": fake.team_id, "team_domain": fake.team_domain,
            "channel_id": channel, "channel_name": "directmessage", "user_id": user, "user_name": user.lower(),
            "command": "/icp-check", "text": text, "api_app_id": fake.app_id, "is_enterprise_install": "false",
            "response_url": fake.new_response_url("commands", channel, user),
            "trigger_id": fake.new_trigger_id(user)}


def _allowed(name: str):
    may = WRITES.get(name, set())

    def allowed(before: dict[str, int], after: dict[str, int]) -> bool:
        return all(after[k] == before[k] or (k in may and after[k] >= before[k]) for k in before)

    return allowed


@pytest.fixture
def fuzz_world(world):
    start_round(world.fake, world.sim, users=STAFF[:3])
    return world


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_answers_cleanly_whatever_its_arguments(fuzz_world, caplog, name):
    world = fuzz_world

    @fuzz(10)
    @given(user=st.sampled_from([LEADER, STAFF[0], "U0NOBODY"]), args=st.lists(ARGS, max_size=3),
           case=st.data())
    def example(user, args, case):
        form = _form(world.fake, user, " ".join([name, *args]))
        if case.draw(st.booleans()):
            form = case.draw(mutated(form, focus=("text", "user_id", "team_id", "trigger_id")))
        body = case.draw(maybe_truncated(form_body(form)))
        check(world, caplog, lambda: deliver(world.app, body, "application/x-www-form-urlencoded"),
              allowed=_allowed(name))

    example()
