"""The alignment report as text, Markdown or JSON, for the terminal and for exports.

Every format opens with the headline (``survey.report.Headline``): the score in words, the
traits the team agrees on, the ones it splits on with the teams' answers, the next step;
then the traits sorted by agreement under their short names; then a **Details** part with
the statistics (intervals, Krippendorff's alpha, r_WG(J), the team-split tests) and the
consensus ICP and free text. Slack's Block Kit rendering lives in ``bot/``; this module
knows no Slack.
"""

from __future__ import annotations

import json
from typing import Any

from survey.profile import describe_value

SHOWN_SPLITS = 10
NAME_WIDTH = 28
SHARE_LEGEND = "(%) = share of respondents giving that answer; ✓ = agreed."


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


def answer_text(q: Any) -> str:
    """The consensus answer with its share, as the trait table shows it."""
    label = q.consensus_label or "no majority"
    return f"{label} ({share_text(q)})" if q.consensus_share is not None else label


def _index(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _interval(q: Any) -> str:
    return f"{q.interval[0]:.2f}-{q.interval[1]:.2f}" if q.interval else "-"


def hidden_text(report: Any) -> str:
    return (f"Not enough answers to report: {report.respondents} respondent(s), "
            f"at least {report.min_group_size} needed to keep answers anonymous.")


def teams_text(report: Any) -> str:
    if report.teams_withheld:
        return "teams: compared when the round closes"
    if not report.teams:
        return "teams: none given"
    return "teams: " + ", ".join(f"{team} {count}" for team, count in report.teams.items())


def headline_lines(report: Any, bullet: str = "- ", bold: tuple[str, str] = ("", "")) -> list[str]:
    """The headline as lines (shared by text, Markdown and Slack)."""
    b0, b1 = bold
    h = report.headline
    if report.hidden or h is None or report.score is None:
        return [hidden_text(report)]
    out = [f"{b0}{h.score_text}{b1}", f"{report.respondents_text} · {teams_text(report)}"]
    if report.snapshot is not None and report.snapshot.open:
        out.append(report.snapshot.note())
    out.append(f"{b0}Agreed on:{b1}" if h.agreed_items else f"{b0}Agreed on:{b1} nothing yet")
    out += [f"{bullet}{i.name}: {i.text}" for i in h.agreed_items]
    if h.split_items:
        out.append(f"{b0}Split on:{b1}")
        out += [f"{bullet}{i.name}: {i.text}" for i in h.split_items]
    out.append(f"{b0}Next:{b1} {h.next_step}")
    return out


def _trait_rows(report: Any) -> list[Any]:
    ranked = report.by_agreement()
    hidden = [q for q in report.questions if q.hidden and q.kind != "text" and q.role not in ("team", "confidence")]
    return ranked + hidden


def _method(report: Any) -> str:
    """How the interval was read off the resamples, when it is not the usual percentile one."""
    if getattr(report, "interval_method", None) == "normal":
        return "; normal interval: estimate +/- 1.96 SD of the resamples, as for large rounds"
    return ""


def _extra_lines(report: Any) -> list[str]:
    lines = []
    if report.score_interval:
        low, high = report.score_interval
        lines.append(f"Score: {report.score:.1f}, 95% bootstrap interval over respondents {low:.0f}-{high:.0f} "
                     f"({report.bootstrap} resamples{_method(report)})")
    elif report.interval_note:
        lines.append(report.interval_note)
    if report.alpha is not None:
        lines.append(f"Krippendorff's alpha (ordinal) over the scale questions, agreement beyond chance: "
                     f"{report.alpha:.2f}")
    if report.rwg_j is not None:
        lines.append(f"r_WG(J) for the scale block: {report.rwg_j:.2f}")
    if getattr(report, "mean_confidence", None) is not None:
        lines.append(f"Mean confidence of respondents: {report.mean_confidence:.1f}")
    lines.append(f"Consensus rule: {report.consensus_rule_text}. The score is the weighted mean of the "
                 "agreement indices (1 = everyone gave the same answer, 0 = no more than chance).")
    return lines


def _split_test_lines(report: Any) -> list[str]:
    if report.teams_withheld or not report.pairs_tested:
        return []
    out = [f"Team splits: {report.splits_total} question(s) flagged of {report.pairs_tested} team pairs tested "
           f"(permutation test over respondents, Benjamini-Hochberg false discovery rate "
           f"{report.fdr_level:.0%}; Jensen-Shannon distance for options, normalised earth mover's "
           "distance for scales and numbers)"]
    for s in report.splits[:SHOWN_SPLITS]:
        out.append(f"- {s.name}: {s.text}")
        out += [f"    {p.team_a} vs {p.team_b}: {s.metric} {p.distance:.2f}, p = {p.p_value:.3f}, q = {p.q_value:.3f}"
                for p in s.pairs if p.flagged]
    more = len(report.splits) - SHOWN_SPLITS
    if more > 0:
        out.append(f"- ... and {more} more (all of them in --format json)")
    return out


def _profile_lines(report: Any, template: Any) -> list[str]:
    """The consensus ICP, one trait a line (needs the template for option labels)."""
    profile = getattr(report, "profile", None)
    if profile is None or template is None or not (profile.traits or profile.disqualifiers):
        return []
    agreed = {q.id: q.agreed for q in report.questions}
    lines = []
    for trait in profile.traits:
        question = template.question(trait.question_id)
        line = f"{question.name}: {describe_value(question, trait.value, trait.low, trait.high)}"
        if agreed.get(trait.question_id) is False:
            line += " (not agreed yet)"
        lines.append(line)
    if profile.disqualifiers and profile.disqualifier_question:
        question = template.question(profile.disqualifier_question)
        lines.append("Walk away when: " + "; ".join(question.option_label(d) for d in profile.disqualifiers))
    return lines


def to_text(report: Any, template: Any = None) -> str:
    """A plain-text report that a leader can read in a terminal: headline first, details last."""
    out = [f"ICP alignment report: {report.template_name}", "=" * 60]
    out += headline_lines(report)
    if report.hidden or report.score is None:
        return "\n".join(out) + "\n"
    out += ["", f"Trait by trait, most agreed first ({report.consensus_rule_text.split(' (')[0]}):"]
    for q in _trait_rows(report):
        if q.hidden:
            out.append(f"  {q.name:<{NAME_WIDTH}} hidden  (fewer than {report.min_group_size} answers)")
            continue
        mark = "✓" if q.agreed else "✗"
        out.append(f"{mark} {q.name:<{NAME_WIDTH}} {_index(q.agreement):>4}  {answer_text(q)}")
    out.append(SHARE_LEGEND)
    out += ["", "Details", "-------"]
    out += _extra_lines(report)
    out += ["", f"{'question':<{NAME_WIDTH}} {'n':>3} {'index':>5} {'95% interval':>12}  prompt"]
    for q in _trait_rows(report):
        out.append(f"{q.name:<{NAME_WIDTH}} {q.n:>3} {_index(q.agreement):>5} {_interval(q):>12}  {q.prompt}")
    for q in report.questions:
        if q.role == "confidence" and not q.hidden:
            out.append(f"{q.name:<{NAME_WIDTH}} {q.n:>3}     -            -  {answer_text(q)}")
    splits = _split_test_lines(report)
    if splits:
        out += [""] + splits
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


def _md(text: str) -> str:
    return text.replace("|", "/")


def to_markdown(report: Any, template: Any = None) -> str:
    """A Markdown report, for a wiki page or a pull request: headline first, details last."""
    out = [f"# ICP alignment report: {report.template_name}", ""]
    head = headline_lines(report, bold=("**", "**"))
    if report.hidden or report.score is None:
        return "\n".join(out + head) + "\n"
    out += [head[0], "", head[1] + "  "] + [f"{line}  " for line in head[2:]]
    out += ["", "| trait | agreement | agreed | answer |", "| --- | ---: | :---: | --- |"]
    for q in _trait_rows(report):
        if q.hidden:
            out.append(f"| {_md(q.name)} | hidden | | fewer than {report.min_group_size} answers |")
            continue
        out.append(f"| {_md(q.name)} | {_index(q.agreement)} | {'✓' if q.agreed else '✗'} | {_md(answer_text(q))} |")
    out += ["", SHARE_LEGEND, "", "## Details", ""]
    out += [f"- {line}" for line in _extra_lines(report)]
    out += ["", "| question | n | index | 95% interval | prompt |", "| --- | ---: | ---: | ---: | --- |"]
    out += [f"| {_md(q.name)} | {q.n} | {_index(q.agreement)} | {_interval(q)} | {_md(q.prompt)} |"
            for q in _trait_rows(report)]
    splits = _split_test_lines(report)
    if splits:
        out += ["", "### Team splits", ""] + [line if line.startswith(("-", " ")) else line for line in splits]
    profile = _profile_lines(report, template)
    if profile:
        out += ["", "### Consensus ICP", ""] + [f"- {line}" for line in profile]
    for summary in report.texts:
        if getattr(summary, "hidden", False):
            continue
        out += ["", f"### {summary.prompt}", ""]
        out += [f"> {quote}" for quote in summary.quotes[:5]]
    return "\n".join(out) + "\n"


def to_json(report: Any, template: Any = None) -> str:
    """The report as JSON: every field of the report model (``headline`` with its ``agreed`` and
    ``split`` question ids first), no respondent ids."""
    data = report.model_dump(mode="json")
    ordered = {"headline": data.pop("headline", None), **data}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": to_text, "markdown": to_markdown, "json": to_json}
