"""The alignment report as text, Markdown or JSON, for the terminal and for exports.

Slack's Block Kit rendering lives in ``bot/``; this module knows no Slack.
"""

from __future__ import annotations

import json
from typing import Any

from survey.agreement import AGREEMENT_THRESHOLD
from survey.profile import describe_value

READING = (
    f"Reading: an agreement index of {AGREEMENT_THRESHOLD:.2f} or more is conventionally read as "
    "agreement (1 = everyone gave the same answer, 0 = no more agreement than chance)."
)


SHOWN_SPLITS = 10
PROMPT_WIDTH = 48


def share_text(q: Any) -> str:
    """What the consensus share counts: answers at the consensus, or near it for scales and numbers."""
    if q.kind == "number":
        return f"{q.consensus_share:.0%} within ±25%"
    if q.kind == "scale":
        return f"{q.consensus_share:.0%} within half a point"
    if q.kind == "multi":
        if isinstance(q.consensus, list) and len(q.consensus) == 1:
            return f"chosen by {q.consensus_share:.0%}"
        return f"each chosen by {q.consensus_share:.0%} or more"
    return f"{q.consensus_share:.0%}"


def _cell(prompt: str) -> str:
    """A prompt cut to the table's column, with an ellipsis where it was cut."""
    text = prompt if len(prompt) <= PROMPT_WIDTH else prompt[: PROMPT_WIDTH - 1] + "…"
    return f"{text:<{PROMPT_WIDTH}}"


def _more_splits(report: Any) -> list[str]:
    more = len(report.splits) - SHOWN_SPLITS
    return [f"- ... and {more} smaller split(s) (all of them in --format json)"] if more > 0 else []


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _index(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _score_line(report: Any) -> str:
    if report.hidden or report.score is None:
        return (
            f"Not enough answers to report: {report.respondents} respondent(s), "
            f"at least {report.min_group_size} needed to keep answers anonymous."
        )
    line = f"Alignment score: {report.score:.0f}/100"
    if report.score_interval:
        low, high = report.score_interval
        line += f" (95% interval {low:.0f}-{high:.0f})"
    return line


def _extra_lines(report: Any) -> list[str]:
    lines = []
    if report.alpha is not None:
        lines.append(f"Krippendorff's alpha over the scale questions (beyond chance): {report.alpha:.2f}")
    if report.rwg_j is not None:
        lines.append(f"r_WG(J) for the scale block: {report.rwg_j:.2f}")
    if getattr(report, "mean_confidence", None) is not None:
        lines.append(f"Mean confidence of respondents: {report.mean_confidence:.1f}")
    return lines


def _teams_line(report: Any) -> str:
    if not report.teams:
        return "Teams: none given"
    return "Teams: " + ", ".join(f"{team} {count}" for team, count in report.teams.items())


def _scored(report: Any) -> list[Any]:
    return [q for q in report.questions if q.agreement is not None]


def _profile_lines(report: Any, template: Any) -> list[str]:
    """The consensus ICP, one trait a line (needs the template for option labels)."""
    profile = getattr(report, "profile", None)
    if profile is None or template is None or not (profile.traits or profile.disqualifiers):
        return []
    agreement = {q.id: q.agreement for q in report.questions}
    lines = []
    for trait in profile.traits:
        question = template.question(trait.question_id)
        line = f"{question.prompt}: {describe_value(question, trait.value, trait.low, trait.high)}"
        index = agreement.get(trait.question_id)
        if index is not None and index < AGREEMENT_THRESHOLD:
            line += f" (not agreed yet: index {index:.2f})"
        lines.append(line)
    if profile.disqualifiers and profile.disqualifier_question:
        question = template.question(profile.disqualifier_question)
        lines.append("Walk away when: " + "; ".join(question.option_label(d) for d in profile.disqualifiers))
    return lines


def to_text(report: Any, template: Any = None) -> str:
    """A plain-text report that a leader can read in a terminal."""
    out = [f"ICP alignment report: {report.template_name}", "=" * 60,
           f"Respondents: {report.respondents}", _teams_line(report), _score_line(report)]
    out += _extra_lines(report)
    if not report.hidden:
        out += ["", READING, "", f"{'question':<{PROMPT_WIDTH}} {'n':>3} {'index':>6}  consensus"]
        for q in report.questions:
            if q.kind == "text" or q.role in ("team",):
                continue
            if q.hidden:
                out.append(f"{_cell(q.prompt)} {q.n:>3} {'hidden':>6}  (fewer than {report.min_group_size} answers)")
                continue
            mark = "" if q.agreed is None else (" ✓" if q.agreed else " ✗")
            share = f" ({share_text(q)})" if q.consensus_share is not None else ""
            label = q.consensus_label or "no majority"
            out.append(f"{_cell(q.prompt)} {q.n:>3} {_index(q.agreement):>6}{mark}  {label}{share}")
        if report.splits:
            out += ["", "Where teams split:"]
            out += [f"- {s.prompt}: {s.text} (distance {s.distance:.2f})" for s in report.splits[:SHOWN_SPLITS]]
            out += _more_splits(report)
        profile = _profile_lines(report, template)
        if profile:
            out += ["", "Consensus ICP (the candidate a leader can ratify):"] + [f"- {line}" for line in profile]
        for summary in report.texts:
            if getattr(summary, "hidden", False):
                continue
            out += ["", f"{summary.prompt} ({summary.count} answers, anonymous):"]
            out += [f'  "{quote}"' for quote in summary.quotes[:5]]
            if summary.terms:
                out.append("  frequent terms: " + ", ".join(f"{t} ({c})" for t, c in summary.terms[:8]))
    return "\n".join(out) + "\n"


def to_markdown(report: Any, template: Any = None) -> str:
    """A Markdown report, for a wiki page or a pull request."""
    out = [f"# ICP alignment report: {report.template_name}", "",
           f"**{_score_line(report)}**", "", f"Respondents: {report.respondents}. {_teams_line(report)}."]
    out += [f"{line}." for line in _extra_lines(report)]
    if not report.hidden:
        out += ["", f"> {READING}", "", "| question | n | agreement | consensus | share |",
                "| --- | ---: | ---: | --- | ---: |"]
        for q in report.questions:
            if q.kind == "text" or q.role == "team":
                continue
            if q.hidden:
                out.append(f"| {q.prompt} | {q.n} | hidden | fewer than {report.min_group_size} answers | |")
                continue
            out.append(f"| {q.prompt} | {q.n} | {_index(q.agreement)} | "
                       f"{(q.consensus_label or 'no majority').replace('|', '/')} | {_pct(q.consensus_share)} |")
        if report.splits:
            out += ["", "## Where teams split", ""]
            out += [f"- **{s.prompt}**: {s.text} (Jensen-Shannon distance {s.distance:.2f})"
                    for s in report.splits[:SHOWN_SPLITS]]
            out += _more_splits(report)
        profile = _profile_lines(report, template)
        if profile:
            out += ["", "## Consensus ICP", ""] + [f"- {line}" for line in profile]
        for summary in report.texts:
            if getattr(summary, "hidden", False):
                continue
            out += ["", f"## {summary.prompt}", ""]
            out += [f"> {quote}" for quote in summary.quotes[:5]]
    return "\n".join(out) + "\n"


def to_json(report: Any, template: Any = None) -> str:
    """The report as JSON: every field of the report model, no respondent ids."""
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": to_text, "markdown": to_markdown, "json": to_json}
