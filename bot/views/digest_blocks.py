"""The weekly digest as Block Kit: a header, the figures, and two charts.

The charts are Slack's ``data_visualization`` block
(https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block, announced in
Slack's changelog on 2026-06-16): a bar chart of per-trait agreement and a line chart of the
score over rounds. slack_sdk (3.48) has no model for it, so it is built here as a plain dict
under the documented limits, which the Block Kit schema in
``shared/slack-reference/schemas`` encodes too: title 1-50 characters; 1-6 series, each
named 1-20 characters, unique in the chart; at most 20 categories of 1-20 characters; each
series exactly one point per category; x/y labels up to 50 characters; at most two such
blocks per message. Optionally an image block shows the PNG of ``bot.charts`` once the
caller has uploaded it (files_upload_v2): Slack's file object needs the file's id or its
url_private / permalink, not both, and the poster must have access to the file.

Every figure was computed by ``survey.digest``; nothing here computes, and people's text
(trait names, team labels, answers) is escaped.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, model_validator
from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import SlackFile

from bot.views.text import escape, mrkdwn, plain, truncate

if TYPE_CHECKING:  # survey.digest loads numpy and scipy: not at start-up
    from survey.digest import Digest, SplitTrait, TraitAgreement

CHART_TITLE_MAX = 50
CHART_LABEL_MAX = 20
CHART_CATEGORIES_MAX = 20
AXIS_LABEL_MAX = 50
ALT_TEXT_MAX = 2000
MAX_DRIFT_LINES = 12


class DigestImage(BaseModel):
    """The uploaded chart PNG: its Slack file id or its url (one of them), and alt text."""

    alt_text: str
    file_id: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> DigestImage:
        if (self.file_id is None) == (self.url is None):
            raise ValueError("give the file's id or its url, not both")
        return self


TITLE_IN_TEXT = 80


def _title(digest: Digest) -> str:
    return escape(truncate(digest.title, TITLE_IN_TEXT))


def too_few_line(digest: Digest) -> str:
    """The one line a week with too few answers gets."""
    if digest.respondents < digest.min_group_size:
        why = f"{digest.respondents} answered; results show from {digest.min_group_size}"
    else:
        why = f"no trait has {digest.min_group_size} answers yet"
    return f"ICP alignment digest ({_title(digest)}): too few answers to show results this week ({why})."


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("±0" if value == 0 else str(value))


def shown_change(digest: Digest) -> int | None:
    """The change as a reader checks it: the difference of the two scores as shown (rounded),
    so that "65 (+13 since Q1)" always adds up with Q1's 52."""
    if digest.score is None or digest.previous_score is None:
        return None
    return round(digest.score) - round(digest.previous_score)


def score_line(digest: Digest) -> str:
    text = f"*Alignment score:* {round(digest.score)}/100"  # type: ignore[arg-type]
    change = shown_change(digest)
    if change is not None:
        since = escape(truncate(digest.previous_title or "the last round", TITLE_IN_TEXT))
        text += f" ({_signed(change)} since {since}, which scored {round(digest.previous_score)})"  # type: ignore[arg-type]
    return text


def rate_line(digest: Digest) -> str:
    if digest.response_rate is None:
        return f"*Response rate:* {digest.finished} finished (nobody was invited)"
    return f"*Response rate:* {_pct(digest.response_rate)} ({digest.finished} of {digest.invited} finished)"


def drift_line(digest: Digest) -> str | None:
    drift = digest.drift
    if drift is None or drift.share is None:
        return None
    version = f" v{drift.profile_version}" if drift.profile_version is not None else ""
    return (f"*Match with the ratified ICP{version}:* {_pct(drift.share)} of answers "
            f"({drift.matched} of {drift.answered}; drift {_pct(drift.drift)})")


def digest_text(digest: Digest) -> str:
    """The message's plain ``text``: the notification and screen-reader fallback."""
    if digest.hidden:
        return too_few_line(digest)
    parts = [f"ICP alignment digest ({_title(digest)}): score {round(digest.score)}/100"]  # type: ignore[arg-type]
    change = shown_change(digest)
    if change is not None:
        parts[0] += f" ({_signed(change)})"
    if digest.response_rate is not None:
        parts.append(f"response rate {_pct(digest.response_rate)}")
    if digest.drift is not None:
        parts.append(f"{_pct(digest.drift.share)} of answers match the ICP")
    return ", ".join(parts) + "."


def index_value(agreement: float) -> float:
    """An agreement index cut (not rounded) to two decimals, so that a trait below the
    threshold never reads as 0.70: 0.6957 shows 0.69."""
    return math.floor(agreement * 100 + 1e-9) / 100


def _trait_line(t: TraitAgreement) -> str:
    answer = escape(t.consensus_label) if t.consensus_label else "no majority"
    share = f" ({escape(t.share_text)})" if t.share_text else ""
    return f"• *{escape(t.name)}* {index_value(t.agreement):.2f}: {answer}{share}"


def _split_line(t: SplitTrait) -> str:
    line = _trait_line(t)
    for team_text in t.teams:
        line += f"\n      {escape(team_text)}"
    return line


def chart_labels(names: list[str], limit: int = CHART_LABEL_MAX) -> list[str]:
    """Names cut to ``limit`` characters and made unique ("Company size…", "Company s… 2")."""
    out: list[str] = []
    for name in names:
        label = truncate(name.strip() or "?", limit)
        n = 2
        while label in out:
            suffix = f" {n}"
            label = truncate(name, limit - len(suffix)) + suffix
            n += 1
        out.append(label)
    return out


def agreement_chart(digest: Digest) -> dict[str, Any] | None:
    """A bar chart of each shown trait's agreement (the first 20 in template order)."""
    traits = digest.traits[:CHART_CATEGORIES_MAX]
    if not traits:
        return None
    labels = chart_labels([t.name for t in traits])
    more = len(digest.traits) - len(traits)
    title = "Agreement per trait" + (f" (first {len(traits)} of {len(digest.traits)})" if more else "")
    return {
        "type": "data_visualization",
        "block_id": "digest_agreement",
        "title": truncate(title, CHART_TITLE_MAX),
        "chart": {
            "type": "bar",
            "series": [{
                "name": "Agreement",
                "data": [{"label": label, "value": index_value(t.agreement)}
                         for label, t in zip(labels, traits, strict=True)],
            }],
            "axis_config": {
                "categories": labels,
                "x_label": "Trait",
                "y_label": truncate(f"Agreement (1 = same answer; {digest.agreement_threshold:.2f} = agreed)", AXIS_LABEL_MAX),
            },
        },
    }


def trend_chart(digest: Digest) -> dict[str, Any] | None:
    """A line chart of the score over the last 20 rounds that had one; None under two."""
    points = [p for p in digest.trend if p.score is not None][-CHART_CATEGORIES_MAX:]
    if len(points) < 2:
        return None
    labels = chart_labels([p.date.isoformat() for p in points])
    return {
        "type": "data_visualization",
        "block_id": "digest_trend",
        "title": "Alignment score over rounds",
        "chart": {
            "type": "line",
            "series": [{
                "name": "Score",
                "data": [{"label": label, "value": round(p.score, 1)}  # type: ignore[arg-type]
                         for label, p in zip(labels, points, strict=True)],
            }],
            "axis_config": {"categories": labels, "x_label": "Round", "y_label": "Score (0-100)"},
        },
    }


def _image_block(image: DigestImage) -> dict[str, Any]:
    ref = SlackFile(id=image.file_id) if image.file_id else SlackFile(url=image.url)
    return ImageBlock(
        block_id="digest_chart_png",
        slack_file=ref,
        alt_text=truncate(image.alt_text, ALT_TEXT_MAX),
        title=plain("Agreement per trait and score over rounds", 2000),
    ).to_dict()


def digest_message(
    digest: Digest, *, image: DigestImage | None = None, native_charts: bool = True
) -> dict[str, Any]:
    """``text`` and ``blocks`` for chat.postMessage (add ``channel``)."""
    return {"text": digest_text(digest),
            "blocks": digest_blocks(digest, image=image, native_charts=native_charts)}


def digest_blocks(
    digest: Digest, *, image: DigestImage | None = None, native_charts: bool = True
) -> list[dict[str, Any]]:
    """The digest message's blocks, as JSON-ready dicts (fit for an outbox row).

    ``native_charts`` adds the two ``data_visualization`` blocks; ``image`` adds the uploaded
    PNG. A hidden digest is one short line, with neither.
    """
    if digest.hidden:
        return [SectionBlock(block_id="digest_too_few", text=mrkdwn(too_few_line(digest))).to_dict()]

    figures = [score_line(digest), rate_line(digest)]
    line = drift_line(digest)
    if line:
        figures.append(line)
    blocks: list[dict[str, Any]] = [
        HeaderBlock(block_id="digest_header", text=plain(f"ICP alignment digest: {digest.title}", 150)).to_dict(),
        SectionBlock(block_id="digest_figures", text=mrkdwn("\n".join(figures))).to_dict(),
    ]

    threshold = f"{digest.agreement_threshold:.2f}"
    agreed = [f"*Where the team agrees most* (agreement {threshold} or more)"]
    agreed += [_trait_line(t) for t in digest.agreed] or [f"_No trait reaches {threshold} yet._"]
    split = [f"*Where it splits most* (below {threshold})"]
    split += [_split_line(t) for t in digest.split] or ["_Every trait shown reaches agreement._"]
    blocks.append(SectionBlock(block_id="digest_agreed", text=mrkdwn("\n".join(agreed))).to_dict())
    blocks.append(SectionBlock(block_id="digest_split", text=mrkdwn("\n".join(split))).to_dict())

    if digest.drift is not None and digest.drift.traits:
        lines = ["*Answers that match the ratified ICP, per trait*"]
        for t in digest.drift.traits[:MAX_DRIFT_LINES]:
            lines.append(f"• *{escape(t.name)}*: {_pct(t.share)} ({t.matched} of {t.answered}) "
                         f"match _{escape(truncate(t.expected, 120))}_")
        if len(digest.drift.traits) > MAX_DRIFT_LINES:
            lines.append(f"_and {len(digest.drift.traits) - MAX_DRIFT_LINES} more trait(s)_")
        blocks.append(SectionBlock(block_id="digest_drift", text=mrkdwn("\n".join(lines))).to_dict())

    if native_charts:
        charts = [c for c in (agreement_chart(digest), trend_chart(digest)) if c is not None]
        if charts:
            blocks.append(DividerBlock(block_id="digest_charts").to_dict())
            blocks += charts
    if image is not None:
        blocks.append(_image_block(image))
    blocks.append(ContextBlock(block_id="digest_reading", elements=[mrkdwn(
        f"Agreement index: 1 = everyone gave the same answer; {threshold} or more reads as agreement. "
        f"Nothing is shown for fewer than {digest.min_group_size} people, a team included."
    )]).to_dict())
    return blocks
