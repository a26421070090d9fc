"""The collector pause leaves the collector as it found it, on return and on error."""

from __future__ import annotations

import gc

import pytest

from survey.gc_pause import collector_paused, with_collector_paused


def test_paused_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner one must not switch it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        @with_collector_paused
        def work(x):
            return x * 2, gc.isenabled()

        assert work(21) == (42, False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_report_and_the_reader_run_with_the_collector_paused(monkeypatch):
    from survey import report, spreadsheet
    from survey.template import load_builtin

    seen = []
    real = spreadsheet._read

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(spreadsheet, "_read", spy)
    core = load_builtin("icp-core")
    columns = spreadsheet.parse_answer_columns("respondent,team,confidence\nA,sales,4\nB,sales,5\n", core).columns
    assert seen == [False] and gc.isenabled()
    assert report.build_report.__wrapped__ and report.build_report(core, columns, bootstrap=0).respondents == 2
    assert gc.isenabled()
