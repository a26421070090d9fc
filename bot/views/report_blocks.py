"""Leader-facing Block Kit: the alignment report, round status, the ICP profile, a fit score.

Everything here renders figures that ``survey/`` computed; nothing here computes. The
report opens with the headline (score in words, agreed traits, split traits with the teams'
answers, next step); the statistics jargon sits in a closing "Details" context line. Reports
stay under Slack's 50 blocks per message by grouping questions into a few sections, and
free text is escaped and never attributed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.views.text import date_token, escape, mrkdwn, plain, truncate
from survey.template import Template

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.profile import FitResult, IcpProfile

POST_REPORT = "report_post"
REMIND = "round_remind"
MAX_LINES_PER_SECTION = 8
SECTION_TEXT_LIMIT = 3000


def _bar(value: float, width: int = 10) -> str:
    filled = max(0, min(width, round(value * width)))
    return "█" * filled + "░" * (width - filled)


def _chunks(lines: list[str]) -> list[SectionBlock]:
    """Group lines into section blocks of bounded size."""
    blocks: list[SectionBlock] = []
    current: list[str] = []
    for line in lines:
        candidate = "\n".join([*current, line])
        if current and (len(current) >= MAX_LINES_PER_SECTION or len(candidate) > SECTION_TEXT_LIMIT):
            blocks.append(SectionBlock(text=mrkdwn("\n".join(current))))
            current = []
        current.append(truncate(line, SECTION_TEXT_LIMIT))
    if current:
        blocks.append(SectionBlock(text=mrkdwn("\n".join(current))))
    return blocks


def score_text(report: Any) -> str:
    """The score in words ("51/100: your team partly agrees"), or why there is none yet."""
    if report.hidden or report.score is None:
        return (f"Not enough answers to show figures yet: {report.respondents} respondent(s); "
                f"at least {report.min_group_size} keep answers anonymous.")
    head = report.headline.score_text if report.headline else f"{report.score:.0f}/100"
    return f"*Alignment score: {escape(head)}*"


def _headline_blocks(report: Any, previous_score: float | None) -> list[Block]:
    from survey.report_format import teams_text

    summary = score_text(report)
    if previous_score is not None and report.score is not None:
        delta = report.score - previous_score
        summary += f"  ({'+' if delta >= 0 else ''}{delta:.0f} since the last round)"
    summary += f"\n{escape(report.respondents_text)} · {escape(teams_text(report))}"
    if report.snapshot is not None and report.snapshot.open:
        summary += f"\n_{escape(report.snapshot.note())}_"
    blocks: list[Block] = [SectionBlock(text=mrkdwn(summary))]
    head = report.headline
    if report.hidden or report.score is None or head is None:
        return blocks
    lines = ["*Agreed on*" + ("" if head.agreed_items else ": nothing yet")]
    lines += [f":large_green_circle: *{escape(i.name)}*: {escape(i.text)}" for i in head.agreed_items]
    if head.split_items:
        lines.append("*Split on*")
        lines += [f":large_orange_circle: *{escape(i.name)}*: {escape(i.text)}" for i in head.split_items]
    lines.append(f"*Next:* {escape(head.next_step)}")
    return [*blocks, SectionBlock(text=mrkdwn(truncate("\n".join(lines), SECTION_TEXT_LIMIT)))]


def _details_text(report: Any) -> str:
    parts = []
    if report.score_interval:
        low, high = report.score_interval
        parts.append(f"score {report.score:.1f}, 95% interval {low:.0f}-{high:.0f}")
    elif report.interval_note:
        parts.append(report.interval_note)
    if report.alpha is not None:
        parts.append(f"Krippendorff's alpha (scales, beyond chance) {report.alpha:.2f}")
    if report.rwg_j is not None:
        parts.append(f"r_WG(J) (scales) {report.rwg_j:.2f}")
    if report.pairs_tested:
        parts.append(f"team splits: {report.splits_total} question(s) flagged of {report.pairs_tested} team pairs "
                     f"tested (permutation test, Benjamini-Hochberg FDR {report.fdr_level:.0%})")
    return "Details: " + " · ".join(parts) if parts else ""


def report_blocks(report: Any, title: str, *, round_id: int | None = None,
                  post_channel: str | None = None, previous_score: float | None = None,
                  for_channel: bool = True) -> list[Block]:
    """The alignment report, headline first; with ``post_channel`` a button offers to post it there.

    ``for_channel`` (the default, the safe side): the blocks may be seen by a whole channel, so
    free-text quotes are left out unless the template allows them (``quotes_in_channel``):
    staff were told their sentences are shown to leaders. Pass ``for_channel=False`` for a
    view only a leader sees (the ephemeral report, the App Home modal).
    """
    blocks: list[Block] = [HeaderBlock(text=plain(f"ICP alignment: {title}", 150))]
    blocks += _headline_blocks(report, previous_score)
    if not report.hidden and report.score is not None:
        blocks.append(DividerBlock())
        from survey.report_format import answer_text

        lines = []
        for q in report.by_agreement():
            mark = ":large_green_circle:" if q.agreed else ":large_orange_circle:"
            lines.append(f"{mark} `{_bar(q.agreement)}` {q.agreement:.2f}  *{escape(q.name)}*: "
                         f"{escape(answer_text(q))}")
        for q in report.questions:
            if q.hidden and q.kind != "text" and q.role not in ("team", "confidence"):
                lines.append(f"• {escape(q.name)}: _hidden (fewer than {report.min_group_size} answers)_")
        blocks += _chunks(lines)
        legend = (f"{report.consensus_rule_text}. (%) = share of respondents giving that answer; "
                  ":large_green_circle: = agreed.")
        blocks.append(ContextBlock(elements=[mrkdwn(truncate(escape(legend), 3000))]))
        if len(report.splits) > 3:
            split_lines = ["*Where teams also split*"]
            split_lines += [f"• *{escape(s.name)}*: {escape(s.text)}" for s in report.splits[3:8]]
            blocks += _chunks(split_lines)
        if not for_channel or report.quotes_in_channel:
            for summary_ in report.texts:
                if getattr(summary_, "hidden", False) or not summary_.quotes:
                    continue
                quotes = "\n".join(f"> {escape(truncate(q, 280))}" for q in summary_.quotes[:3])
                blocks.append(SectionBlock(text=mrkdwn(truncate(
                    f"*{escape(summary_.prompt)}* (anonymous)\n{quotes}", 3000))))
        details = _details_text(report)
        if details:
            blocks.append(ContextBlock(elements=[mrkdwn(truncate(escape(details), 3000))]))
    if post_channel and round_id is not None and not report.hidden:
        blocks.append(ActionsBlock(block_id="report_actions", elements=[
            ButtonElement(action_id=POST_REPORT, text=plain("Post to this channel", 75),
                          value=f"{round_id}:{post_channel}"),
        ]))
    return blocks[:50]


def time_left(closes_at: datetime, now: datetime) -> str:
    """ "3 days 4 hours left", "45 minutes left", or "past the close date"."""
    seconds = (closes_at - now).total_seconds()
    if seconds <= 0:
        return "past the close date"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        text = f"{days} day{'s' * (days != 1)}"
        return f"{text} {hours} hour{'s' * (hours != 1)} left" if hours else f"{text} left"
    if hours:
        return f"{hours} hour{'s' * (hours != 1)} left"
    return f"{max(1, rest // 60)} minutes left"


def status_blocks(*, round_id: int, title: str, invited: int, started: int, completed: int,
                  closes_at: datetime | None, status: str, can_remind: bool,
                  now: datetime | None = None) -> list[Block]:
    """A round's progress: counts only, never names."""
    rate = completed / invited if invited else 0.0
    lines = [f"*{escape(title)}* (round {round_id}, {status})",
             f"Invited: {invited} · finished: {completed} ({rate:.0%}) · started, not finished: {started}"]
    if closes_at is not None:
        when = date_token(closes_at.timestamp(), closes_at.strftime("%Y-%m-%d %H:%M UTC"))
        if status == "open":
            lines.append(f"Closes {when} ({time_left(closes_at, now or datetime.now(UTC))})")
        else:
            lines.append(f"Closed · it was due {when}")
    blocks: list[Block] = [SectionBlock(text=mrkdwn("\n".join(lines)))]
    pending = invited - completed
    if can_remind and status == "open" and pending > 0:
        blocks.append(ActionsBlock(block_id="status_actions", elements=[
            ButtonElement(action_id=REMIND, text=plain(f"Remind the {pending} who have not finished", 75),
                          value=str(round_id)),
        ]))
    return blocks


def profile_blocks(profile: IcpProfile | None, template: Template | None) -> list[Block]:
    """The ratified ICP for everyone to read."""
    if profile is None or template is None:
        return [SectionBlock(text=mrkdwn("No ICP has been ratified yet. Leaders can run `/icp-check ratify` "
                                         "after a round."))]
    head = f"*Our ideal customer profile (version {profile.version})*"
    if profile.ratified_at:
        head += " · ratified " + date_token(profile.ratified_at.timestamp(), profile.ratified_at.strftime("%Y-%m-%d"),
                                            "{date_short_pretty}")
    lines = [head]
    for trait in profile.traits:
        if not template.has_question(trait.question_id):
            continue
        question = template.question(trait.question_id)
        from survey.profile import describe_value
        lines.append(f"• *{escape(question.name)}*: {escape(describe_value(question, trait.value, trait.low, trait.high))}")
    if profile.disqualifiers and profile.disqualifier_question and template.has_question(profile.disqualifier_question):
        question = template.question(profile.disqualifier_question)
        lines.append("*Walk away when:* " + "; ".join(escape(question.option_label(d)) for d in profile.disqualifiers))
    return _chunks(lines)


def fit_blocks(result: FitResult, prospect_name: str | None = None) -> list[Block]:
    """Why a prospect fits or not, at a glance."""
    who = escape(prospect_name) if prospect_name else "This prospect"
    score = "-" if result.score is None else f"{result.score}/100"
    lines = [f"*{who}: {result.verdict}* (fit {score})"]
    if result.disqualifiers_hit:
        lines.append(":no_entry: Walk-away signs: " + "; ".join(escape(d) for d in result.disqualifiers_hit))
    lines += [f":white_check_mark: {escape(c.prompt)}: {escape(c.actual)}" for c in result.matches]
    lines += [f":x: {escape(c.prompt)}: {escape(c.actual)} (ICP: {escape(c.expected)})" for c in result.misses]
    if result.unknown:
        lines.append(f"_Not described: {len(result.unknown)} trait(s)_")
    return _chunks(lines)
