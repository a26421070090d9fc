"""The weekly digest: every figure against a hand calculation, Slack's limits, the PNG.

Six hand-made respondents, Sales (s1-s3) and Support (p1-p3), on a five-trait template:

===========  =================================  ==========================================
trait        answers                            agreement by hand
===========  =================================  ==========================================
size         smb x6                             kappa: P = (36-6)/30 = 1 -> 1.0
region       eu x3 (Sales), us x3 (Support)     P = (9+9-6)/30 = 0.4 < 1/2 -> 0 (clamped)
industry     {sw} x4, {sw, health} x2           Jaccard: (6*1 + 8*0.5 + 1*1)/15 = 11/15
maturity     4, 4, 4, 4, 5, 3 (1-5)             r_WG = 1 - 0.4/2 = 0.8
deal         10k 20k 20k 30k 40k 100k           Q1 = 20k, Q3 = 37.5k, resolution c = 1:
                                                 1 - 17,500/(37,500 + 20,000 + 2c)
===========  =================================  ==========================================

Score (weights 1): 100 * (1 + 0 + 11/15 + 0.8 + deal) / 5.
"""

from __future__ import annotations

import ast
import json
import struct
import zlib
from datetime import date
from pathlib import Path

import pytest

from bot.charts import HEIGHT_PX, WIDTH_PX, digest_chart
from bot.views.digest_blocks import (
    CHART_LABEL_MAX,
    DigestImage,
    chart_labels,
    digest_blocks,
    digest_message,
    digest_text,
)
from survey.answers import Response
from survey.digest import (
    Digest,
    DigestRound,
    Participation,
    ScorePoint,
    TraitAgreement,
    build_digest,
    drift_from_profile,
)
from survey.profile import IcpProfile, ProfileTrait
from survey.report import AlignmentReport, build_report
from survey.template import QuestionKind, parse_template
from tests.fakeslack.blockkit import BlockKitValidator, default_schema_path

REPO = Path(__file__).resolve().parents[2]

TINY = """
id: tiny
name: Tiny
sections:
  - id: main
    title: Main
    questions:
      - id: team
        kind: single
        role: team
        prompt: Your team?
        options:
          - {id: sales, label: Sales}
          - {id: support, label: Support}
      - id: size
        kind: single
        prompt: Which company size fits our ideal customer best?
        options:
          - {id: smb, label: SMB}
          - {id: mid, label: Mid-market}
          - {id: ent, label: Enterprise}
      - id: region
        kind: single
        prompt: Region
        options:
          - {id: eu, label: EU}
          - {id: us, label: US}
      - id: industry
        kind: multi
        prompt: Industries
        options:
          - {id: sw, label: Software}
          - {id: health, label: Healthcare}
          - {id: retail, label: Retail}
      - id: maturity
        kind: scale
        prompt: Maturity
        points: 5
        low_label: Early
        high_label: Mature
      - id: deal
        kind: number
        prompt: Deal size
        unit: USD
        min: 0
        max: 1000000
"""
TEMPLATE = parse_template(TINY)

ROWS = [  # respondent, team, region, industry, maturity, deal
    ("s1", "sales", "eu", ["sw"], 4, 10_000),
    ("s2", "sales", "eu", ["sw"], 4, 20_000),
    ("s3", "sales", "eu", ["sw"], 4, 20_000),
    ("p1", "support", "us", ["sw"], 4, 30_000),
    ("p2", "support", "us", ["health", "sw"], 5, 40_000),
    ("p3", "support", "us", ["health", "sw"], 3, 100_000),
]
RESPONSES = [
    Response(respondent=r, answers={"team": t, "size": "smb", "region": g, "industry": i,
                                    "maturity": m, "deal": float(d)})
    for r, t, g, i, m, d in ROWS
]
DEAL = 1 - 17_500 / (57_500 + 2)
HAND = {"size": 1.0, "region": 0.0, "industry": 11 / 15, "maturity": 0.8, "deal": DEAL}
HAND_SCORE = 100 * sum(HAND.values()) / 5

PROFILE = IcpProfile(
    template_id="tiny",
    version=2,
    traits=[
        ProfileTrait(question_id="size", kind=QuestionKind.SINGLE, prompt="size", value="smb"),
        ProfileTrait(question_id="region", kind=QuestionKind.SINGLE, prompt="region", value="eu"),
        ProfileTrait(question_id="industry", kind=QuestionKind.MULTI, prompt="industry", value=["health"]),
        ProfileTrait(question_id="maturity", kind=QuestionKind.SCALE, prompt="maturity", value=3),
        # no range stored: score_fit widens the median by 25% each way, 37,500-62,500
        ProfileTrait(question_id="deal", kind=QuestionKind.NUMBER, prompt="deal", value=50_000),
    ],
)
# matched by hand: size 6 (all smb), region 3 (eu), industry 2 (share "health"),
# maturity 5 (4 and 3 are within one point of 3; 5 is not), deal 1 (only 40k in range)
HAND_MATCHED = {"size": 6, "region": 3, "industry": 2, "maturity": 5, "deal": 1}


def _old(score: float | None, hidden: bool = False) -> AlignmentReport:
    return AlignmentReport(template_id="tiny", template_name="Tiny", respondents=2 if hidden else 5,
                           min_group_size=3, hidden=hidden, score=score)


@pytest.fixture(scope="module")
def report() -> AlignmentReport:
    return build_report(TEMPLATE, RESPONSES, min_group_size=3, bootstrap=0)


@pytest.fixture(scope="module")
def rounds(report) -> list[DigestRound]:
    return [
        DigestRound(title="Q1", date=date(2026, 3, 2), report=_old(52.0)),
        DigestRound(title="Q2", date=date(2026, 6, 1), report=_old(None, hidden=True)),
        DigestRound(title="Q3", date=date(2026, 9, 7), report=report),
    ]


@pytest.fixture(scope="module")
def digest(rounds) -> Digest:
    return build_digest(rounds, Participation(invited=8, finished=6), responses=RESPONSES,
                        profile=PROFILE, template=TEMPLATE)


# -- the figures ----------------------------------------------------------------------------


def test_hand_made_agreements_are_what_the_report_computes(report):
    got = {q.id: q.agreement for q in report.questions if q.agreement is not None}
    assert got == pytest.approx(HAND)


def test_score_and_its_change_since_the_last_round_that_had_one(digest):
    assert digest.score == pytest.approx(HAND_SCORE)
    # Q2 was hidden (2 answers): the change is against Q1, and says so
    assert digest.previous_title == "Q1" and digest.previous_score == 52.0
    assert digest.score_change == pytest.approx(HAND_SCORE - 52.0)
    assert [(p.title, p.score) for p in digest.trend] == [("Q1", 52.0), ("Q2", None),
                                                          ("Q3", pytest.approx(HAND_SCORE))]


def test_no_change_without_an_earlier_score(report):
    only = build_digest([DigestRound(title="Q3", date=date(2026, 9, 7), report=report)],
                        Participation(invited=6, finished=6))
    assert only.score_change is None and only.previous_title is None
    assert only.drift is None  # no ratified ICP given


def test_response_rate_is_finished_over_invited(digest, report):
    assert digest.response_rate == pytest.approx(6 / 8)
    none_invited = build_digest([DigestRound(title="Q3", date=date(2026, 9, 7), report=report)],
                                Participation(invited=0, finished=0))
    assert none_invited.response_rate is None


def test_three_most_agreed_and_the_splits_below_the_threshold(digest):
    assert [t.question_id for t in digest.agreed] == ["size", "maturity", "industry"]
    assert [t.agreement for t in digest.agreed] == pytest.approx([1.0, 0.8, 11 / 15])
    # only two traits fall below 0.70: the list does not pad itself with agreed ones
    assert [t.question_id for t in digest.split] == ["region", "deal"]
    assert [t.agreement for t in digest.split] == pytest.approx([0.0, DEAL])
    assert digest.agreed[0].name == "Which company size fits our ideal customer best?"


def test_splits_are_spelled_out_by_team_from_the_report(digest, report):
    region = digest.split[0]
    assert region.teams == ["Sales: EU (100%) · Support: US (100%)"]
    deal = digest.split[1]
    assert deal.teams == [s.text for s in report.team_comparisons if s.question_id == "deal"]
    assert deal.teams and deal.teams[0].startswith("Sales: median 20,000 USD")


def test_no_team_figures_for_teams_below_the_anonymity_threshold():
    # teams of 3 under a threshold of 4: the questions show (6 answers), the teams do not
    report = build_report(TEMPLATE, RESPONSES, min_group_size=4, bootstrap=0)
    digest = build_digest([DigestRound(title="Q3", date=date(2026, 9, 7), report=report)],
                          Participation(invited=6, finished=6))
    assert [t.question_id for t in digest.split] == ["region", "deal"]
    assert all(t.teams == [] for t in digest.split)
    assert "Sales" not in json.dumps(digest_blocks(digest))


def test_drift_per_trait_and_overall(digest):
    drift = digest.drift
    assert drift is not None and drift.profile_version == 2
    assert {t.question_id: (t.matched, t.answered) for t in drift.traits} == {
        q: (m, 6) for q, m in HAND_MATCHED.items()}
    assert {t.question_id: t.share for t in drift.traits} == pytest.approx(
        {q: m / 6 for q, m in HAND_MATCHED.items()})
    assert (drift.matched, drift.answered) == (17, 30)
    assert drift.share == pytest.approx(17 / 30) and drift.drift == pytest.approx(13 / 30)
    deal = next(t for t in drift.traits if t.question_id == "deal")
    assert deal.expected == "50,000 USD (range 37,500-62,500)"


def test_drift_counts_an_answer_the_template_refuses_as_unanswered(report):
    odd = Response(respondent="x9", answers={"size": "gigantic", "region": "eu"})
    drift = drift_from_profile(report, [*RESPONSES, odd], PROFILE, TEMPLATE)
    counts = {t.question_id: (t.matched, t.answered) for t in drift.traits}
    assert counts["size"] == (6, 6)  # "gigantic" is no option: not counted
    assert counts["region"] == (4, 7)  # x9's valid "eu" counts


def test_drift_skips_hidden_traits_and_other_templates(report):
    hidden_deal = report.model_copy(update={"questions": [
        q.model_copy(update={"hidden": True}) if q.id == "deal" else q for q in report.questions]})
    drift = drift_from_profile(hidden_deal, RESPONSES, PROFILE, TEMPLATE)
    assert "deal" not in {t.question_id for t in drift.traits}
    assert (drift.matched, drift.answered) == (16, 24)
    other = PROFILE.model_copy(update={"template_id": "icp-core"})
    assert drift_from_profile(report, RESPONSES, other, TEMPLATE) is None


def test_a_short_name_is_used_where_the_question_has_one(report):
    class Short(type(report.questions[0])):
        short: str | None = None

    named = report.model_copy(update={"questions": [
        Short(**q.model_dump(), short="Size") if q.id == "size" else q for q in report.questions]})
    digest = build_digest([DigestRound(title="Q3", date=date(2026, 9, 7), report=named)],
                          Participation(invited=6, finished=6))
    assert digest.agreed[0].name == "Size"


def test_too_few_answers_is_one_short_line():
    hidden = build_report(TEMPLATE, RESPONSES[:2], min_group_size=3, bootstrap=0)
    digest = build_digest([DigestRound(title="Q4", date=date(2026, 12, 7), report=hidden)],
                          Participation(invited=9, finished=2), responses=RESPONSES[:2],
                          profile=PROFILE, template=TEMPLATE)
    assert digest.hidden and digest.score is None and digest.drift is None
    assert digest.agreed == [] and digest.split == [] and digest.traits == []
    blocks = digest_blocks(digest)
    assert len(blocks) == 1 and blocks[0]["type"] == "section"
    line = blocks[0]["text"]["text"]
    assert "\n" not in line and len(line) < 150
    assert "too few answers" in line and "2 answered" in line and "from 3" in line
    assert digest_text(digest) == line
    assert digest_chart(digest) is None


# -- the blocks -----------------------------------------------------------------------------


def _schema_validator(name: str):
    path = default_schema_path()
    if not path.is_file():
        pytest.skip(f"no Block Kit schema at {path}")
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    base = {k: schema[k] for k in ("$schema", "$id", "$defs") if k in schema}
    return Draft202012Validator({**base, "$ref": f"#/$defs/{name}"})


def _check(blocks: list[dict]) -> None:
    """Slack's limits: the fake's validator for the blocks it knows, the schema and the
    documented consistency rules for data_visualization, which it does not know yet."""
    assert len(blocks) <= 50
    charts = [b for b in blocks if b["type"] == "data_visualization"]
    others = [b for b in blocks if b["type"] != "data_visualization"]
    assert BlockKitValidator().validate_blocks(others) == []
    assert len(charts) <= 2
    if charts:
        schema = _schema_validator("data_visualization_block")
        for chart in charts:
            assert [e.message for e in schema.iter_errors(chart)] == []
            categories = chart["chart"]["axis_config"]["categories"]
            assert len(set(categories)) == len(categories)
            names = [s["name"] for s in chart["chart"]["series"]]
            assert len(set(names)) == len(names)
            for series in chart["chart"]["series"]:
                assert [p["label"] for p in series["data"]] == categories


def test_blocks_carry_the_figures_and_fit_slack(digest):
    blocks = digest_blocks(digest)
    _check(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0] == {"type": "header", "block_id": "digest_header",
                         "text": {"type": "plain_text", "text": "ICP alignment digest: Q3", "emoji": True}}
    assert f"*Alignment score:* {round(HAND_SCORE)}/100 (+{round(HAND_SCORE) - 52} since Q1, which scored 52)" in text
    assert "*Response rate:* 75% (6 of 8 finished)" in text
    assert "*Match with the ratified ICP v2:* 57% of answers (17 of 30; drift 43%)" in text
    assert "Sales: EU (100%) · Support: US (100%)" in text
    assert digest_text(digest) == (f"ICP alignment digest (Q3): score {round(HAND_SCORE)}/100 "
                                   f"(+{round(HAND_SCORE) - 52}), response rate 75%, "
                                   "57% of answers match the ICP.")
    bar, line = [b for b in blocks if b["type"] == "data_visualization"]
    assert bar["chart"]["type"] == "bar"
    # cut, not rounded: deal's 0.6957 reads 0.69, below the threshold it is below of
    assert [p["value"] for p in bar["chart"]["series"][0]["data"]] == [1.0, 0.0, 0.73, 0.8, 0.69]
    assert "*Deal size* 0.69: 25,000 USD (middle half 20,000-37,500) (50% within ±25%)" in text
    assert "*Maturity* 0.80: 4 of 5 (Mature side) (67% within half a point)" in text
    assert line["chart"]["type"] == "line"
    assert [p["label"] for p in line["chart"]["series"][0]["data"]] == ["2026-03-02", "2026-09-07"]
    assert [p["value"] for p in line["chart"]["series"][0]["data"]] == [52.0, round(HAND_SCORE, 1)]


def test_blocks_with_the_uploaded_png_instead_of_native_charts(digest):
    blocks = digest_blocks(digest, image=DigestImage(file_id="F0123", alt_text="Agreement bars"),
                           native_charts=False)
    _check(blocks)
    assert not any(b["type"] == "data_visualization" for b in blocks)
    image = next(b for b in blocks if b["type"] == "image")
    assert image["slack_file"] == {"id": "F0123"} and image["alt_text"] == "Agreement bars"
    by_url = digest_blocks(digest, image=DigestImage(url="https://files.slack.com/x.png", alt_text="a"))
    _check(by_url)
    with pytest.raises(ValueError):
        DigestImage(file_id="F1", url="https://files.slack.com/x.png", alt_text="a")


def test_long_names_many_traits_and_many_rounds_stay_within_limits():
    long = "A very long trait prompt that goes on " * 4  # 152 characters
    traits = [TraitAgreement(question_id=f"q{i}", name=long + "<@U1>", agreement=i / 30,
                             agreed=i / 30 >= 0.7, consensus_label="x" * 75, consensus_share=0.5)
              for i in range(30)]
    digest = Digest(title="T" * 200, date=date(2026, 1, 5), hidden=False, respondents=40,
                    min_group_size=3, invited=50, finished=40, response_rate=0.8, score=61.0,
                    traits=traits, agreed=traits[-3:], split=[],
                    trend=[ScorePoint(title=f"R{i}", date=date(2025, 1, 1 + i), score=50.0 + i)
                           for i in range(25)])
    blocks = digest_blocks(digest, image=DigestImage(file_id="F1", alt_text="y" * 5000))
    _check(blocks)
    bar = next(b for b in blocks if b.get("block_id") == "digest_agreement")
    assert bar["title"] == "Agreement per trait (first 20 of 30)"
    assert "<@U1>" not in json.dumps(blocks)  # escaped
    assert len(digest_text(digest)) < 200


def test_the_change_shown_adds_up_with_the_scores_shown():
    digest = Digest(title="Q3", date=date(2026, 9, 7), hidden=False, respondents=6, min_group_size=3,
                    invited=6, finished=6, score=64.4, previous_score=51.6, previous_title="Q1",
                    score_change=64.4 - 51.6)
    assert "64/100 (+12 since Q1, which scored 52)" in json.dumps(digest_blocks(digest))
    assert digest_message(digest)["text"] == (
        "ICP alignment digest (Q3): score 64/100 (+12).")


def test_too_few_answers_per_trait_says_so():
    digest = Digest(title="Q3", date=date(2026, 9, 7), hidden=True, respondents=5, min_group_size=3,
                    invited=6, finished=5)
    assert digest_text(digest).endswith("too few answers to show results this week "
                                        "(no trait has 3 answers yet).")


def test_chart_labels_are_cut_and_unique():
    labels = chart_labels(["Company size of the customer", "Company size of the buyer", "Region"])
    assert all(len(label) <= CHART_LABEL_MAX for label in labels)
    assert len(set(labels)) == 3 and labels[2] == "Region"


# -- the PNG --------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _png_text_chunks(png: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        if kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME"):
            out.append(kind + b":" + png[pos + 8:pos + 8 + length])
        assert zlib.crc32(png[pos + 4:pos + 8 + length]) == struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        pos += 12 + length
    return out


@pytest.fixture(scope="module")
def chart(digest):
    return digest_chart(digest)


def test_png_is_a_png_of_the_stated_size_and_deterministic(digest, chart):
    assert chart is not None
    assert _png_size(chart.png) == (chart.width, chart.height) == (WIDTH_PX, HEIGHT_PX)
    assert digest_chart(digest).png == chart.png
    assert not any(b"Software" in c or c.startswith(b"tIME") for c in _png_text_chunks(chart.png))
    assert "Bar chart of agreement per trait, 0.70 marks agreement" in chart.alt_text
    assert "Region 0.00" in chart.alt_text and "2026-03-02 52; 2026-09-07 65" in chart.alt_text
    assert len(chart.alt_text) <= 2000


def test_matplotlib_is_imported_only_inside_the_drawing_function():
    """No module-level matplotlib import in the digest's modules, so start-up never pays."""
    for path in ("bot/charts.py", "bot/views/digest_blocks.py", "survey/digest.py"):
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert names and not any(m.split(".")[0] == "matplotlib" for m in names), path
    inner = [n for n in ast.walk(ast.parse((REPO / "bot/charts.py").read_text(encoding="utf-8")))
             if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("matplotlib")]
    assert inner  # it is imported, lazily, where the chart is drawn
