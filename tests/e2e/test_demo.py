"""``icp-bot demo`` end to end with a small team: what it wrote against what its Slack recorded
and what the database holds; the page in a headless browser where one is installed.

One demo run (about 5 s) is shared by the module's tests.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.demo import Demo, DemoResult
from bot.demo.render import mrkdwn, payload_name
from bot.services.reporting import round_report
from storage import rounds
from storage.db import Database
from storage.models import Answer

pytestmark = pytest.mark.system  # runs the whole demo


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> tuple[Demo, DemoResult]:
    demo = Demo(tmp_path_factory.mktemp("demo") / "icp-demo", seed=3, team_size=6, rounds=1)
    return demo, demo.run()


def _page(result: DemoResult) -> str:
    return (result.out / "index.html").read_text(encoding="utf-8")


def test_the_page_holds_the_report_the_digest_and_a_survey_step(ran):
    demo, result = ran
    assert result.errors == []  # the bot logged no error on the way
    page = _page(result)
    assert "Alignment score" in page  # the report
    assert "ICP alignment digest" in page and "#leadership" in page  # the digest, where it was posted
    assert "What makes an ideal customer valuable to us? (up to 3)" in page  # a survey step's question
    assert 'class="select' in page and 'class="optlist' in page  # its inputs, with their options
    assert "Score a prospect" in page or "Acme Analytics" in page  # the fit result
    assert "<script" not in page.lower()
    methods = {s.method for s in result.shown}
    assert {"views.open", "view_ack_update", "chat.postMessage", "chat.update", "views.publish",
            "response_url"} <= methods


def test_the_figures_are_the_stored_rounds(ran):
    demo, result = ran
    db = Database(f"sqlite:///{result.out / 'icp-demo.db'}")
    with db.session(read_only=True) as session:
        (rnd,) = rounds.list_rounds(session, demo.slack.team_id)
        counts = rounds.participation(session, rnd.id)
    assert rnd.status == "closed" and rnd.id == result.round_ids[0]
    report = round_report(db, demo.slack.team_id, rnd.id, bootstrap=0).report
    assert report.score is not None
    page = _page(result)
    assert f"Alignment score: {report.score:.0f}/100" in html.unescape(page)
    # 5 answered at once, the sixth after the reminder
    assert (counts.invited, counts.completed) == (6, 6)
    assert "6 of 6 finished" in html.unescape(page)
    digest_text = result.digest["text"]
    assert f"{report.score:.0f}/100" in digest_text
    # people's sentences reach the page escaped, never as markup
    with db.session(read_only=True) as session:
        sentences = session.execute(select(Answer.value).where(
            Answer.round_id == rnd.id, Answer.question_id == "ideal_customer")).scalars().all()
    assert sentences
    for sentence in sentences:
        assert html.escape(sentence, quote=False) in page or html.escape(sentence) in page
    assert "<em>" not in page


def test_the_chart_is_a_png(ran):
    _, result = ran
    assert result.chart_png == result.out / "digest-chart.png"
    data = result.chart_png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert 'src="digest-chart.png"' in _page(result)


def test_the_payload_files_are_what_its_slack_recorded(ran):
    demo, result = ran
    files = sorted((result.out / "payloads").glob("*.json"))
    assert [f.name for f in files] == [payload_name(s) for s in result.shown]
    for shown, file in zip(result.shown, files, strict=True):
        assert json.loads(file.read_text(encoding="utf-8")) == json.loads(json.dumps(shown.payload, default=str))
    # and each Web API call that showed something is one recorded payload, in the same order
    api_calls = [params for method, params in demo.slack.calls if method in
                 ("chat.postMessage", "chat.update", "views.open", "views.publish")]
    recorded = [s.payload for s in result.shown if s.method in
                ("chat.postMessage", "chat.update", "views.open", "views.publish")]
    assert api_calls == recorded and len(recorded) > 20
    # every survey step the bot acked was recorded with its question blocks
    steps = [s.payload for s in result.shown if s.method == "view_ack_update"
             and s.payload.get("callback_id") == "survey_section"]
    assert steps and all(any(str(b.get("block_id", "")).startswith("q:") for b in v["blocks"]) for v in steps)


def test_mrkdwn_is_escaped_and_formatted():
    out = mrkdwn("&lt;script&gt;alert(1)&lt;/script&gt; *bold* _it_ `x&amp;y` "
                 "<https://example.com/?a=1&amp;b=2|a link> <javascript:alert(1)|bad> "
                 "<!date^1700000000^{date_short}|Nov 14> <@U1>\n• one", {"U1": "Ana"})
    assert "<script" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<b>bold</b>" in out and "<i>it</i>" in out and "<code>x&amp;y</code>" in out
    assert '<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer">a link</a>' in out
    assert "javascript" not in out and "bad" in out
    assert "Nov 14" in out and "date^" not in out and "@Ana" in out and "<br>• one" in out


def test_version_and_demo_arguments(capsys, tmp_path):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("icp-bot 0.")
    unused = tmp_path / "unused"
    assert main(["demo", "--team-size", "2", "--out", str(unused)]) == 2  # refused before anything runs
    assert "at least 3" in capsys.readouterr().out
    assert not unused.exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: chromium is not on the PATH "
                    "(Debian: apt-get install chromium)")
def test_the_page_renders_in_headless_chromium(ran, tmp_path):
    _, result = ran
    shot = tmp_path / "page.png"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=900,2400",
         (result.out / "index.html").resolve().as_uri()],
        capture_output=True, timeout=60, check=False)
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a drawn page, not a blank one
