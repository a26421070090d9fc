"""Conditional questions (``show_if``): checked when a template loads, skipped by validation
and completion when an earlier answer hides them."""

from __future__ import annotations

import textwrap

import pytest

from survey.answers import (
    AnswersInvalid,
    hidden_questions,
    is_shown,
    missing_required,
    validate_answers,
)
from survey.template import BUILTIN_TEMPLATES, TemplateError, load_builtin, parse_template

CORE = load_builtin("icp-core")
FULL = {
    "value_drivers": ["spend"], "top20_revenue_share": 60, "company_size": "51-200", "industry": ["software"],
    "decision_maker": "vp", "geographic_reach": "national", "regions": ["europe"],
    "buying_motivation": "grow_revenue", "innovation_attitude": 4, "risk_appetite": 3, "collaboration": 4,
    "price_sensitivity": 2, "incumbent_loyalty": 2, "why_us": "innovation", "deal_size": 25000,
    "acquisition_cost": 5000, "disqualifiers": ["deep_discounts"], "team": "sales", "confidence": 4,
}

BASE = """
id: cond
name: Conditional
sections:
- id: one
  title: One
  questions:
  - id: reach
    kind: single
    prompt: Where?
    options: [{id: local, label: Local}, {id: global, label: Global}]
  - id: size
    kind: number
    prompt: How big?
    min: 0
    max: 10
- id: two
  title: Two
  questions:
  - id: regions
    kind: multi
    prompt: Which regions?
    options: [{id: eu, label: Europe}, {id: us, label: Americas}]
    show_if: SHOW_IF
"""


def _template(show_if: str):
    return parse_template(textwrap.dedent(BASE).replace("SHOW_IF", show_if), "cond.yaml")


@pytest.mark.parametrize("template_id", BUILTIN_TEMPLATES)
def test_builtin_templates_validate_with_their_conditions(template_id):
    template = load_builtin(template_id)
    regions = template.question("regions")
    assert regions.show_if == {"geographic_reach": ["national", "named_regions", "global"]}
    sections = {q.id: i for i, s in enumerate(template.sections) for q in s.questions}
    assert sections["geographic_reach"] < sections["regions"]  # decided in an earlier step


def test_a_condition_on_an_earlier_step_loads():
    template = _template("{reach: [global]}")
    regions = template.question("regions")
    assert is_shown(regions, {"reach": "global"}) and not is_shown(regions, {"reach": "local"})
    assert not is_shown(regions, {})  # undecided: not asked


@pytest.mark.parametrize(("show_if", "fault"), [
    ("{nowhere: [global]}", "refers to 'nowhere', which is not a question"),
    ("{size: [global]}", "a number question; only single and multi questions can decide"),
    ("{reach: [moon]}", "names options 'reach' does not have: moon"),
    ("{reach: []}", "lists no options of 'reach'"),
])
def test_a_wrong_condition_is_refused_naming_the_question(show_if, fault):
    with pytest.raises(TemplateError) as info:
        _template(show_if)
    assert "question 'regions': show_if" in str(info.value) and fault in str(info.value)
    assert str(info.value).startswith("cond.yaml: ")


def test_a_condition_in_the_same_step_is_refused_with_what_to_do():
    text = textwrap.dedent(BASE).replace("SHOW_IF", "{reach: [global]}")
    same_step = text.replace("- id: two\n  title: Two\n  questions:\n", "")
    with pytest.raises(TemplateError) as info:
        parse_template(same_step, "cond.yaml")
    assert "same or a later section; move 'regions' to a section after the one of 'reach'" in str(info.value)


def test_hidden_questions_are_neither_required_nor_kept():
    local = {**FULL, "geographic_reach": "local"}
    assert hidden_questions(CORE, local) == ["regions"]
    assert missing_required(CORE, {k: v for k, v in local.items() if k != "regions"}) == []
    assert missing_required(CORE, {k: v for k, v in FULL.items() if k != "regions"}) == ["regions"]
    # a whole response (a spreadsheet row): the regions answer of a "local" row is dropped
    values = validate_answers(CORE, local)
    assert "regions" not in values and values["geographic_reach"] == "local"
    # a step validated with the answers of earlier steps: regions not required after "local"
    step = CORE.section("psychographics").questions
    raw = {q.id: FULL[q.id] for q in step if q.id != "regions"}
    assert "regions" not in validate_answers(CORE, raw, questions=step, known={"geographic_reach": "local"})
    with pytest.raises(AnswersInvalid) as info:
        validate_answers(CORE, raw, questions=step, known={"geographic_reach": "global"})
    assert info.value.errors == {"regions": "this question needs an answer"}
