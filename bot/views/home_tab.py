"""App Home: what the viewer can act on first (their own survey waiting, then for leaders the
running round with its buttons), then the ICP and the score trend for everyone, and last what
needs nothing from them (a survey already answered, no survey waiting)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.views import messages
from bot.views.text import escape, mrkdwn, plain

HOME_START = "home_start_round"
HOME_REPORT = "home_report"


def home_view(*, profile_blocks: list[Block], scores: list[tuple[str, float | None]],
              own_round: tuple[int, str, str] | None, leader_blocks: list[Block] | None,
              is_leader: bool, minutes: int | None = None, round_buttons: list[ButtonElement] | None = None) -> View:
    """``scores``: (round title, score) oldest first; ``own_round``: (round id, title, state)
    where state is "new", "started" or "done"; ``minutes``: the open round's survey length;
    ``round_buttons``: a leader's buttons for the open round (closing it, behind Slack's
    confirmation dialog)."""
    blocks: list[Block] = [HeaderBlock(text=plain("ICP Align", 150))]
    later: list[Block] = []  # what asks nothing of the viewer now
    if own_round is not None:
        round_id, title, state = own_round
        if state == "done":
            later += [SectionBlock(text=mrkdwn(f":white_check_mark: You answered *{escape(title)}*. "
                                               "You can edit your answers until it closes.")),
                      ActionsBlock(block_id="home_survey", elements=[
                          ButtonElement(action_id=messages.EDIT, text=plain("Edit my answers", 75),
                                        value=str(round_id))])]
        else:
            about = f"about {minutes} minutes, " if minutes else ""
            lead = "is waiting for your answers" if state == "new" else "is half done: your answers so far are saved"
            text = f":clipboard: *{escape(title)}* {lead} ({about}anonymous)."
            button = ButtonElement(action_id=messages.START, text=plain("Continue" if state == "started" else "Start", 75),
                                   value=str(round_id), style="primary")
            blocks += [SectionBlock(text=mrkdwn(text)), ActionsBlock(block_id="home_survey", elements=[button])]
    else:
        later.append(ContextBlock(elements=[mrkdwn("No survey is waiting for you.")]))
    if is_leader:
        if len(blocks) > 1:
            blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=mrkdwn("*For leaders*")))
        blocks += leader_blocks or [SectionBlock(text=mrkdwn("No round is open."))]
        buttons = [ButtonElement(action_id=HOME_START, text=plain("Start a round", 75),
                                 style=None if leader_blocks else "primary"),
                   ButtonElement(action_id=HOME_REPORT, text=plain("Latest report", 75))]
        buttons += round_buttons or []
        blocks.append(ActionsBlock(block_id="home_leader", elements=buttons))
    blocks += later
    blocks.append(DividerBlock())
    shown = [(t, s) for t, s in scores if s is not None]
    if shown:
        trend = " → ".join(f"{s:.0f}" for _, s in shown[-5:])
        blocks.append(SectionBlock(text=mrkdwn(f"*Alignment score*: {shown[-1][1]:.0f}/100\nTrend over rounds: {trend}")))
        blocks.append(ContextBlock(elements=[mrkdwn("0-100: how far the team agrees on the ideal customer; "
                                                    "70 or more reads as agreement.")]))
    blocks += profile_blocks
    return View(type="home", blocks=blocks[:100])
