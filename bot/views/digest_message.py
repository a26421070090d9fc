"""The weekly digest as a channel message (interim: the score, the response rate, the traits
agreed on and split on; the chart and drift come with the digest content module)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.views.text import escape, mrkdwn, plain


def digest_blocks(result: Any, participation: tuple[int, int] | None) -> tuple[str, list[Block]]:
    """``result``: the latest round's RoundReport (or None); ``participation``: (finished, invited)."""
    header = HeaderBlock(text=plain("ICP alignment: this week", 150))
    if result is None:
        text = "ICP alignment digest: no survey round yet. Start one with /icp-check start."
        return text, [header, SectionBlock(text=mrkdwn(text))]
    report = result.report
    finished, invited = participation or (0, 0)
    if report.hidden or report.score is None:
        text = (f"ICP alignment digest: too few answers this week to show figures "
                f"({finished} of {invited} finished {result.round.title}).")
        return text, [header, SectionBlock(text=mrkdwn(escape(text)))]
    score = f"{report.score:.0f}/100"
    change = ""
    if result.previous_score is not None:
        delta = report.score - result.previous_score
        change = f" ({'+' if delta >= 0 else ''}{delta:.0f} since the last round)"
    scored = [q for q in report.questions if not q.hidden and q.agreement is not None
              and q.kind != "text" and q.role not in ("team", "confidence")]
    ordered = sorted(scored, key=lambda q: q.agreement, reverse=True)
    agreed = [f"• {escape(q.prompt)}: {escape(q.consensus_label or 'no majority')}" for q in ordered[:3]]
    split = [f"• {escape(q.prompt)}: {q.agreement:.2f}" for q in reversed(ordered[-3:])]
    text = f"Your team's ICP alignment: {score}{change}"
    lines = [f"*{text}*", f"{finished} of {invited} finished *{escape(result.round.title)}*."]
    blocks: list[Block] = [header, SectionBlock(text=mrkdwn("\n".join(lines)))]
    if agreed:
        blocks.append(SectionBlock(text=mrkdwn("*Agreed on most*\n" + "\n".join(agreed))))
    if split:
        blocks.append(SectionBlock(text=mrkdwn("*Split on most*\n" + "\n".join(split))))
    blocks.append(ContextBlock(elements=[mrkdwn("`/icp-check report` for the details. "
                                                "No figure describes fewer than the anonymity threshold.")]))
    return text, blocks
