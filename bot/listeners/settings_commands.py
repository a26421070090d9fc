"""``/icp-check settings``, ``digest``, ``pulse`` and ``customers``: what a workspace's leaders
configure and look up."""

from __future__ import annotations

import re

from bot.listeners.subcommand import Call, UsageError
from bot.services import digest, pulses, workspace_settings
from bot.services.customer_reality import customer_reality
from bot.services.workspace_settings import WEEKDAYS, SettingRefused
from bot.views.text import date_token, escape
from storage.workspaces import WorkspaceSettings


def _when(moment) -> str:
    return date_token(moment.timestamp(), moment.strftime("%a %d %b %H:%M UTC"),
                      "{date_short_pretty} at {time}")


def _describe(settings: WorkspaceSettings, now) -> str:
    digest_line = "off (`/icp-check digest #channel [weekday] [HH:MM]` turns it on)"
    next_at = workspace_settings.next_digest_at(settings, now)
    if settings.digest_channel and next_at is not None:
        digest_line = (f"<#{settings.digest_channel}>, {WEEKDAYS[settings.digest_weekday].title()}s at "
                       f"{settings.digest_time}; next {_when(next_at)}")
    hours = settings.working_hours or "off: DMs go out at once"
    return "\n".join([
        "*ICP Align settings*",
        f"• Time zone: `{settings.timezone}` (close dates and the digest) · `settings timezone Europe/Paris`",
        f"• Anonymity threshold: {settings.min_group_size} people · `settings anonymity 5`",
        f"• Working hours for DMs: {hours}, in each person's own time zone · `settings hours 09:00-17:00` or `off`",
        f"• Weekly digest: {digest_line}",
    ])


def settings(call: Call) -> None:
    runtime = call.runtime
    if not call.args:
        call.reply(_describe(workspace_settings.read(runtime.db, call.team_id), runtime.now()))
        return
    if len(call.args) != 2:
        raise UsageError("give a setting and its value, e.g. `settings timezone Europe/Paris`")
    try:
        changed = workspace_settings.change_setting(runtime.db, call.team_id, call.args[0], call.args[1])
    except SettingRefused as exc:
        call.reply(f"Nothing changed: {exc}.")
        return
    call.reply("Saved.\n" + _describe(changed, runtime.now()))


def digest_command(call: Call) -> None:
    runtime = call.runtime
    current = workspace_settings.read(runtime.db, call.team_id)
    if not call.args:
        call.reply(_describe(current, runtime.now()).split("\n")[-1].lstrip("• "))
        return
    word = call.args[0].lower()
    if word == "now":
        if not digest.enqueue_now(runtime.db, call.team_id, call.command.user_id, runtime.now()):
            call.reply("No digest channel is set yet: `/icp-check digest #channel` first.")
            return
        runtime.outbox.kick()
        call.reply(f"Posting the digest to <#{current.digest_channel}> now.")
        return
    if word == "off":
        workspace_settings.set_digest(runtime.db, call.team_id, None, call.command.user_id)
        call.reply("The weekly digest is off.")
        return
    try:
        choice = workspace_settings.parse_digest_args(call.args, current)
    except SettingRefused as exc:
        call.reply(f"Nothing changed: {exc}.")
        return
    changed = workspace_settings.set_digest(runtime.db, call.team_id, choice, call.command.user_id)
    next_at = workspace_settings.next_digest_at(changed, runtime.now())
    assert next_at is not None
    call.reply(f"The weekly digest goes to <#{choice.channel}> on {WEEKDAYS[choice.weekday].title()}s at "
               f"{choice.at} ({changed.timezone}); the next one {_when(next_at)}. Invite @ICP Align to the "
               "channel if it is private. `/icp-check digest now` posts one at once.")


PULSE_EVERY = re.compile(r"^(?:every\s+)?(\d{1,3})\s*(day|days|d|week|weeks|w)$")


def pulse_command(call: Call) -> None:
    """``pulse`` (cadence and next one), ``pulse on [every N days|weeks]``, ``pulse off``, ``pulse now``."""
    runtime = call.runtime
    words = [w.lower() for w in call.args]
    if not words:
        every = workspace_settings.read(runtime.db, call.team_id).pulse_every_days
        if every is None:
            call.reply("StrategyCheck pulses are off. `/icp-check pulse on every 2 weeks` asks one question on "
                       "the last round's biggest split every two weeks; `/icp-check pulse now` asks it now.")
            return
        next_at = pulses.next_pulse_at(runtime.db, call.team_id, runtime.now())
        when = _when(next_at) if next_at else "when the next round has closed"
        call.reply(f"StrategyCheck pulses every {every} days; the next {when}, in each person's working hours.")
        return
    if words[0] == "now":
        try:
            started = pulses.start_pulse(runtime.db, call.team_id, runtime.now(), immediate=True,
                                         started_by=call.command.user_id)
        except pulses.NoPulse as exc:
            call.reply(str(exc))
            return
        runtime.outbox.kick()
        call.reply(f"StrategyCheck on *{started.prompt}* sent to {started.people} people (round {started.round_id}).")
        return
    if words[0] == "off":
        workspace_settings.set_pulse_cadence(runtime.db, call.team_id, None)
        call.reply("StrategyCheck pulses are off.")
        return
    if words[0] == "on":
        match = PULSE_EVERY.match(" ".join(words[1:]) or "every 2 weeks")
        if match is None:
            raise UsageError("say how often, e.g. `pulse on every 2 weeks` or `pulse on every 10 days`")
        days = int(match.group(1)) * (7 if match.group(2).startswith("w") else 1)
        try:
            workspace_settings.set_pulse_cadence(runtime.db, call.team_id, days)
        except SettingRefused as exc:
            call.reply(f"Nothing changed: {exc}.")
            return
        call.reply(f"StrategyCheck pulses every {days} days, each DM in the person's working hours. "
                   "`/icp-check pulse now` sends one at once.")
        return
    raise UsageError(f"'{call.args[0]}' is not `on`, `off` or `now`")


def customers_command(call: Call) -> None:
    """``customers``: the imported customer list and how the staff's picture compares with it."""
    found = customer_reality(call.runtime.db, call.team_id)
    status = found.status
    if not status.customers:
        call.reply("No customer list is imported yet. An admin imports a CRM export (HubSpot or Salesforce) "
                   "with `icp-bot customers import FILE.csv --team " + call.team_id + "`.")
        return
    when = _when(status.imported_at) if status.imported_at else "at an unknown time"
    lines = [f"*Customers*: {status.customers} accounts from {status.source or 'a file'}, imported {when}."]
    if found.comparison is None:
        lines.append("The comparison with the staff's answers comes once a round has closed.")
    else:
        from survey import reality_format  # the customer stack: not at start-up

        r = found.comparison
        lines.append(f"*Perception and reality* (round *{escape(found.round_title or '')}*)")
        lines.append("• " + escape(reality_format.concentration_line(r)))
        gap = reality_format.gap_sentence(r)
        if gap:
            lines.append("• Biggest gap: " + escape(gap))
        lines += ["• " + escape(line) for line in reality_format.fit_lines(r)]
        lines += ["• " + escape(line) for line in reality_format.persona_lines(r)[:4]]
    call.reply("\n".join(lines)[:2900])
