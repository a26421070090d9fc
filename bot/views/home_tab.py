"""App Home: the ICP and the score trend for everyone, the person's own survey, and for
leaders the running round's progress with buttons for the main commands."""

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
              is_leader: bool) -> View:
    """``scores``: (round title, score) oldest first; ``own_round``: (round id, title, state)
    where state is "new", "started" or "done"."""
    blocks: list[Block] = [HeaderBlock(text=plain("ICP Align", 150))]
    if own_round is not None:
        round_id, title, state = own_round
        if state == "done":
            text = f":white_check_mark: You answered *{escape(title)}*. You can edit your answers until it closes."
            button = ButtonElement(action_id=messages.EDIT, text=plain("Edit my answers", 75), value=str(round_id))
        else:
            text = f":clipboard: *{escape(title)}* is waiting for your answers (about 8 minutes, anonymous)."
            button = ButtonElement(action_id=messages.START, text=plain("Continue" if state == "started" else "Start", 75),
                                   value=str(round_id), style="primary")
        blocks += [SectionBlock(text=mrkdwn(text)), ActionsBlock(block_id="home_survey", elements=[button])]
    else:
        blocks.append(SectionBlock(text=mrkdwn("No survey is waiting for you.")))
    blocks.append(DividerBlock())
    shown = [(t, s) for t, s in scores if s is not None]
    if shown:
        trend = " → ".join(f"{s:.0f}" for _, s in shown[-5:])
        blocks.append(SectionBlock(text=mrkdwn(f"*Alignment score*: {shown[-1][1]:.0f}/100\nTrend over rounds: {trend}")))
        blocks.append(ContextBlock(elements=[mrkdwn("0-100: how far the team agrees on the ideal customer; "
                                                    "70 or more reads as agreement.")]))
    blocks += profile_blocks
    if is_leader:
        blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=mrkdwn("*For leaders*")))
        blocks += leader_blocks or [SectionBlock(text=mrkdwn("No round is open."))]
        blocks.append(ActionsBlock(block_id="home_leader", elements=[
            ButtonElement(action_id=HOME_START, text=plain("Start a round", 75)),
            ButtonElement(action_id=HOME_REPORT, text=plain("Latest report", 75)),
        ]))
    return View(type="home", blocks=blocks[:100])
