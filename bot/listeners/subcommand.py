"""One ``/icp-check <name> [args]`` invocation as its handler sees it, and its argument
parsing. Handlers live in ``round_commands`` and ``icp_commands``; the table that names them
is in ``commands``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.middleware import Requester
from bot.payloads import SlashCommand
from bot.runtime import Runtime

ROUND_ARG = re.compile(r"#?([0-9]{1,18})")  # ASCII digits only, and within a 64-bit row id


TRIGGER_HINT = {"expired_trigger_id": "Slack's form trigger expired; please run the command again.",
                "invalid_trigger_id": "Slack's form trigger expired; please run the command again."}


class UsageError(ValueError):
    """A bad argument; the message says what was wrong."""


@dataclass
class Call:
    command: SlashCommand
    args: list[str]
    requester: Requester
    runtime: Runtime
    client: WebClient
    respond: Respond

    @property
    def team_id(self) -> str:
        return self.command.team_id

    def reply(self, text: str, blocks=None) -> None:
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def round_arg(call: Call) -> int | None:
    """An optional round number argument ("report 3" or "report #3")."""
    if not call.args:
        return None
    match = ROUND_ARG.fullmatch(call.args[0])
    if match is None or int(match.group(1)) == 0:
        raise UsageError(f"'{call.args[0]}' is not a round number")
    return int(match.group(1))


def trigger_of(call: Call) -> str:
    if not call.command.trigger_id:
        raise UsageError("Slack sent no trigger to open the form; try again")
    return call.command.trigger_id
