"""Messages to staff: the invitation DM, its receipt after the last section, reminders.

Every message's ``text`` is what a phone's notification shows, so it says what is asked,
how long it takes and that it is anonymous, not only a title."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.views.text import date_token, escape, mrkdwn, plain

START = "survey_start"
SNOOZE = "survey_snooze"
EDIT = "survey_edit"


def _closes(closes_at: datetime | None) -> str:
    if closes_at is None:
        return "until a leader closes the round"
    return "until " + date_token(closes_at.timestamp(), closes_at.strftime("%Y-%m-%d %H:%M UTC"))


def invite_blocks(round_id: int, title: str, minutes: int, closes_at: datetime | None,
                  started: bool = False) -> tuple[str, list[Block]]:
    """The DM that invites one person to a round: StrategyCheck framing, close date, buttons."""
    text = f"StrategyCheck: who is our ideal customer? {escape(title)}: about {minutes} minutes, anonymous."
    blocks: list[Block] = [
        HeaderBlock(text=plain("StrategyCheck: who is our ideal customer?", 150)),
        SectionBlock(text=mrkdwn(
            f"Leadership wants to know whether we agree on the customers we should win. "
            f"*{escape(title)}* takes about *{minutes} minutes* in 5 short steps or fewer; "
            f"it is open {_closes(closes_at)}.\n"
            ":lock: Anonymous: nobody sees who answered what, and no figure is shown for a group "
            "smaller than three. Each step is saved as you go, even if you close it."
        )),
        ActionsBlock(block_id=f"invite:{round_id}", elements=[
            ButtonElement(action_id=START, text=plain("Continue" if started else "Start", 75),
                          value=str(round_id), style="primary"),
            ButtonElement(action_id=SNOOZE, text=plain("Remind me later", 75), value=str(round_id)),
        ]),
    ]
    return text, blocks


def snoozed_blocks(round_id: int, title: str, minutes: int, closes_at: datetime | None,
                   reminders: bool, at: datetime | None = None) -> tuple[str, list[Block]]:
    """The invitation after "Remind me later": honest about whether and when a reminder comes
    (``at``: the personal reminder, shown in the reader's own time zone)."""
    text, blocks = invite_blocks(round_id, title, minutes, closes_at)
    when = date_token(at.timestamp(), at.strftime("%a %d %b %H:%M UTC"), "{date_short_pretty} at {time}") \
        if at is not None else "before it closes"
    note = (f":alarm_clock: OK, I will remind you {when}. You can also start any time below."
            if reminders else f":alarm_clock: OK. It is open {_closes(closes_at)}: start whenever suits you.")
    blocks.insert(2, ContextBlock(elements=[mrkdwn(note)]))
    return text, blocks


def kept_blocks(round_id: int, title: str, minutes_left: int,
                closes_at: datetime | None) -> tuple[str, list[Block]]:
    """The invitation after someone closed a step halfway: what they entered is kept."""
    _, blocks = invite_blocks(round_id, title, minutes_left, closes_at, started=True)
    note = (f":floppy_disk: Your answers so far are saved: about {minutes_left} "
            f"minute{'s' if minutes_left != 1 else ''} left. Continue whenever suits you.")
    blocks.insert(2, ContextBlock(elements=[mrkdwn(note)]))
    return f"Your answers to {title} are saved: about {minutes_left} min left to finish.", blocks


def receipt_blocks(round_id: int, title: str, closes_at: datetime | None, *, open_: bool = True) -> tuple[str, list[Block]]:
    """The invitation, turned into a receipt once every section is in."""
    text = f"Thank you: your answers to {escape(title)} are saved."
    body = f":white_check_mark: *Thank you: your answers to {escape(title)} are saved.*\n"
    if open_:
        body += f"You can edit them while the round is open ({_closes(closes_at)})."
    else:
        body += "The round is closed; leaders will share what the team agreed on."
    blocks: list[Block] = [SectionBlock(text=mrkdwn(body))]
    if open_:
        blocks.append(ActionsBlock(block_id=f"receipt:{round_id}", elements=[
            ButtonElement(action_id=EDIT, text=plain("Edit my answers", 75), value=str(round_id)),
        ]))
    return text, blocks


def reminder_blocks(round_id: int, title: str, minutes: int, closes_at: datetime | None,
                    started: bool) -> tuple[str, list[Block]]:
    """A reminder to someone who has not finished; names nobody else."""
    text = (f"Reminder: {escape(title)} is waiting for your answers (about {minutes} minutes, anonymous)"
            if not started else f"Reminder: finish {escape(title)}; your answers so far are saved")
    lead = ("You started the ICP survey: pick up where you left off, your answers so far are saved."
            if started else "The ICP survey is still waiting for your view: it takes about "
            f"{minutes} minutes.")
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(f":wave: {lead}\nIt is open {_closes(closes_at)}.")),
        ActionsBlock(block_id=f"reminder:{round_id}", elements=[
            ButtonElement(action_id=START, text=plain("Continue" if started else "Start", 75),
                          value=str(round_id), style="primary"),
        ]),
    ]
    return text, blocks


def closed_blocks(title: str) -> tuple[str, list[Block]]:
    text = f"{escape(title)} is closed: answers can no longer be changed"
    return text, [SectionBlock(text=mrkdwn(f"*{escape(title)}* is closed: answers can no longer be changed."))]
