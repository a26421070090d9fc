"""What leaders read as text: `/icp-check` help and usage, and the DMs about their rounds."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, SectionBlock

from bot.views.text import escape, mrkdwn

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


def launch_summary(round_id: int, title: str, invited: int, later: int, skipped: int) -> str:
    """The leader's DM once a round is open: how many were invited, when, and who was left out."""
    text = f"Round {round_id}, *{escape(title)}*, is open: {invited} people invited."
    if later:
        text += f" {later} get their invitation when their working day starts (their own time zone)."
    if skipped:
        text += f" {skipped} bots or deactivated accounts were left out."
    return text + " Follow it with `/icp-check status`."


def audience_unreadable(error: str | None) -> str:
    hint = " Add ICP Align to the private channel first." if error in ("not_in_channel", "channel_not_found") else ""
    return f"I could not read the audience of your round ({error}).{hint}"


def audience_too_small(people: int, min_group_size: int) -> str:
    return (f"The round was not started: it would ask {people} people, and figures are only "
            f"shown for groups of {min_group_size} or more. Choose more people and try again.")


def remind_summary(sent: int, unreachable: int) -> str:
    text = f"Reminded {sent} people who have not finished."
    if sent == 0:
        text = "Nobody to remind: everyone finished, or already had the reminders this round allows."
    if unreachable:
        text += f" {unreachable} could not be reached by DM."
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


KIND_NAMES = {"invite": "invitations", "reminder": "reminders", "closed": "closed notices",
              "digest": "digests", "pulse": "StrategyCheck questions", "close-report": "reports of a closed round"}
ERROR_HINTS = {
    "user_not_found": "the person is not in the workspace",
    "account_inactive": "the account is deactivated",
    "cannot_dm_bot": "the account is a bot",
    "messages_tab_disabled": "the person turned off DMs from apps",
    "channel_not_found": "the channel does not exist or is private: invite @ICP Align to it",
    "not_in_channel": "ICP Align is not in the channel: invite it with /invite @ICP Align",
    "is_archived": "the channel is archived: choose another one",
    "not_installed": "ICP Align is no longer installed in this workspace",
}


def undelivered_notice(kind: str, round_id: int | None, total: int, errors: dict[str, int]) -> str:
    """The one DM to a leader about messages of a batch that could not be delivered."""
    failed = sum(errors.values())
    what = KIND_NAMES.get(kind, "messages")
    where = f" of round {round_id}" if round_id is not None else ""
    reasons = "; ".join(f"{n}: {ERROR_HINTS.get(e, e)}" for e, n in sorted(errors.items(), key=lambda x: -x[1]))
    return f"{failed} of {total} {what}{where} could not be delivered ({reasons})."
