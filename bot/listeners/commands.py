"""``/icp-check``: the leaders' command, and ``profile`` / ``help`` for everyone.

Every subcommand acks at once (Slack allows 3 s) and answers with an ephemeral message
through the command's response_url, or opens a modal with the command's trigger_id.
Leader-only subcommands refuse everyone else politely; an unknown subcommand or a bad
argument answers with what was wrong and the right usage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.payloads import BlockAction, MalformedPayload, SlashCommand, ViewSubmission, parse
from bot.services import access, round_launch
from bot.services import rounds as round_service
from bot.services.profiles import load_icp
from bot.services.reporting import round_report
from bot.views import leader_modals, report_blocks
from bot.views.text import escape
from storage import rounds, templates, workspaces
from storage.db import Database
from storage.errors import NotFound
from survey.template import BUILTIN_TEMPLATES, TemplateError, load_builtin

log = logging.getLogger(__name__)

USAGE = {
    "help": "`/icp-check help`: what you can do here",
    "profile": "`/icp-check profile`: our current ideal customer profile",
    "start": "`/icp-check start`: start a survey round (a form opens)",
    "status": "`/icp-check status [round]`: who has answered, in numbers",
    "report": "`/icp-check report [round]`: the alignment report",
    "remind": "`/icp-check remind`: remind those who have not finished",
    "close": "`/icp-check close [round]`: close the open round",
    "ratify": "`/icp-check ratify [round]`: adopt the consensus as our ICP (a form opens)",
    "fit": "`/icp-check fit`: score a prospect against our ICP (a form opens)",
    "leaders": "`/icp-check leaders [add|remove @user]`: who may run rounds",
    "export": "`/icp-check export [round]`: a CSV of the answers with pseudonyms, by DM",
}
EVERYONE = ("help", "profile")
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class UsageError(ValueError):
    """A bad argument; the message says what was wrong."""


@dataclass
class Call:
    """One /icp-check invocation, with what a subcommand needs to answer it."""

    command: SlashCommand
    args: list[str]
    client: WebClient
    respond: Respond
    deps: Deps
    leader: bool

    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def team_id(self) -> str:
        return self.command.team_id

    def reply(self, text: str, blocks=None) -> None:
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


Handler = Callable[[Call], None]
HANDLERS: dict[str, Handler] = {}


def subcommand(name: str):
    def decorate(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return decorate


def round_arg(call: Call) -> int | None:
    """An optional round number argument ("report 3" or "report #3")."""
    if not call.args:
        return None
    text = call.args[0].lstrip("#")
    if not text.isdigit():
        raise UsageError(f"'{call.args[0]}' is not a round number")
    return int(text)


def help_text(leader: bool, open_round, progress: str | None = None) -> str:
    lines = ["*ICP Align*: does our team agree on who our ideal customer is?"]
    if open_round is not None:
        current = f"Current round: *{escape(open_round.title)}* (round {open_round.id}, open"
        lines.append(current + (f"; {progress})" if progress else ")"))
    else:
        lines.append("No survey round is open right now.")
    names = list(USAGE) if leader else list(EVERYONE)
    lines += [USAGE[n] for n in names]
    if not leader:
        lines.append("_Leaders (workspace admins and people a leader added) can start rounds and see reports._")
    return "\n".join(lines)


@subcommand("help")
def _help(call: Call) -> None:
    progress = None
    with call.db.session(read_only=True) as session:
        open_round = rounds.open_round_for(session, call.team_id)
        if open_round is not None and call.leader:
            counts = rounds.participation(session, open_round.id)
            progress = f"{counts.completed} of {counts.invited} finished"
            if open_round.closes_at is not None:
                progress += f", {report_blocks.time_left(open_round.closes_at, call.deps.now())}"
    call.reply(help_text(call.leader, open_round, progress))


@subcommand("profile")
def _profile(call: Call) -> None:
    with call.db.session(read_only=True) as session:
        loaded = load_icp(session, call.team_id)
    profile, template = (loaded[0], loaded[1].template) if loaded else (None, None)
    call.reply("Our ideal customer profile", report_blocks.profile_blocks(profile, template))


@subcommand("start")
def _start(call: Call) -> None:
    if not call.command.trigger_id:
        raise UsageError("Slack sent no trigger to open the form; try again")
    open_start_modal(call.db, call.client, call.team_id, call.command.trigger_id)


def open_start_modal(db: Database, client: WebClient, team_id: str, trigger_id: str) -> None:
    """The start-a-round form, with the workspace's templates and user groups to choose from."""
    with db.session() as session:
        workspace = workspaces.get_or_create_workspace(session, team_id)
        tz = ZoneInfo(workspace.timezone)
        stored = templates.list_templates(session, team_id)
    # Built-ins first (the default, icp-core, at the top), then the workspace's own templates.
    choices = {key: load_builtin(key).name for key in BUILTIN_TEMPLATES}
    choices.update({t.key: t.template.name for t in stored if not t.builtin})
    try:
        groups = round_service.usergroup_handles(client)
    except SlackApiError:
        groups = {}
    today = datetime.now(tz).date()
    view = leader_modals.start_round_view(list(choices.items()), groups, today + timedelta(days=7),
                                          f"ICP survey {today:%B %Y}")
    client.views_open(trigger_id=trigger_id, view=view)


@subcommand("status")
def _status(call: Call) -> None:
    round_id = round_arg(call)
    with call.db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.latest_round(session, call.team_id)
        if rnd is None or rnd.team_id != call.team_id:
            call.reply("There is no such survey round yet. Start one with `/icp-check start`.")
            return
        counts = rounds.participation(session, rnd.id)
    blocks = report_blocks.status_blocks(
        round_id=rnd.id, title=rnd.title, invited=counts.invited, started=counts.answered - counts.completed,
        completed=counts.completed, closes_at=rnd.closes_at, status=rnd.status, can_remind=True)
    call.reply(f"{rnd.title}: {counts.completed} of {counts.invited} finished", blocks)


@subcommand("report")
def _report(call: Call) -> None:
    round_id = round_arg(call)
    result = round_report(call.db, call.team_id, round_id)
    if result is None:
        call.reply("There is no such survey round yet. Start one with `/icp-check start`.")
        return
    blocks = report_blocks.report_blocks(result.report, result.round.title, round_id=result.round.id,
                                         post_channel=call.command.channel_id,
                                         previous_score=result.previous_score)
    call.reply(f"ICP alignment report: {result.round.title}", blocks)


@subcommand("remind")
def _remind(call: Call) -> None:
    with call.db.session(read_only=True) as session:
        rnd = rounds.open_round_for(session, call.team_id)
    if rnd is None:
        call.reply("No round is open, so there is nobody to remind.")
        return
    if rnd.closes_at is not None and rnd.closes_at <= call.deps.now():
        call.reply(f"Round {rnd.id} is past its close date, so nobody is reminded. "
                   f"Close it with `/icp-check close {rnd.id}`.")
        return
    call.reply(remind_round(call.deps, call.client, rnd.id))


def remind_round(deps: Deps, client: WebClient, round_id: int) -> str:
    outcome = round_service.send_reminders(deps.db, client, round_id, now=deps.now(), pacer=deps.pacer)
    text = f"Reminded {outcome.sent} people who have not finished."
    if outcome.sent == 0:
        text = "Nobody to remind: everyone finished, or already had the reminders this round allows."
    if outcome.unreachable:
        text += f" {len(outcome.unreachable)} could not be reached by DM."
    return text


@subcommand("close")
def _close(call: Call) -> None:
    round_id = round_arg(call)
    with call.db.session() as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, call.team_id)
        if rnd is None or rnd.team_id != call.team_id:
            call.reply("There is no open round to close.")
            return
        was_open = rnd.is_open
        rnd = rounds.close_round(session, rnd.id, at=call.deps.now())
        counts = rounds.participation(session, rnd.id)
    if not was_open:
        call.reply(f"Round {rnd.id} was already closed.")
        return
    call.reply(f"Closed *{escape(rnd.title)}*: {counts.completed} of {counts.invited} finished. "
               f"See `/icp-check report {rnd.id}`.")
    round_service.refresh_invitations_after_close(call.db, call.client, rnd.id, call.deps.pacer)


@subcommand("leaders")
def _leaders(call: Call) -> None:
    if not call.args:
        with call.db.session(read_only=True) as session:
            names = [f"<@{leader.user_id}>" for leader in workspaces.list_leaders(session, call.team_id)]
        extra = ", ".join(names) if names else "nobody added yet"
        call.reply(f"Leaders: workspace owners and admins, and {extra}.")
        return
    if len(call.args) != 2 or call.args[0] not in ("add", "remove"):
        raise UsageError("say `add` or `remove` and one @person")
    match = MENTION.match(call.args[1])
    if not match:
        raise UsageError(f"'{call.args[1]}' is not a @mention of a person")
    user_id = match.group(1)
    with call.db.session() as session:
        if call.args[0] == "add":
            workspaces.add_leader(session, call.team_id, user_id, added_by=call.command.user_id)
            call.reply(f"<@{user_id}> is now an ICP Align leader.")
        elif workspaces.remove_leader(session, call.team_id, user_id):
            call.reply(f"<@{user_id}> is no longer an ICP Align leader.")
        else:
            call.reply(f"<@{user_id}> was not on the list of leaders (admins are leaders anyway).")


def register(app: App, deps: Deps) -> None:
    @app.command("/icp-check")
    def icp_check(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        try:
            command = parse(SlashCommand, body)
        except MalformedPayload as exc:
            log.warning("malformed slash command: %s", exc)
            return
        words = command.words
        name = words[0].lower() if words else "help"
        if name not in HANDLERS:
            respond(response_type="ephemeral", text=f"I don't know `{escape(name)}`.\n" + "\n".join(USAGE.values()))
            return
        leader = access.is_leader(deps.db, client, command.team_id, command.user_id)
        if name not in EVERYONE and not leader:
            respond(response_type="ephemeral",
                    text=f"Sorry, `/icp-check {name}` is for ICP Align leaders (workspace admins and the people "
                         "they add). You can use `/icp-check profile` to see our ideal customer profile.")
            return
        with deps.db.session() as session:
            workspaces.get_or_create_workspace(session, command.team_id)
        call = Call(command=command, args=words[1:], client=client, respond=respond, deps=deps, leader=leader)
        try:
            HANDLERS[name](call)
        except UsageError as exc:
            respond(response_type="ephemeral", text=f"{exc}. Usage: {USAGE[name]}")

    @app.view(leader_modals.START_CALLBACK)
    def start_submitted(ack: Ack, body: dict, client: WebClient) -> None:
        try:
            submission = parse(ViewSubmission, body)
        except MalformedPayload:
            ack()
            return
        if not access.is_leader(deps.db, client, submission.team_id or "", submission.user.id):
            ack(response_action="errors", errors={"template": "Only ICP Align leaders can start a round."})
            return
        form = round_launch.read_start_form(submission.view.values)
        errors = {}
        if not form.has_audience:
            errors["users"] = "Choose people, user groups or channels to ask."
        try:
            close_on = date.fromisoformat(form.closes or "")
        except ValueError:
            close_on = None
            errors["closes"] = "Choose the day the round closes."
        team_id = submission.team_id or ""
        with deps.db.session() as session:
            workspace = workspaces.get_or_create_workspace(session, team_id)
            tz = ZoneInfo(workspace.timezone)
            min_group = workspace.min_group_size
        closes_at = None
        if close_on is not None:
            closes_at = datetime(close_on.year, close_on.month, close_on.day, 17, 0, tzinfo=tz)
            if closes_at <= deps.now():
                errors["closes"] = "The close date must be in the future."
        if form.reminders not in (None, "0", "1", "2", "3"):
            errors["reminders"] = "Choose how many reminders to send."
        with deps.db.session() as session:
            try:
                templates.latest_template(session, team_id, form.template_key)
            except (NotFound, TemplateError):
                errors["template"] = "That template is not available any more; choose another."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        leader = submission.user.id
        round_id = round_launch.launch_round(deps.db, client, team_id=team_id, leader=leader, form=form,
                                             closes_at=closes_at, min_group_size=min_group, now=deps.now(),
                                             pacer=deps.pacer)
        if round_id is not None:
            deps.on_change(client, team_id, leader)

    @app.action(report_blocks.REMIND)
    def remind_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        try:
            action = parse(BlockAction, body)
            round_id = int(action.action.value or "")
        except (MalformedPayload, ValueError):
            return

        def tell(text: str) -> None:
            # A status message has a response_url; the same button on App Home has none.
            if action.response_url:
                respond(response_type="ephemeral", replace_original=False, text=text)
            else:
                client.chat_postMessage(channel=action.user.id, text=text)

        if not access.is_leader(deps.db, client, action.team_id or "", action.user.id):
            log.warning("refused remind click from non-leader %s", action.user.id)
            tell("Only ICP Align leaders can send reminders.")
            return
        with deps.db.session(read_only=True) as session:
            rnd = rounds.get_round(session, round_id)
        if rnd is None or rnd.team_id != action.team_id:
            return
        tell(remind_round(deps, client, round_id))
        if not action.response_url:
            deps.on_change(client, action.team_id, action.user.id)

    @app.action(report_blocks.POST_REPORT)
    def post_report(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        try:
            action = parse(BlockAction, body)
            round_text, channel = (action.action.value or "").split(":", 1)
            round_id = int(round_text)
        except (MalformedPayload, ValueError):
            return
        if not access.is_leader(deps.db, client, action.team_id or "", action.user.id):
            respond(response_type="ephemeral", replace_original=False, text="Only ICP Align leaders can post reports.")
            return
        result = round_report(deps.db, action.team_id or "", round_id)
        if result is None:
            return
        blocks = report_blocks.report_blocks(result.report, result.round.title, previous_score=result.previous_score)
        try:
            client.chat_postMessage(channel=channel, text=f"ICP alignment report: {result.round.title}", blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error")
            hint = {"not_in_channel": "invite @ICP Align to the channel first",
                    "channel_not_found": "invite @ICP Align to the channel first",
                    "is_archived": "the channel is archived"}.get(error, error)
            respond(response_type="ephemeral", replace_original=False, text=f"Could not post the report: {hint}.")
            return
        respond(response_type="ephemeral", replace_original=False, text="Posted the report to the channel.")

