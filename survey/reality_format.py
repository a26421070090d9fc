"""The "Perception and reality" section as text, Markdown or JSON.

Composed after the alignment report (``survey.report_format``) by the caller: text and
Markdown are appended, JSON goes under the report's ``reality`` key. Only counts, shares and
sums: no customer is named.
"""

from __future__ import annotations

import json
from typing import Any

from survey.reality import DOMINANT_SHARE, TOP_SHARE, RealityComparison

TITLE = "Perception and reality"
MATCH_READING = ("match = the share of the top customers whose value fits the staff's consensus: "
                 "the same option, an option in common, within one scale point, or inside the number range")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def concentration_line(r: RealityComparison) -> str:
    c = r.revenue_concentration
    line = (f"Revenue concentration: the top {TOP_SHARE:.0%} of customers ({c.top_customers} of "
            f"{c.customers}) bring {_pct(c.share)} of revenue ({_money(c.top_revenue)} of {_money(c.total_revenue)})")
    if c.staff_estimate is not None:
        line += f"; staff estimate {_pct(c.staff_estimate)}"
        if c.staff_low is not None and c.staff_high is not None and (c.staff_low, c.staff_high) != (c.staff_estimate,) * 2:
            line += f" (IQR {_pct(c.staff_low)}-{_pct(c.staff_high)})"
        assert c.difference is not None
        line += f", {abs(c.difference) * 100:.0f} points {'above' if c.difference < 0 else 'below'} the real figure" \
            if round(abs(c.difference) * 100) else ", about right"
    return line


def trait_line(t: Any) -> str:
    top = f"{t.top_answer_label} ({_pct(t.top_share)})" if t.top_answer_label else "-"
    staff = f"{t.staff_label} ({_pct(t.staff_share)})" if t.staff_label else "no consensus"
    match = f"match {_pct(t.match_index)}" if t.match_index is not None else "match -"
    return f"{t.prompt}: staff say {staff}; top customers are {top}; {match}"


def gap_sentence(r: RealityComparison) -> str | None:
    """The trait where perception and reality differ most, in one sentence (for the digest)."""
    t = r.trait(r.largest_gap) if r.largest_gap else None
    if t is None or not t.staff_label:
        return None
    return (f"Staff say {t.staff_label} ({_pct(t.staff_share)}); your top {TOP_SHARE:.0%} of customers "
            f"by revenue are {t.top_answer_label} ({_pct(t.top_share)}).")


def trait_hint(r: RealityComparison | None, question_id: str) -> str | None:
    """What the top customers look like on one trait, for a form beside the trait (the ratify
    form): "Top 20% of customers: 201-1000 employees (56%)"; None when nothing is known."""
    t = r.trait(question_id) if r is not None else None
    if t is None or not t.top_answer_label:
        return None
    return f"Top {TOP_SHARE:.0%} of customers: {t.top_answer_label} ({_pct(t.top_share)})"


def fit_lines(r: RealityComparison) -> list[str]:
    f = r.fit
    if f is None:
        return []
    lines = [f"Fit to {f.source} (score {f.threshold} or more): {f.top_fitting} of {r.top_customers} top customers, "
             f"{_pct(f.top_revenue_share_fitting)} of their revenue"]
    if f.revenue_per_fitting is not None or f.revenue_per_not_fitting is not None:
        line = (f"Revenue per account: {_money(f.revenue_per_fitting)} for the {f.fitting} customers who fit, "
                f"{_money(f.revenue_per_not_fitting)} for the {f.not_fitting} who do not")
        if f.lift is not None:
            line += f" (x{f.lift:.2f}: the ICP points {'at' if f.lift > 1 else 'away from'} value)"
        lines.append(line)
    if f.unknown:
        lines.append(f"{f.unknown} customer(s) have none of the profile's traits known")
    return lines


def persona_lines(r: RealityComparison) -> list[str]:
    out = []
    for i, p in enumerate(r.personas, 1):
        traits = ", ".join(f"{t.label} {_pct(t.share)}" for t in p.traits) or "no trait shared by half"
        out.append(f"{i}. {p.name}: {p.customers} customers, {_pct(p.revenue_share)} of the top revenue, "
                   f"{_money(p.revenue_per_account)} per account ({traits})")
    return out


def to_text(r: RealityComparison) -> str:
    out = ["", TITLE, "-" * len(TITLE), concentration_line(r)]
    gap = gap_sentence(r)
    if gap:
        out.append(f"Largest gap: {gap}")
    if r.traits:
        out += ["", "Per trait:"] + [f"- {trait_line(t)}" for t in r.traits] + [f"  ({MATCH_READING})"]
    fit = fit_lines(r)
    if fit:
        out += [""] + fit
    if r.personas:
        out += ["", f"Personas among the top customers ({r.persona_method}; traits shared by "
                    f"{DOMINANT_SHARE:.0%} or more):"] + persona_lines(r)
    return "\n".join(out) + "\n"


def to_markdown(r: RealityComparison) -> str:
    out = ["", f"## {TITLE}", "", f"**{concentration_line(r)}.**"]
    gap = gap_sentence(r)
    if gap:
        out += ["", f"Largest gap: {gap}"]
    if r.traits:
        out += ["", "| trait | staff say | top customers | match |", "| --- | --- | --- | ---: |"]
        for t in r.traits:
            staff = f"{t.staff_label} ({_pct(t.staff_share)})" if t.staff_label else "no consensus"
            top = f"{t.top_answer_label} ({_pct(t.top_share)})" if t.top_answer_label else "-"
            out.append(f"| {t.prompt} | {staff.replace('|', '/')} | {top.replace('|', '/')} | {_pct(t.match_index)} |")
        out += ["", f"_{MATCH_READING}._"]
    fit = fit_lines(r)
    if fit:
        out += [""] + [f"- {line}" for line in fit]
    if r.personas:
        out += ["", f"### Personas ({r.persona_method})", ""] + persona_lines(r)
    return "\n".join(out) + "\n"


def to_dict(r: RealityComparison) -> dict[str, Any]:
    """The JSON under ``reality``: every field of the comparison."""
    return r.model_dump(mode="json")


def with_reality_json(report_json: str, r: RealityComparison) -> str:
    """A report's JSON (``survey.report_format.to_json``) with the comparison under ``reality``."""
    data = json.loads(report_json)
    data["reality"] = to_dict(r)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": to_text, "markdown": to_markdown}
