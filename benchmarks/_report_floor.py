"""The floor of ``benchmarks.report``: the per-question agreement indices of a spreadsheet
of answers in one pass (the template read with PyYAML, the CSV with the csv module, each
column tallied with a Counter, the indices computed with numpy on the tallies),
the same formulas as survey.agreement: free-marginal kappa, mean pairwise Jaccard over
distinct sets, r_WG, 1 - quartile coefficient of dispersion with the question's resolution c in the
denominator (type-7 quartiles).

``python -m benchmarks._report_floor TEMPLATE.yaml ANSWERS.csv`` prints the indices as JSON
({question id: index}); ``indices(template, columns)`` is the compute alone.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from typing import Any

import numpy as np
import yaml


def load_questions(template_path: str) -> list[dict[str, Any]]:
    with open(template_path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return [q for s in data["sections"] for q in s["questions"]]


def scored(q: dict[str, Any]) -> bool:
    return q.get("role", "trait") in ("trait", "disqualifier") and q["kind"] != "text"


def read_columns(csv_path: str, questions: list[dict[str, Any]]) -> dict[str, list[str]]:
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    where = {name: i for i, name in enumerate(header)}
    deciding = {ref for q in questions for ref in (q.get("show_if") or {})}
    return {q["id"]: [r[where[q["id"]]] for r in rows] for q in questions
            if (scored(q) or q["id"] in deciding) and q["id"] in where}


def _shown(q: dict[str, Any], columns: dict[str, list[str]]) -> list[str]:
    """The question's cells, blanked where ``show_if`` hides it (the deciding answer, split on
    ';', shares no option with the listed ones), as the product drops those answers."""
    cells = columns[q["id"]]
    for ref, allowed in (q.get("show_if") or {}).items():
        ok = {str(a) for a in allowed}
        cells = [c if not ok.isdisjoint(x.strip() for x in d.split(";")) else ""
                 for c, d in zip(cells, columns.get(ref, [""] * len(cells)), strict=True)]
    return cells


def _single(tally: Counter, options: list[str]) -> float:
    counts = np.array(list(tally.values()), dtype=float)
    n = counts.sum()
    k = len(options)
    p = ((counts * counts).sum() - n) / (n * (n - 1))
    return float(np.clip((p - 1 / k) / (1 - 1 / k), 0, 1))


def _multi(tally: Counter, options: list[str]) -> float:
    bit = {o: 1 << i for i, o in enumerate(options)}
    by_mask: Counter = Counter()
    for text, count in tally.items():
        by_mask[sum(bit[x.strip()] for x in set(text.split(";")))] += count
    masks = np.array(list(by_mask), dtype=np.int64)
    counts = np.array(list(by_mask.values()), dtype=float)
    bits = ((masks[:, None] >> np.arange(len(options))) & 1).astype(float)
    inter = bits @ bits.T
    size = bits.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    n = counts.sum()
    return float(np.clip((counts @ jac @ counts - n) / (n * (n - 1)), 0, 1))


def _scale(tally: Counter, points: int) -> float:
    x = np.array([int(v) for v in tally], dtype=float)
    c = np.array(list(tally.values()), dtype=float)
    n = c.sum()
    var = (n * (c * x * x).sum() - (c * x).sum() ** 2) / (n * (n - 1))
    return float(np.clip(1 - var / ((points * points - 1) / 12), 0, 1))


def _resolution(q: dict[str, Any]) -> float:
    """Question.number_resolution: ``resolution``, else min(1, (max - min) / 100), else 1."""
    if q.get("resolution") is not None:
        return float(q["resolution"])
    if q.get("min") is None or q.get("max") is None:
        return 1.0
    return min(1.0, (float(q["max"]) - float(q["min"])) / 100.0)


def _number(values: list[str], resolution: float) -> float:
    q1, q3 = np.quantile(np.array(values, dtype=float), [0.25, 0.75])
    denom = abs(q3) + abs(q1) + 2.0 * max(resolution, 0.0)
    qcd = (q3 - q1) / denom if denom > 0 else 0.0
    return float(np.clip(1 - qcd, 0, 1))


def indices(questions: list[dict[str, Any]], columns: dict[str, list[str]]) -> dict[str, float]:
    """{question id: index} for the scored questions with two answers or more."""
    out: dict[str, float] = {}
    for q in questions:
        if not scored(q) or q["id"] not in columns:
            continue
        kind, options = q["kind"], [str(o["id"]) for o in q.get("options") or []]
        if kind == "number":
            values = [v for v in _shown(q, columns) if v != ""]
            if len(values) >= 2:
                out[q["id"]] = _number(values, _resolution(q))
            continue
        tally = Counter(_shown(q, columns))
        tally.pop("", None)
        if sum(tally.values()) < 2:
            continue
        if kind == "single":
            out[q["id"]] = _single(tally, options)
        elif kind == "multi":
            out[q["id"]] = _multi(tally, options)
        elif kind == "scale":
            out[q["id"]] = _scale(tally, int(q["points"]))
    return out


def main() -> None:
    questions = load_questions(sys.argv[1])
    print(json.dumps(indices(questions, read_columns(sys.argv[2], questions))))


if __name__ == "__main__":
    main()
