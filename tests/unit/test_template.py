"""Survey templates: the built-in ones, Slack's limits, and errors that say where and what."""

from __future__ import annotations

import textwrap

import pytest

from bot.cli import main
from survey.template import (
    BUILTIN_TEMPLATES,
    QuestionKind,
    Template,
    TemplateError,
    load_builtin,
    load_template,
    parse_template,
)

# Slack's Block Kit limits (see the Block Kit reference)
MODAL_TITLE_MAX = 24
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
RADIO_CHECKBOX_MAX = 10

TRAIT_GROUPS = {"value", "geography", "psychographics", "value_proposition", "economics",
                "disqualifiers", "open"}


@pytest.fixture(params=BUILTIN_TEMPLATES)
def builtin(request) -> Template:
    return load_builtin(request.param)


def test_both_builtin_templates_load():
    assert set(BUILTIN_TEMPLATES) == {"icp-core", "icp-b2c"}
    core, b2c = load_builtin("icp-core"), load_builtin("icp-b2c")
    assert (core.id, b2c.id) == ("icp-core", "icp-b2c")
    # about 20 questions, 5-10 minutes for a respondent
    for template in (core, b2c):
        assert 15 <= len(template.questions) <= 30
        assert 5 <= template.minutes <= 10


def test_builtin_covers_every_trait_group_of_the_design(builtin):
    groups = {q.trait for q in builtin.questions if q.role in ("trait", "disqualifier")}
    assert TRAIT_GROUPS <= groups
    assert groups & {"firmographics", "demographics"}
    roles = [q.role for q in builtin.questions]
    assert roles.count("team") == 1
    assert roles.count("confidence") == 1
    assert builtin.team_question is not None and builtin.team_question.kind == QuestionKind.SINGLE
    disqualifier = [q for q in builtin.questions if q.role == "disqualifier"]
    assert len(disqualifier) == 1 and disqualifier[0].kind == QuestionKind.MULTI
    # the open question is text, never scored; every closed trait question is
    open_q = [q for q in builtin.questions if q.trait == "open"]
    assert open_q and all(q.kind == QuestionKind.TEXT and not q.scored for q in open_q)
    # every question kind of the design is used
    assert {q.kind for q in builtin.questions} == set(QuestionKind)


def test_core_is_firmographic_and_b2c_is_demographic():
    core, b2c = load_builtin("icp-core"), load_builtin("icp-b2c")
    assert {q.id for q in core.questions if q.trait == "firmographics"} >= {
        "company_size", "industry", "decision_maker"}
    demographics = {q.id for q in b2c.questions if q.trait == "demographics"}
    assert demographics >= {"age_band", "income_band", "life_stage", "family_status"}
    for qid in ("age_band", "income_band", "life_stage", "family_status"):
        assert b2c.question(qid).kind == QuestionKind.SINGLE
        assert b2c.question(qid).scored


def test_builtin_psychographics_cover_the_design(builtin):
    psych = {q.id for q in builtin.questions if q.trait == "psychographics"}
    assert {"buying_motivation", "innovation_attitude", "risk_appetite", "collaboration",
            "price_sensitivity", "incumbent_loyalty"} <= psych


def test_builtin_fits_slack_modal_limits(builtin):
    for section in builtin.sections:
        assert 1 <= len(section.title) <= MODAL_TITLE_MAX, section.title
        # a view holds 100 blocks; a section's questions are far below that
        assert len(section.questions) <= 20
    for q in builtin.questions:
        for option in q.options:
            assert 1 <= len(option.label) <= OPTION_TEXT_MAX, (q.id, option.label)
            assert len(option.id) <= OPTION_VALUE_MAX


def test_builtin_choice_questions_stay_radio_buttons_and_checkboxes(builtin):
    """Radio buttons and checkboxes take at most 10 options: one click, no dropdown search."""
    for q in builtin.questions:
        if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            assert 2 <= len(q.options) <= RADIO_CHECKBOX_MAX, q.id
            assert len({o.id for o in q.options}) == len(q.options)
            assert len({o.label.casefold() for o in q.options}) == len(q.options), q.id
        if q.kind == QuestionKind.MULTI:
            # a limit that leaves a real choice, and one the options can reach
            assert q.max_choices is not None and 2 <= q.max_choices < len(q.options), q.id
        if q.kind == QuestionKind.SCALE:
            assert q.points is not None and q.points <= RADIO_CHECKBOX_MAX
            # the end points are shown as "N - label" options
            assert len(f"{q.points} - {q.high_label}") <= OPTION_TEXT_MAX
            assert len(f"1 - {q.low_label}") <= OPTION_TEXT_MAX
        if q.kind == QuestionKind.NUMBER:
            assert q.min is not None and q.max is not None and q.min < q.max
            assert q.unit


# -- broken templates ----------------------------------------------------------------------

HEAD = """\
id: broken
name: Broken
sections:
  - id: first
    title: First
    questions:
"""


def _write(tmp_path, body: str, name: str = "broken.yaml"):
    path = tmp_path / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(body), "      "), encoding="utf-8")
    return path


def _error(tmp_path, body: str) -> TemplateError:
    path = _write(tmp_path, body)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    err = info.value
    assert err.source == str(path)
    assert str(err).startswith(f"{path}: ")
    return err


def test_duplicate_question_id(tmp_path):
    path = tmp_path / "dupe.yaml"
    path.write_text(
        HEAD
        + "      - {id: size, kind: text, prompt: A}\n"
        + "  - id: second\n"
        + "    title: Second\n"
        + "    questions:\n"
        + "      - {id: size, kind: text, prompt: B}\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as info:
        load_template(path)
    message = str(info.value)
    assert str(path) in message
    assert "'size'" in message and "used twice" in message


def test_scale_without_points(tmp_path):
    err = _error(tmp_path, """\
        - {id: mood, kind: scale, prompt: Mood, low_label: Low, high_label: High}
    """)
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert "section 'first'" in problem and "question 'mood'" in problem
    assert "needs points" in problem


def test_single_question_with_one_option(tmp_path):
    err = _error(tmp_path, """\
        - id: size
          kind: single
          prompt: Size
          options:
            - {id: only, label: The only one}
    """)
    problem = err.problems[0]
    assert "section 'first'" in problem and "question 'size'" in problem
    assert "at least 2 options" in problem


def test_number_with_min_not_below_max(tmp_path):
    err = _error(tmp_path, """\
        - {id: deal, kind: number, prompt: Deal, min: 500, max: 100}
    """)
    problem = err.problems[0]
    assert "question 'deal'" in problem
    assert "min (500.0) must be below max (100.0)" in problem
    err = _error(tmp_path, """\
        - {id: deal, kind: number, prompt: Deal, min: 5, max: 5}
    """)
    assert "must be below max" in err.problems[0]


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    # line 7 opens a flow mapping that is never closed; the parser fails on line 8
    path.write_text(HEAD + "      - {id: a, kind: text, prompt: A\n      - x: [\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 8" in message and "not valid YAML" in message


def test_unknown_field(tmp_path):
    err = _error(tmp_path, """\
        - {id: mood, kind: text, prompt: Mood, colour: red}
    """)
    problem = err.problems[0]
    assert "question 'mood'" in problem and "colour" in problem
    assert "not permitted" in problem


def test_every_fault_is_listed_at_once(tmp_path):
    err = _error(tmp_path, """\
        - {id: mood, kind: scale, prompt: Mood, low_label: Low, high_label: High}
        - {id: deal, kind: number, prompt: Deal, min: 9, max: 1}
    """)
    assert len(err.problems) == 2
    assert any("'mood'" in p for p in err.problems)
    assert any("'deal'" in p for p in err.problems)


def test_a_list_item_without_id_is_named_by_position(tmp_path):
    err = _error(tmp_path, """\
        - {id: fine, kind: text, prompt: Fine}
        - {kind: text, prompt: No id}
    """)
    assert any("question #2" in p and "id" in p for p in err.problems)


def test_a_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="must be a YAML mapping"):
        load_template(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(TemplateError, match="cannot read the file") as info:
        load_template(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_unknown_builtin_lists_the_choices():
    with pytest.raises(TemplateError, match="icp-core, icp-b2c"):
        load_builtin("icp-nope")


def test_section_title_longer_than_a_modal_title():
    text = HEAD.replace("title: First", "title: " + "x" * 25) + "      - {id: a, kind: text, prompt: A}\n"
    with pytest.raises(TemplateError) as info:
        parse_template(text, "long.yaml")
    assert "section 'first', title" in str(info.value)
    assert "24" in str(info.value)


def test_role_kind_mismatch():
    text = HEAD + "      - {id: team, kind: text, role: team, prompt: Team}\n"
    with pytest.raises(TemplateError, match="a team question must be of kind single"):
        parse_template(text, "t.yaml")


# -- icp-bot template validate -----------------------------------------------------------


def test_cli_validate_a_valid_template(tmp_path, capsys):
    path = _write(tmp_path, """\
        - {id: note, kind: text, prompt: A note}
        - {id: mood, kind: scale, prompt: Mood, points: 5, low_label: Low, high_label: High}
    """, name="ok.yaml")
    assert main(["template", "validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "template 'broken' v1 is valid: 1 sections, 2 questions" in out
    assert err == ""


def test_cli_validate_an_invalid_template(tmp_path, capsys):
    path = _write(tmp_path, """\
        - {id: mood, kind: scale, prompt: Mood, low_label: Low, high_label: High}
    """)
    assert main(["template", "validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"invalid template {path}" in err
    assert "question 'mood'" in err and "needs points" in err


def test_cli_validate_a_missing_file(tmp_path, capsys):
    assert main(["template", "validate", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


@pytest.mark.parametrize("name", BUILTIN_TEMPLATES)
def test_cli_validates_the_shipped_files(name, capsys):
    from importlib import resources

    path = resources.files("survey.templates").joinpath(f"{name}.yaml")
    assert main(["template", "validate", str(path)]) == 0
    assert f"template '{name}'" in capsys.readouterr().out


def _multi(max_choices: int) -> str:
    return textwrap.dedent(f"""
        id: t
        name: T
        sections:
          - id: s
            title: S
            questions:
              - id: pick
                kind: multi
                prompt: Pick
                max_choices: {max_choices}
                options:
                  - {{id: a, label: A}}
                  - {{id: b, label: B}}
        """)


def test_max_choices_above_the_number_of_options_is_refused():
    parse_template(_multi(2))
    with pytest.raises(TemplateError, match=r"max_choices \(3\) is more than the 2 options offered"):
        parse_template(_multi(3))


def test_validate_a_built_in_template_by_name(capsys):
    assert main(["template", "validate", "icp-core"]) == 0
    version = load_builtin("icp-core").version
    assert f"template 'icp-core' v{version} is valid" in capsys.readouterr().out


def test_every_built_in_question_has_a_short_name(builtin):
    for q in builtin.questions:
        assert q.short and len(q.short) <= 30, q.id
    assert builtin.question("value_drivers").name == "What makes them valuable"


def test_report_options_of_a_template():
    base = "id: t\nname: T\nsections:\n  - id: s\n    title: S\n    questions:\n" \
           "      - {id: a, kind: single, prompt: 'A?', options: [{id: x, label: X}, {id: y, label: Y}]}\n"
    t = parse_template(base)
    assert (t.consensus_rule, t.quotes_in_channel) == ("index", False)
    t = parse_template(base + "consensus_rule: share\nquotes_in_channel: true\n")
    assert (t.consensus_rule, t.quotes_in_channel) == ("share", True)
    with pytest.raises(TemplateError, match="consensus_rule"):
        parse_template(base + "consensus_rule: vibes\n")
    assert t.question("a").name == "A"  # no short name: the prompt without its question mark
