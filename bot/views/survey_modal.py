"""The survey as modals: one template section per view, pre-filled with saved answers.

Each question is an input block whose ``block_id`` is ``q:<question id>`` and whose element's
``action_id`` is ``answer``, so that field errors (``response_action: errors``) and the
submitted ``state.values`` map straight back to question ids.

One line per question, so that a step reads on a 375 px phone without scrolling past walls
of radio buttons (Slack draws radio buttons and checkboxes one option per row, and a select
as one line that opens a list; ``VISIBLE_CHOICES`` decides):

- single: radio buttons up to ``VISIBLE_CHOICES`` options, else a static select;
- multi: checkboxes up to ``VISIBLE_CHOICES`` options, else a multi-static select
  (``max_selected_items``);
- scale: a static select "1 - low label" ... "N - high label" (as survey.answers reads a
  scale), the ends on the closed menu;
- number: a number input with the question's bounds (digits only: Slack takes no "25k");
- text: a plain-text input with the question's length limit.

A question that ``show_if`` hides, given the answers already saved, is not shown: its
condition sits in an earlier step (checked when the template loads), so the step is built
with or without it. Closing a step saves what was entered (``notify_on_close``; the close
button says so), and in an edit a "Jump to" menu moves to another step, saving this one first.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.views.forms import SurveyStepMetadata, read_state
from bot.views.text import plain, truncate
from survey.answers import is_shown
from survey.template import Question, QuestionKind, Section, Template

CALLBACK_ID = "survey_section"
ACTION_ID = "answer"
BLOCK_PREFIX = "q:"
CHOICE_LIMIT = 10  # Slack's limit for radio buttons and checkboxes
VISIBLE_CHOICES = 4  # more options than this: a select (one line) instead of one row each;
# always below CHOICE_LIMIT, so that no radio or checkbox list can pass Slack's limit
MOBILE_LINE = 40  # characters a closed menu shows on a 375 px phone before it cuts the text
JUMP = "survey_jump"
JUMP_BLOCK = "jump"
CLOSE_TEXT = "Save & close"
ANONYMOUS = ":lock: anonymous"


def block_id(question_id: str) -> str:
    return f"{BLOCK_PREFIX}{question_id}"


def question_id(block: str) -> str | None:
    return block[len(BLOCK_PREFIX):] if block.startswith(BLOCK_PREFIX) else None


def _options(question: Question) -> list[Option]:
    return [Option(value=o.id, text=plain(o.label, 75)) for o in question.options]


def _scale_options(question: Question) -> list[Option]:
    points = question.points or 0
    options = []
    for point in range(1, points + 1):
        label = str(point)
        if point == 1:
            label = f"1 - {question.low_label}"
        elif point == points:
            label = f"{points} - {question.high_label}"
        options.append(Option(value=str(point), text=plain(label, 75)))
    return options


def scale_placeholder(question: Question) -> str:
    """The scale's two ends on the closed menu when they fit a phone's line, else the range."""
    ends = f"1 {question.low_label} … {question.points} {question.high_label}"
    return ends if len(ends) <= MOBILE_LINE else f"Choose 1 to {question.points}"


def _pick(options: list[Option], values: list[str]) -> list[Option]:
    wanted = set(values)
    return [o for o in options if o.value in wanted]


def element_for(question: Question, value: Any = None):
    """The input element for a question, with ``value`` (a stored answer) pre-filled."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
        options = _options(question) if kind == QuestionKind.SINGLE else _scale_options(question)
        initial = _pick(options, [str(value)]) if value is not None else []
        if kind == QuestionKind.SINGLE and len(options) <= VISIBLE_CHOICES:
            return RadioButtonsElement(action_id=ACTION_ID, options=options,
                                       initial_option=initial[0] if initial else None)
        placeholder = scale_placeholder(question) if kind == QuestionKind.SCALE else "Choose one"
        return StaticSelectElement(action_id=ACTION_ID, options=options, placeholder=plain(placeholder),
                                   initial_option=initial[0] if initial else None)
    if kind == QuestionKind.MULTI:
        options = _options(question)
        initial = _pick(options, list(value or [])) or None
        if len(options) <= VISIBLE_CHOICES:
            return CheckboxesElement(action_id=ACTION_ID, options=options, initial_options=initial)
        placeholder = f"Choose up to {question.max_choices}" if question.max_choices else "Choose"
        return StaticMultiSelectElement(action_id=ACTION_ID, options=options, initial_options=initial,
                                        placeholder=plain(placeholder), max_selected_items=question.max_choices)
    if kind == QuestionKind.NUMBER:
        decimal = not question.integer
        return NumberInputElement(
            action_id=ACTION_ID,
            is_decimal_allowed=decimal,
            min_value=_num(question.min, decimal),
            max_value=_num(question.max, decimal),
            initial_value=_num(value, decimal) if value is not None else None,
            placeholder=plain(f"A number in {question.unit}" if question.unit else "A number"),
        )
    return PlainTextInputElement(action_id=ACTION_ID, multiline=(question.max_length or 0) > 150,
                                 max_length=question.max_length, initial_value=value or None)


def _num(value: float | None, decimal: bool) -> str | None:
    if value is None:
        return None
    value = float(value)
    return str(int(value)) if value.is_integer() or not decimal else str(value)


def question_block(question: Question, value: Any = None) -> InputBlock:
    hint = question.help
    if question.kind == QuestionKind.NUMBER and not hint:
        hint = f"Digits only, in {question.unit}." if question.unit else "Digits only."
    return InputBlock(
        block_id=block_id(question.id),
        label=plain(question.prompt, 2000),
        element=element_for(question, value),
        hint=plain(hint, 2000) if hint else None,
        optional=not question.required,
    )


def shown_questions(template: Template, section_index: int, answers: Mapping[str, Any]) -> list[Question]:
    """The questions of a step, without those that the saved answers hide (``show_if``)."""
    return [q for q in template.sections[section_index].questions if is_shown(q, answers)]


def minutes_left(template: Template, section_index: int, answers: Mapping[str, Any]) -> int:
    """The template's minutes, shared out over the questions shown from this step on."""
    shown = [q for i in range(len(template.sections)) for q in shown_questions(template, i, answers)]
    ahead = sum(len(shown_questions(template, i, answers)) for i in range(section_index, len(template.sections)))
    return max(1, round(template.minutes * ahead / max(1, len(shown))))


def jump_block(template: Template, section_index: int) -> ActionsBlock:
    """A menu of the other steps; choosing one saves this step first (survey_flow)."""
    options = [Option(value=str(i), text=plain(truncate(f"{i + 1} · {s.title}", 40), 75))
               for i, s in enumerate(template.sections) if i != section_index]
    return ActionsBlock(block_id=JUMP_BLOCK, elements=[
        StaticSelectElement(action_id=JUMP, options=options, placeholder=plain("Jump to another step")),
    ])


def section_view(
    template: Template,
    section_index: int,
    *,
    round_id: int,
    answers: Mapping[str, Any] | None = None,
    mode: str = "answer",
    closes_text: str | None = None,
) -> View:
    """The modal for one section; ``private_metadata`` carries round, section and mode.

    The top line says where the person is, how long is left and that it is anonymous; the
    close button saves what was entered (``notify_on_close``); in an edit a "Jump to" menu
    follows it ("Edit my answers" opens step 1, and any step is one choice away; a first
    pass goes step by step, and "Continue" opens the first step left to answer).
    """
    section: Section = template.sections[section_index]
    total = len(template.sections)
    answers = answers or {}
    last = section_index == total - 1
    blocks: list[Block] = []
    step = f"*Step {section_index + 1} of {total}* · about {minutes_left(template, section_index, answers)} min left"
    step += f" · {ANONYMOUS}"
    if closes_text and section_index == 0:
        step += f" · open until {closes_text}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(step, 3000))]))
    if mode == "edit" and total > 1:  # editing: straight to the step the person wants
        blocks.append(jump_block(template, section_index))
    if section.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(section.description, 3000))))
    blocks += [question_block(q, answers.get(q.id)) for q in shown_questions(template, section_index, answers)]
    metadata = SurveyStepMetadata(round=round_id, section=section_index, mode=mode)
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=plain(section.title, 24),
        submit=plain("Submit" if last else "Next", 24),
        close=plain(CLOSE_TEXT, 24),
        private_metadata=metadata.dump(),
        blocks=blocks,
        notify_on_close=True,
    )


# -- the same modal as a dict, built from parts made once per template ---------------------------
#
# A step's ack carries the next modal. Built as slack_sdk objects, every option of every scale
# is an object validated and turned into a dict again on each step (a sixth of a step's CPU).
# ``section_payload`` is ``section_view(...).to_dict()`` from dicts made once per template
# (each question's block without a value, the modal's frame), filling in only what changes:
# the person's saved values, the progress line and the metadata. tests/unit/test_views.py
# checks the two against each other for every step of the built-in templates.

_PARTS_LIMIT = 64
_parts: dict[int, tuple[Template, dict[Any, Any]]] = {}  # id(template) -> (template, parts)
_parts_guard = threading.Lock()


def _template_parts(template: Template) -> dict[Any, Any]:
    """The cache of one template's parts (templates are immutable; the entry keeps it alive,
    so its id cannot be reused while the entry exists)."""
    entry = _parts.get(id(template))
    if entry is not None and entry[0] is template:
        return entry[1]
    with _parts_guard:
        if len(_parts) >= _PARTS_LIMIT:
            _parts.clear()
        parts: dict[Any, Any] = {}
        _parts[id(template)] = (template, parts)
        return parts


def _blank_block(template: Template, question: Question) -> dict[str, Any]:
    parts = _template_parts(template)
    block = parts.get(question.id)
    if block is None:
        block = parts[question.id] = question_block(question).to_dict()
    return block


def _filled_block(template: Template, question: Question, value: Any) -> dict[str, Any]:
    """``question_block(question, value).to_dict()``; never mutates the cached block."""
    block = _blank_block(template, question)
    if value is None:
        return block
    element = dict(block["element"])
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
        chosen = next((o for o in element["options"] if o["value"] == str(value)), None)
        if chosen is not None:
            element["initial_option"] = chosen
    elif kind == QuestionKind.MULTI:
        wanted = set(value or [])
        chosen_many = [o for o in element["options"] if o["value"] in wanted]
        if chosen_many:
            element["initial_options"] = chosen_many
    elif kind == QuestionKind.NUMBER:
        element["initial_value"] = _num(value, not question.integer)
    elif value:
        element["initial_value"] = value
    return {**block, "element": element}


def _frame(template: Template, section_index: int, mode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The modal's fields that depend on the step alone, and the blocks between the progress
    line and the questions (the jump menu, the description)."""
    parts = _template_parts(template)
    key = ("frame", section_index, mode)
    frame = parts.get(key)
    if frame is None:
        view = section_view(template, section_index, round_id=1, answers=None, mode=mode).to_dict()
        section = template.sections[section_index]
        middle = view["blocks"][1:1 + (mode == "edit" and len(template.sections) > 1) + bool(section.description)]
        fixed = {k: v for k, v in view.items() if k not in ("blocks", "private_metadata")}
        frame = parts[key] = (fixed, middle)
    return frame


def section_payload(
    template: Template,
    section_index: int,
    *,
    round_id: int,
    answers: Mapping[str, Any] | None = None,
    mode: str = "answer",
    closes_text: str | None = None,
) -> dict[str, Any]:
    """``section_view(...).to_dict()``, built from cached parts (see above)."""
    answers = answers or {}
    fixed, middle = _frame(template, section_index, mode)
    total = len(template.sections)
    step = f"*Step {section_index + 1} of {total}* · about {minutes_left(template, section_index, answers)} min left"
    step += f" · {ANONYMOUS}"
    if closes_text and section_index == 0:
        step += f" · open until {closes_text}"
    blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(step, 3000)}]}, *middle]
    blocks += [_filled_block(template, q, answers.get(q.id)) for q in shown_questions(template, section_index, answers)]
    metadata = SurveyStepMetadata(round=round_id, section=section_index, mode=mode)
    return {**fixed, "private_metadata": metadata.dump(), "blocks": blocks}


def done_view(template: Template, closes_text: str | None) -> View:
    """Shown after the last section: answers are in, and how to change them."""
    text = ":white_check_mark: *Thank you, your answers are saved.*\n"
    if closes_text:
        text += f"You can change them until the round closes ({closes_text}) with *Edit my answers* in our DM."
    text += "\n:lock: Nobody sees who answered what."
    return View(type="modal", callback_id="survey_done", title=plain("Thank you", 24),
                close=plain("Close", 24), blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def question_values(state_values: Any) -> dict[str, Any]:
    """Submitted ``view.state.values`` -> {question id: raw value} for survey.answers.

    Blank inputs come back as None (or an empty list), which validation treats as unanswered.
    """
    return {qid: value for block, value in read_state(state_values, ACTION_ID).items()
            if (qid := question_id(block)) is not None}
