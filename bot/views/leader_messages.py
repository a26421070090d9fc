"""What leaders read as text: `/icp-check` help and usage, and the DMs about their rounds."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    SectionBlock,
)

from bot.views import home_tab, messages
from bot.views.text import escape, mrkdwn, plain

CLOSE_ROUND = "round_close_confirmed"
STATUS = "round_status_button"

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
    "digest": "`/icp-check digest [#channel [weekday] [HH:MM] | now | off]`: the weekly alignment digest",
    "pulse": "`/icp-check pulse [on every 2 weeks | off | now]`: StrategyCheck questions between rounds",
    "customers": "`/icp-check customers`: the imported customer list beside the staff's answers",
    "settings": "`/icp-check settings [timezone|anonymity|hours VALUE]`: time zone, anonymity, working hours",
}
NOT_A_LEADER = ("Sorry, `/icp-check {name}` is for ICP Align leaders (workspace admins and the people "
                "they add). You can use `/icp-check profile` to see our ideal customer profile.")
NO_ROUND = "There is no such survey round yet. Start one with `/icp-check start`."


def unknown_subcommand(name: str) -> str:
    return f"I don't know `{escape(name)}`.\n" + "\n".join(USAGE.values())


def usage_error(problem: str, name: str) -> str:
    return f"{problem}. Usage: {USAGE[name]}"


def help_text(names: list[str], leader: bool, open_round_title: str | None, open_round_id: int | None,
              progress: str | None = None) -> str:
    """``names``: the subcommands this person may run, in the order to list them."""
    lines = ["*ICP Align*: does our team agree on who our ideal customer is?"]
    if open_round_title is not None:
        current = f"Current round: *{escape(open_round_title)}* (round {open_round_id}, open"
        lines.append(current + (f"; {progress})" if progress else ")"))
    else:
        lines.append("No survey round is open right now.")
    lines += [USAGE[n] for n in names]
    if not leader:
        lines.append("_Leaders (workspace admins and people a leader added) can start rounds and see reports._")
    return "\n".join(lines)


def help_message(names: list[str], leader: bool, open_round_title: str | None, open_round_id: int | None,
                 progress: str | None = None, own: str | None = None) -> tuple[str, list[Block]]:
    """Short help: where things stand, buttons for the next step, the commands in one line.

    ``own``: the asker's survey in the open round ("new", "started", "done") or None."""
    lines = help_text([], leader, open_round_title, open_round_id, progress).splitlines()[:2]
    if leader and open_round_id is None:
        lines[-1] += " Start one with `/icp-check start`."
    if not leader:
        lines.append(USAGE["profile"])
    blocks: list[Block] = [SectionBlock(text=mrkdwn("\n".join(lines)))]
    buttons: list[ButtonElement] = []
    if own in ("new", "started") and open_round_id is not None:
        buttons.append(ButtonElement(action_id=messages.START, value=str(open_round_id), style="primary",
                                     text=plain("Continue the survey" if own == "started" else "Answer the survey", 75)))
    elif own == "done" and open_round_id is not None:
        buttons.append(ButtonElement(action_id=messages.EDIT, value=str(open_round_id), text=plain("Edit my answers", 75)))
    if leader and open_round_id is not None:
        buttons += [ButtonElement(action_id=STATUS, value=str(open_round_id), text=plain("Status", 75)),
                    ButtonElement(action_id=home_tab.HOME_REPORT, text=plain("Report", 75)),
                    close_button(open_round_id, open_round_title or "")]
    elif leader:
        buttons += [ButtonElement(action_id=home_tab.HOME_START, style="primary", text=plain("Start a round", 75)),
                    ButtonElement(action_id=home_tab.HOME_REPORT, text=plain("Latest report", 75))]
    if buttons:
        blocks.append(ActionsBlock(block_id="help_actions", elements=buttons))
    commands = " ".join(f"`{n}`" for n in names if n != "help")
    footer = f"Commands: {commands}. Type `/icp-check` and a command; `/icp-check help all` explains each."
    if not leader:
        footer += " Leaders (admins and people they add) start rounds and read reports."
    blocks.append(ContextBlock(elements=[mrkdwn(footer)]))
    return "\n".join([*lines, footer]), blocks


def close_button(round_id: int, title: str) -> ButtonElement:
    """"Close round", behind Slack's confirmation dialog: closing cannot be undone."""
    return ButtonElement(
        action_id=CLOSE_ROUND, value=str(round_id), style="danger", text=plain("Close round", 75),
        confirm=ConfirmObject(
            title=plain("Close this round?", 100),
            text=plain(f"Nobody can answer or edit {title} after this. It cannot be reopened.", 300),
            confirm=plain("Close round", 30), deny=plain("Keep it open", 30), style="danger"))


def close_question(round_id: int, title: str, completed: int, invited: int,
                   time_left: str | None) -> tuple[str, list[Block]]:
    """``/icp-check close``: what closing means, and the button that asks once more."""
    left = f", {time_left}" if time_left else ""
    body = (f"Close *{escape(title)}* (round {round_id}) now? *{completed} of {invited}* finished{left}. "
            "The report then uses the answers in so far.")
    return (f"Close {escape(title)}? {completed} of {invited} finished",
            [SectionBlock(text=mrkdwn(body)), ActionsBlock(block_id="close_actions", elements=[close_button(round_id, title)])])


def launch_summary(round_id: int, title: str, invited: int, later: int, skipped: int) -> str:
    """The leader's DM once a round is open: how many were invited, when, and who was left out."""
    text = f"Round {round_id}, *{escape(title)}*, is open: {invited} people invited."
    if later:
        verb = "gets" if later == 1 else "get"
        text += f" {later} {verb} their invitation when their working day starts (their own time zone)."
    if skipped:
        text += f" {skipped} bots or deactivated accounts were left out."
    return text + " Follow it with `/icp-check status`."


def audience_unreadable(error: str | None) -> str:
    hint = " Add ICP Align to the private channel first." if error in ("not_in_channel", "channel_not_found") else ""
    return f"I could not read the audience of your round ({error}).{hint}"


def audience_too_small(people: int, min_group_size: int) -> str:
    return (f"The round was not started: it would ask {people} people, and figures are only "
            f"shown for groups of {min_group_size} or more. Choose more people and try again.")


def remind_summary(queued: int, now: int, later: int, *, already: int = 0, unreachable: int = 0,
                   too_late: int = 0, hours_from: str | None = None) -> str:
    """The leader's answer to Remind: how many reminders were queued and when they go out
    ("12 reminders queued; 9 go out now, 3 in their working hours (from 09:00 their time)"),
    then who was left out and why."""
    if queued:
        hours = f"in their working hours (from {hours_from} their time)" if hours_from else "in their working hours"
        counted = f"{queued} reminder{'s' if queued != 1 else ''} queued"
        if later == 0:
            text = f"{counted}; {'it goes' if queued == 1 else 'they go'} out now."
        elif now == 0:
            text = f"{counted}; {'it goes' if queued == 1 else 'they go'} out {hours}."
        else:
            text = f"{counted}; {now} go{'es' if now == 1 else ''} out now, {later} {hours}."
    elif already and not (unreachable or too_late):
        return f"Nobody new to remind: {already} already have a reminder waiting for their working hours."
    elif not (already or unreachable or too_late):
        return "Nobody to remind: everyone finished, or already had the reminders this round allows."
    else:
        text = "Nobody reminded."
    if already:
        text += f" {already} already had one waiting."
    if unreachable:
        text += f" {unreachable} could not be reached by DM before, so were not tried again."
    if too_late:
        text += (f" {too_late} would only get it after the round closes (their working hours start later), "
                 "so were not reminded.")
    return text


def close_notice(round_id: int, title: str, completed: int, invited: int) -> tuple[str, list[Block]]:
    """The DM to the creator of a round that closed on its close date."""
    text = f"{escape(title)} closed: {completed} of {invited} finished; see /icp-check report {round_id}"
    body = (f":lock: *{escape(title)}* closed on its close date: *{completed} of {invited}* "
            f"finished; see `/icp-check report {round_id}`.")
    return text, [SectionBlock(text=mrkdwn(body))]


def closed_by_leader(round_id: int, title: str, completed: int, invited: int) -> str:
    return (f"Closed *{escape(title)}*: {completed} of {invited} finished. "
            f"See `/icp-check report {round_id}`.")


KIND_NAMES = {"invite": "invitations", "reminder": "reminders", "remind-later": "reminders", "closed": "closed notices",
              "digest": "digests", "digest-chart": "digest charts", "pulse": "StrategyCheck questions",
              "close-report": "reports of a closed round"}
ERROR_HINTS = {
    "user_not_found": "the person is not in the workspace",
    "account_inactive": "the account is deactivated",
    "cannot_dm_bot": "the account is a bot",
    "messages_tab_disabled": "the person turned off DMs from apps",
    "channel_not_found": "the channel does not exist or is private: invite @ICP Align to it",
    "not_in_channel": "ICP Align is not in the channel: invite it with /invite @ICP Align",
    "is_archived": "the channel is archived: choose another one",
    "not_installed": "ICP Align is no longer installed in this workspace",
    "missing_scope": "ICP Align lacks a permission (files:write for charts): reinstall it",
}


# A DM to a deactivated person is an archived conversation: say what it means for a person.
DM_KINDS = frozenset({"invite", "reminder", "remind-later", "pulse"})
DM_HINTS = {"is_archived": "the account is deactivated", "channel_not_found": "the person is not in the workspace"}
CHANNEL_KINDS = frozenset({"digest", "digest-chart", "close-report"})  # posted to the digest channel
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


def undelivered_notice(kind: str, round_id: int | None, total: int, errors: dict[str, int]) -> str:
    """The one DM to a leader about messages of a batch that could not be delivered."""
    failed = sum(errors.values())
    what = KIND_NAMES.get(kind, "messages")
    where = f" of round {round_id}" if round_id is not None else ""
    hints = {**ERROR_HINTS, **(DM_HINTS if kind in DM_KINDS else {})}
    by_reason: dict[str, int] = {}
    for error, n in errors.items():  # two errors that mean the same for the leader are one reason
        by_reason[hints.get(error, error)] = by_reason.get(hints.get(error, error), 0) + n
    reasons = "; ".join(f"{n}: {reason}" for reason, n in sorted(by_reason.items(), key=lambda x: (-x[1], x[0])))
    text = f"{failed} of {total} {what}{where} could not be delivered ({reasons})."
    if kind in CHANNEL_KINDS and CHANNEL_ERRORS & errors.keys():
        text += " To post them to another channel: `/icp-check digest #channel`."
    return text
