"""``/icp-check`` subcommands about rounds and who runs them: help, profile, start, status,
report, remind, close, leaders. Each answers with an ephemeral message through the command's
response_url, or opens a modal with its trigger_id."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.listeners.guards import open_view
from bot.listeners.subcommand import TRIGGER_HINT, Call, UsageError, round_arg, trigger_of
from bot.services import leadership, reminders, round_launch
from bot.services.profiles import load_icp
from bot.services.reporting import round_report
from bot.views import leader_messages, leader_modals, report_blocks
from bot.views.leader_messages import NO_ROUND
from bot.views.text import escape
from storage import answers, rounds

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def help_(call: Call, names: list[str]) -> None:
    """Short help with buttons for the next step; ``help all`` lists every command's usage."""
    progress = None
    own = None
    with call.runtime.db.session(read_only=True) as session:
        open_round = rounds.open_round_for(session, call.team_id)
        if open_round is not None and call.requester.is_leader:
            counts = rounds.participation(session, open_round.id)
            progress = f"{counts.completed} of {counts.invited} finished"
            if open_round.closes_at is not None:
                progress += f", {report_blocks.time_left(open_round.closes_at, call.runtime.now())}"
        if open_round is not None:
            participant = rounds.get_participant(session, open_round.id, call.command.user_id)
            if participant is not None:
                own = "done" if participant.completed_at else (
                    "started" if answers.answers_of(session, open_round.id, call.command.user_id) else "new")
    title, round_id = (open_round.title, open_round.id) if open_round else (None, None)
    if call.args and call.args[0].lower() == "all":
        call.reply(leader_messages.help_text(names, call.requester.is_leader, title, round_id, progress))
        return
    text, blocks = leader_messages.help_message(names, call.requester.is_leader, title, round_id, progress, own)
    call.reply(text, blocks)


def profile(call: Call) -> None:
    with call.runtime.db.session(read_only=True) as session:
        loaded = load_icp(session, call.team_id)
    icp, template = (loaded[0], loaded[1].template) if loaded else (None, None)
    call.reply("Our ideal customer profile", report_blocks.profile_blocks(icp, template))


def start(call: Call) -> None:
    error = open_start_modal(call.runtime, call.client, call.team_id, trigger_of(call))
    if error is not None:
        call.reply(TRIGGER_HINT.get(error, f"Slack refused to open the form ({error})."))


def open_start_modal(runtime, client, team_id: str, trigger_id: str) -> str | None:
    """The start-a-round form, with the workspace's templates and user groups to choose from."""
    choices, groups, today, hours = round_launch.start_form_choices(runtime.db, client, team_id, runtime.now())
    view = leader_modals.start_round_view(list(choices.items()), groups, today + timedelta(days=7),
                                          f"ICP survey {today:%B %Y}", working_hours=hours)
    return open_view(client, trigger_id, view, "the start form")


def status(call: Call) -> None:
    round_id = round_arg(call)
    with call.runtime.db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.latest_round(session, call.team_id)
        if rnd is None or rnd.team_id != call.team_id:
            call.reply(NO_ROUND)
            return
        counts = rounds.participation(session, rnd.id)
    blocks = report_blocks.status_blocks(
        round_id=rnd.id, title=rnd.title, invited=counts.invited, started=counts.answered - counts.completed,
        completed=counts.completed, closes_at=rnd.closes_at, status=rnd.status, can_remind=True,
        now=call.runtime.now())
    call.reply(f"{escape(rnd.title)}: {counts.completed} of {counts.invited} finished", blocks)


def report(call: Call) -> None:
    round_id = round_arg(call)
    result = round_report(call.runtime.db, call.team_id, round_id)
    if result is None:
        call.reply(NO_ROUND)
        return
    blocks = report_blocks.report_blocks(result.report, result.round.title, round_id=result.round.id,
                                         post_channel=call.command.channel_id,
                                         previous_score=result.previous_score, for_channel=False)
    call.reply(f"ICP alignment report: {escape(result.round.title)}", blocks)


def remind(call: Call) -> None:
    runtime = call.runtime
    outcome = reminders.remind(runtime.db, call.team_id, None, now=runtime.now(), requested_by=call.command.user_id)
    if outcome.queued.queued:
        runtime.outbox.kick()
    call.reply(outcome.reply)


def close(call: Call) -> None:
    """Asks first: an ephemeral "Close round" button behind Slack's confirmation dialog
    (``round_actions.close_confirmed`` closes). An already closed round is said so at once."""
    round_id = round_arg(call)
    with call.runtime.db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, call.team_id)
        if rnd is None or rnd.team_id != call.team_id:
            call.reply("There is no open round to close.")
            return
        if not rnd.is_open:
            call.reply(f"Round {rnd.id} was already closed.")
            return
        counts = rounds.participation(session, rnd.id)
    left = report_blocks.time_left(rnd.closes_at, call.runtime.now()) if rnd.closes_at is not None else None
    text, blocks = leader_messages.close_question(rnd.id, rnd.title, counts.completed, counts.invited, left)
    call.reply(text, blocks)


def leaders(call: Call) -> None:
    db, team_id = call.runtime.db, call.team_id
    if not call.args:
        names = [f"<@{user}>" for user in leadership.named_leaders(db, team_id)]
        extra = ", ".join(names) if names else "nobody added yet"
        call.reply(f"Leaders: workspace owners and admins, and {extra}.")
        return
    if len(call.args) != 2 or call.args[0] not in ("add", "remove"):
        raise UsageError("say `add` or `remove` and one @person")
    match = MENTION.match(call.args[1])
    if not match:
        raise UsageError(f"'{call.args[1]}' is not a @mention of a person")
    user_id = match.group(1)
    if call.args[0] == "add":
        leadership.add_leader(db, call.runtime.leaders, team_id, user_id, added_by=call.command.user_id)
        call.reply(f"<@{user_id}> is now an ICP Align leader.")
    elif leadership.remove_leader(db, call.runtime.leaders, team_id, user_id):
        call.reply(f"<@{user_id}> is no longer an ICP Align leader.")
    else:
        call.reply(f"<@{user_id}> was not on the list of leaders (admins are leaders anyway).")
