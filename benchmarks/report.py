"""``icp-bot report --answers`` of 10,000 and 100,000 respondents against one numpy pass.

The spreadsheets are generated from the icp-core template with a seeded numpy Generator
(``generate_csv``: same seed, same file), with some agreement and some team splits in them.
The project's modules are byte-compiled first (``byte_compile_project``, as for the start-up
benchmark). Each run is a child process, timed on the wall clock, its peak RSS read from
``os.wait4``'s rusage (ru_maxrss of that child alone). ICP Align runs
``icp-bot report --answers FILE --format json`` (the default ``--bootstrap 1000``, which above
``survey.score.LARGE_ROUND`` respondents draws 200 resamples for normal intervals);
the floor runs ``python -m benchmarks._report_floor`` on the same file. Before the table is
printed, the floor's indices are checked against the product's, question by question, to 1e-9.

Compute only: ``survey.report.build_report`` on answers already read (``AnswerColumns``, as the
CLI reads them), in this process,
beside the floor's ``indices`` on columns already read.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, Table, byte_compile_project, icp_bot_command, median, parser

TEMPLATE = ROOT / "survey" / "templates" / "icp-core.yaml"
TOLERANCE = 1e-9
PHRASES = ["Mid-size software companies that want to grow revenue",
           "Fast-growing teams with a VP who owns the budget",
           "Regulated firms that value support", "Anyone who signs within a quarter",
           "Scale-ups in Europe", "Companies replacing spreadsheets"]


def generate_csv(path: Path, n: int, seed: int = 15) -> Path:
    """``n`` respondents answering every question of icp-core; teams lean differently."""
    from benchmarks._report_floor import load_questions

    rng = np.random.default_rng(seed)
    questions = load_questions(str(TEMPLATE))
    team_q = next(q for q in questions if q.get("role") == "team")
    teams = [str(o["id"]) for o in team_q["options"]]
    team = rng.integers(0, len(teams), n)
    columns: dict[str, list[str]] = {"respondent": [f"R{i:06d}" for i in range(n)],
                                     "team": [teams[t] for t in team]}
    for q in questions:
        if q is team_q:
            continue
        kind, options = q["kind"], [str(o["id"]) for o in q.get("options") or []]
        if kind == "single":
            base = rng.dirichlet(np.full(len(options), 0.6))
            lean = rng.dirichlet(np.full(len(options), 0.6), len(teams))
            probs = 0.7 * base + 0.3 * lean  # per team
            u = rng.random(n)
            picks = (u[:, None] > np.cumsum(probs[team], axis=1)).sum(axis=1)
            columns[q["id"]] = [options[min(p, len(options) - 1)] for p in picks]
        elif kind == "multi":
            weights = rng.dirichlet(np.full(len(options), 0.8))
            sizes = rng.integers(1, min(int(q.get("max_choices") or 3), len(options)) + 1, n)
            columns[q["id"]] = [";".join(sorted(rng.choice(options, k, replace=False, p=weights)))
                                for k in sizes]
        elif kind == "scale":
            points = int(q["points"])
            centre = rng.integers(2, points)
            x = np.clip(np.rint(rng.normal(centre, 0.9, n)), 1, points).astype(int)
            columns[q["id"]] = [str(v) for v in x]
        elif kind == "number":
            low, high = float(q.get("min", 0)), float(q.get("max", 1e6))
            centre = low + (high - low) * rng.uniform(0.05, 0.4)
            x = np.clip(np.rint(rng.lognormal(np.log(max(centre, 1)), 0.5, n)), low, high).astype(int)
            columns[q["id"]] = [str(v) for v in x]
        else:  # text
            columns[q["id"]] = [PHRASES[i] for i in rng.integers(0, len(PHRASES), n)]
    names = list(columns)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*(columns[c] for c in names), strict=True))
    return path


def measure(cmd: list[str], out: Path, timeout: float) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process; its stdout goes to ``out``."""
    with open(out, "wb") as stdout:
        began = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
        deadline = began + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{cmd} took more than {timeout} s")
            time.sleep(0.005)
        wall = time.monotonic() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def check_same(product: dict, floor: dict[str, float]) -> float:
    """The largest |difference| between the product's and the floor's indices; raises when
    they disagree beyond TOLERANCE or do not cover the same questions."""
    theirs = {q["id"]: q["agreement"] for q in product["questions"] if q["agreement"] is not None}
    if set(theirs) != set(floor):
        raise AssertionError(f"indices for different questions: {sorted(set(theirs) ^ set(floor))}")
    worst = max((abs(theirs[k] - floor[k]) for k in theirs), default=0.0)
    if worst > TOLERANCE:
        raise AssertionError(f"the floor's indices differ from the product's by {worst:g}")
    return worst


def compute_only(csv_path: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of build_report on responses already read, and of the floor's indices."""
    from benchmarks._report_floor import indices, load_questions, read_columns
    from survey.report import build_report
    from survey.spreadsheet import read_answer_columns
    from survey.template import resolve_template

    template = resolve_template("icp-core")
    responses = read_answer_columns(str(csv_path), template).columns  # what `icp-bot report` reads
    questions = load_questions(str(TEMPLATE))
    columns = read_columns(str(csv_path), questions)
    product, floor = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        build_report(template, responses)
        product.append(time.perf_counter() - t)
        t = time.perf_counter()
        indices(questions, columns)
        floor.append(time.perf_counter() - t)
    return median(product), median(floor)


def run(sizes: list[int], repeat: int, compute_size: int, timeout: float = 600) -> Table:
    byte_compile_project()  # both sides' modules, as an install leaves them
    table = Table(f"icp-bot report --answers, medians of {repeat}")
    with tempfile.TemporaryDirectory(prefix="icp-report-") as tmp:
        workdir = Path(tmp)
        for n in sizes:
            path = generate_csv(workdir / f"answers-{n}.csv", n)
            product_cmd = [*icp_bot_command(), "report", "--answers", str(path), "--format", "json"]
            floor_cmd = [sys.executable, "-m", "benchmarks._report_floor", str(TEMPLATE), str(path)]
            runs: dict[str, list[tuple[float, float]]] = {"icp": [], "floor": []}
            worst = 0.0
            for _ in range(repeat):
                runs["icp"].append(measure(product_cmd, workdir / "icp.json", timeout))
                runs["floor"].append(measure(floor_cmd, workdir / "floor.json", timeout))
                worst = max(worst, check_same(json.loads((workdir / "icp.json").read_text()),
                                              json.loads((workdir / "floor.json").read_text())))
            wall = [median([r[0] for r in runs[k]]) for k in ("icp", "floor")]
            rss = [median([r[1] for r in runs[k]]) for k in ("icp", "floor")]
            t = table.add(f"wall time, {n:,} respondents", wall[0], wall[1], "s", "<= 2x", None,
                          note=f"floor's indices equal the product's (largest difference {worst:.1e})")
            t.passed = t.ratio is not None and t.ratio <= 2
            m = table.add(f"peak RSS, {n:,} respondents", rss[0], rss[1], "MiB", "<= 2x", None)
            m.passed = m.ratio is not None and m.ratio <= 2
        if compute_size:
            path = workdir / f"answers-{compute_size}.csv"
            if not path.exists():
                generate_csv(path, compute_size)
            product, floor = compute_only(path, repeat)
            c = table.add(f"compute only, {compute_size:,} respondents", product, floor, "s", "< 0.3 s", None,
                          note="build_report (--bootstrap 1000: above 2,000 respondents 200 resamples, normal intervals) on answers already read (AnswerColumns, as the CLI); "
                               "floor: the indices on columns already read")
            c.passed = product is not None and product < 0.3
    table.notes.append("ICP Align: `icp-bot report --answers FILE --format json` as a child process; floor: "
                       "`python -m benchmarks._report_floor` (csv module, a Counter per column, numpy on the tallies), same file")
    return table


def main(argv: list[str] | None = None) -> Table:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000", help="respondent counts, comma-separated")
    p.add_argument("--compute-size", type=int, default=10000, help="respondents of the compute-only row (0: none)")
    args = p.parse_args(argv)
    sizes, repeat, compute = [int(x) for x in args.sizes.split(",")], args.repeat, args.compute_size
    if args.quick:
        sizes, repeat, compute = [60], 1, 60
    started = time.monotonic()
    table = run(sizes, repeat, compute)
    table.notes.append(f"benchmark wall time {time.monotonic() - started:.0f} s")
    print(table.render())
    return table


if __name__ == "__main__":
    main()
