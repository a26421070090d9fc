"""Each benchmark in its quickest mode (tiny sizes, one run): the table has its rows, with
numbers in them. Speed is never asserted: these runs are too small to measure anything."""

from __future__ import annotations

import math
import os

import pytest

from benchmarks import fanout, replicas, report, soak, startup, survey_steps, workspaces
from benchmarks.common import Row, Table

pytestmark = pytest.mark.system  # runs each benchmark in its quick mode


def _numbers(table: Table, prefixes: list[str], *, floors: bool = True) -> list[Row]:
    """The rows starting with each prefix, in order, all with finite numbers."""
    whats = [r.what for r in table.rows]
    assert len(table.rows) == len(prefixes), whats
    for row, prefix in zip(table.rows, prefixes, strict=True):
        assert row.what.startswith(prefix), (row.what, prefix)
        assert row.value is not None and math.isfinite(row.value) and row.value >= 0, row
        if floors and not row.what.startswith(("answers lost", "invitations missing")):
            assert row.floor is not None and math.isfinite(row.floor) and row.floor >= 0, row
        assert row.passed in (True, False) or row.target == "reported", row
    return table.rows


def test_survey_steps_quick(capsys):
    table = survey_steps.main(["--quick"])
    rows = _numbers(table, ["steps acked/s, 3 concurrent", "p99 ack, 3 concurrent", "acks past 3 s",
                            "CPU per acked step", "answers lost"])
    assert rows[0].value > 0 and rows[0].floor > 0
    assert rows[-1].value == 0  # every step acked and stored
    assert "| steps acked/s, 3 concurrent |" in capsys.readouterr().out


def test_fanout_quick(capsys):
    table = fanout.main(["--quick"])
    rows = _numbers(table, ["first DM, 6 staff", "last DM, 6 staff", "invitations missing / doubled"])
    assert rows[0].value <= rows[1].value and rows[0].floor <= rows[1].floor
    assert rows[2].value == 0
    assert "| last DM, 6 staff |" in capsys.readouterr().out


def test_report_quick(capsys):
    table = report.main(["--quick"])
    rows = _numbers(table, ["wall time, 60 respondents", "peak RSS, 60 respondents", "compute only, 60"])
    assert rows[1].value > 1 and rows[1].floor > 1  # MiB of a Python process
    assert "floor's indices equal the product's" in rows[0].note
    assert "| wall time, 60 respondents |" in capsys.readouterr().out


def test_startup_quick(capsys):
    table = startup.main(["--quick"])
    rows = _numbers(table, ["start-up to first ack", "start-up to the help's answer", "idle RSS"])
    assert rows[1].value >= rows[0].value  # answered after (or as) it was acked
    assert rows[2].value > 1 and rows[2].floor > 1
    assert "| start-up to first ack |" in capsys.readouterr().out


def test_soak_quick(capsys):
    """20 s of the soak: requests made, none failed, every acked answer found in the database."""
    table = soak.main(["--quick"])
    rows = {r.what: r for r in table.rows}
    assert rows["requests"].value > 20
    assert rows["errors (non-200 or past 3 s)"].value == 0, rows["errors (non-200 or past 3 s)"].note
    lost = rows["answers lost"]
    assert lost.value == 0 and int(lost.note.split()[0]) > 0  # answers were acked, and all are stored
    assert rows["RSS at start"].value > 1 and rows["RSS at end"].value > 1
    assert "| answers lost | 0 |" in capsys.readouterr().out


def test_soak_slope_is_least_squares():
    assert soak.slope_per_hour([(0, 100.0), (1800, 101.0), (3600, 102.0)]) == pytest.approx(2.0)
    assert soak.slope_per_hour([(0, 1.0)]) is None


def _postgres_url() -> str:
    url = os.environ.get("ICP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the replicas and workspaces benchmarks need PostgreSQL: set ICP_TEST_DATABASE_URL")
    return url


def test_replicas_quick(capsys):
    table = replicas.main(["--quick", "--database-url", _postgres_url()])
    rows = _numbers(table, ["steps acked/s, 3 concurrent", "p99 ack, 3 concurrent", "CPU per acked step",
                            "answers lost"])
    assert rows[0].value > 0 and rows[0].floor > 0  # 2 replicas, 1 replica
    assert rows[-1].value == 0 and rows[-1].floor == 0  # every step acked and stored, both ways
    assert "| steps acked/s, 3 concurrent |" in capsys.readouterr().out


def test_workspaces_quick(capsys):
    table = workspaces.main(["--quick", "--database-url", _postgres_url()])
    rows = _numbers(table, ["first digest, 5 workspaces", "last digest, 5 workspaces", "digests missing / doubled",
                            "429s from the fake"], floors=False)
    assert rows[1].floor is not None and rows[0].value <= rows[1].value  # 1 worker too; first before last
    assert rows[2].value == 0 and rows[3].value == 0
    assert "| last digest, 5 workspaces |" in capsys.readouterr().out


@pytest.mark.parametrize("benchmark", [replicas, workspaces])
def test_postgres_only_benchmarks_say_so_without_a_postgres_url(benchmark, capsys, monkeypatch):
    monkeypatch.delenv("ICP_BENCH_DATABASE_URL", raising=False)
    assert benchmark.main(["--quick"]) is None
    assert "needs PostgreSQL" in capsys.readouterr().out


def test_soak_rss_by_minute_takes_the_first_sample_of_each_minute_and_the_end():
    samples = [(0, 1.0), (5, 2.0), (61, 3.0), (130, 4.0), (150, 5.0)]
    assert soak.rss_by_minute(samples) == [(0, 1.0), (1, 3.0), (2, 4.0), (2.5, 5.0)]
    assert soak.rss_by_minute(samples[:3]) == [(0, 1.0), (1, 3.0)]


def test_limits_floor_follows_the_fake_tiers():
    # 2,000 DMs: a 300-message burst, then 5 a second; 11 users.list pages fit Tier 2's burst
    assert fanout.limits_floor(2000, 2003, 3) == pytest.approx((0.0, 340.0))
    # 30 pages: the 10 past the burst of 20 come at 20 a minute
    first, last = fanout.limits_floor(100, 6000, 3)
    assert first == pytest.approx(30.0) and last == pytest.approx(30.0)


def test_report_floor_matches_the_product_on_a_generated_file(tmp_path):
    import json

    from benchmarks._report_floor import indices, load_questions, read_columns
    from survey.report import build_report
    from survey.spreadsheet import read_responses
    from survey.template import resolve_template

    path = report.generate_csv(tmp_path / "a.csv", 120, seed=3)
    assert path.read_bytes() == report.generate_csv(tmp_path / "b.csv", 120, seed=3).read_bytes()
    template = resolve_template("icp-core")
    product = build_report(template, read_responses(str(path), template).responses, bootstrap=0)
    questions = load_questions(str(report.TEMPLATE))
    floor = indices(questions, read_columns(str(path), questions))
    assert report.check_same(json.loads(product.model_dump_json()), floor) <= report.TOLERANCE
    with pytest.raises(AssertionError):
        report.check_same(json.loads(product.model_dump_json()), {**floor, "company_size": floor["company_size"] + 0.01})
