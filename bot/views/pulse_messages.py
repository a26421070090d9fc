"""The StrategyCheck pulse DM: one question, answered with one click, then the team's answers."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock

from bot.views.text import escape, mrkdwn, plain

ANSWER = "pulse_answer"


def _topic_line(prompt: str, teams: tuple[str, ...]) -> str:
    if len(teams) >= 2:
        return f"Last round {escape(teams[0])} and {escape(teams[1])} split on *{escape(prompt)}*."
    return f"Last round the team split most on *{escape(prompt)}*."


def pulse_blocks(round_id: int, prompt: str, teams: tuple[str, ...],
                 options: list[tuple[str, str]]) -> tuple[str, list[Block]]:
    text = f"StrategyCheck: {escape(prompt)}: where do you stand now?"
    buttons = [ButtonElement(action_id=f"{ANSWER}:{i}", text=plain(label, 75), value=f"{round_id}:{value}")
               for i, (value, label) in enumerate(options)]
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(f":compass: *StrategyCheck*\n{_topic_line(prompt, teams)} Where do you stand now?")),
        ActionsBlock(block_id=f"pulse:{round_id}", elements=buttons),
        ContextBlock(elements=[mrkdwn("One click, anonymous: nobody sees who answered what. "
                                      "You see how the team answered once enough people have.")]),
    ]
    return text, blocks


def answered_blocks(round_id: int, prompt: str, chosen: str, shares: list[tuple[str, float]] | None,
                    min_group_size: int, options: list[tuple[str, str]]) -> tuple[str, list[Block]]:
    """The pulse DM once answered: the answer, the team's so far (above the threshold), and
    the buttons again to change it while the pulse is open."""
    text = f"StrategyCheck: thanks, your answer to {escape(prompt)} is saved."
    lines = [f":white_check_mark: *{escape(prompt)}*: you said *{escape(chosen)}*."]
    if shares is None:
        lines.append(f"You will see how the team answered once {min_group_size} people have (so nobody's answer "
                     "can be told apart); click again to change yours while it is open.")
    else:
        lines.append("How the team answered so far: " + " · ".join(f"{escape(label)} {share:.0%}"
                                                                    for label, share in shares))
    buttons = [ButtonElement(action_id=f"{ANSWER}:{i}", text=plain(label, 75), value=f"{round_id}:{value}")
               for i, (value, label) in enumerate(options)]
    return text, [SectionBlock(text=mrkdwn("\n".join(lines))), ActionsBlock(block_id=f"pulse:{round_id}",
                                                                             elements=buttons)]
