"""``/icp-check``: one listener, and the table of its subcommands.

The command is acknowledged at once (Slack allows 3 s); the subcommand then answers with an
ephemeral message through the command's response_url, or opens a modal. Leader-only
subcommands refuse everyone else politely; an unknown subcommand or a bad argument answers
with what was wrong and the right usage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners import icp_commands, round_commands, settings_commands
from bot.listeners.subcommand import Call, UsageError
from bot.middleware import Requester
from bot.payloads import SlashCommand
from bot.runtime import Runtime
from bot.views import leader_messages

log = logging.getLogger(__name__)

COMMAND = "/icp-check"


@dataclass(frozen=True)
class Subcommand:
    handler: Callable[[Call], None]
    everyone: bool = False  # False: leaders only


SUBCOMMANDS: dict[str, Subcommand] = {
    "help": Subcommand(lambda call: round_commands.help_(call, _allowed(call.requester)), everyone=True),
    "profile": Subcommand(round_commands.profile, everyone=True),
    "start": Subcommand(round_commands.start),
    "status": Subcommand(round_commands.status),
    "report": Subcommand(round_commands.report),
    "remind": Subcommand(round_commands.remind),
    "close": Subcommand(round_commands.close),
    "ratify": Subcommand(icp_commands.ratify),
    "fit": Subcommand(icp_commands.fit),
    "leaders": Subcommand(round_commands.leaders),
    "export": Subcommand(icp_commands.export),
    "settings": Subcommand(settings_commands.settings),
    "digest": Subcommand(settings_commands.digest_command),
    "pulse": Subcommand(settings_commands.pulse_command),
    "customers": Subcommand(settings_commands.customers_command),
}


def _allowed(requester: Requester) -> list[str]:
    """The subcommands this person may run, in the order help lists them."""
    return [name for name in leader_messages.USAGE
            if name in SUBCOMMANDS and (SUBCOMMANDS[name].everyone or requester.is_leader)]


def _answering(respond: Respond) -> Respond:
    """``respond``, with a response_url that cannot be reached (gone, or not Slack's) one log
    line rather than an exception after the ack."""
    def send(**kwargs):
        try:
            return respond(**kwargs)
        except OSError as exc:  # urllib's URLError included
            log.warning("could not answer through the command's response_url: %s", type(exc).__name__)
            return None

    return send  # type: ignore[return-value]


def icp_check(ack: Ack, slash_command: SlashCommand, requester: Requester, runtime: Runtime,
              client: WebClient, respond: Respond) -> None:
    ack()
    respond = _answering(respond)
    words = slash_command.words
    name = words[0].lower() if words else "help"
    subcommand = SUBCOMMANDS.get(name)
    if subcommand is None:
        respond(response_type="ephemeral", text=leader_messages.unknown_subcommand(name))
        return
    if not subcommand.everyone and not requester.is_leader:
        respond(response_type="ephemeral", text=leader_messages.NOT_A_LEADER.format(name=name))
        return
    call = Call(command=slash_command, args=words[1:], requester=requester, runtime=runtime, client=client,
                respond=respond)
    try:
        subcommand.handler(call)
    except UsageError as exc:
        respond(response_type="ephemeral", text=leader_messages.usage_error(str(exc), name))


def register(app: App) -> None:
    app.command(COMMAND)(icp_check)
