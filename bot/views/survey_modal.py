"""The survey as modals: one template section per view, pre-filled with saved answers.

Each question is an input block whose ``block_id`` is ``q:<question id>`` and whose element's
``action_id`` is ``answer``, so that field errors (``response_action: errors``) and the
submitted ``state.values`` map straight back to question ids.

Element per kind, inside Slack's limits (radio buttons and checkboxes take 10 options,
selects 100):

- single: radio buttons, or a static select past 10 options;
- multi: checkboxes, or a multi-static select past 10 options (``max_selected_items``);
- scale: radio buttons "1 - low label" ... "N - high label" (a select past 10 points);
- number: a number input with the question's bounds;
- text: a multi-line plain-text input with the question's length limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
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
from survey.template import Question, QuestionKind, Section, Template

CALLBACK_ID = "survey_section"
ACTION_ID = "answer"
BLOCK_PREFIX = "q:"
CHOICE_LIMIT = 10


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


def _pick(options: list[Option], values: list[str]) -> list[Option]:
    wanted = set(values)
    return [o for o in options if o.value in wanted]


def element_for(question: Question, value: Any = None):
    """The input element for a question, with ``value`` (a stored answer) pre-filled."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
        options = _options(question) if kind == QuestionKind.SINGLE else _scale_options(question)
        initial = _pick(options, [str(value)]) if value is not None else []
        if len(options) <= CHOICE_LIMIT:
            return RadioButtonsElement(action_id=ACTION_ID, options=options,
                                       initial_option=initial[0] if initial else None)
        return StaticSelectElement(action_id=ACTION_ID, options=options, placeholder=plain("Choose one"),
                                   initial_option=initial[0] if initial else None)
    if kind == QuestionKind.MULTI:
        options = _options(question)
        initial = _pick(options, list(value or [])) or None
        if len(options) <= CHOICE_LIMIT:
            return CheckboxesElement(action_id=ACTION_ID, options=options, initial_options=initial)
        return StaticMultiSelectElement(action_id=ACTION_ID, options=options, initial_options=initial,
                                        placeholder=plain("Choose"), max_selected_items=question.max_choices)
    if kind == QuestionKind.NUMBER:
        decimal = not question.integer
        return NumberInputElement(
            action_id=ACTION_ID,
            is_decimal_allowed=decimal,
            min_value=_num(question.min, decimal),
            max_value=_num(question.max, decimal),
            initial_value=_num(value, decimal) if value is not None else None,
            placeholder=plain(f"a number in {question.unit}" if question.unit else "a number"),
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
    if question.kind == QuestionKind.NUMBER and question.unit and not hint:
        hint = f"In {question.unit}."
    return InputBlock(
        block_id=block_id(question.id),
        label=plain(question.prompt, 2000),
        element=element_for(question, value),
        hint=plain(hint, 2000) if hint else None,
        optional=not question.required,
    )


def section_view(
    template: Template,
    section_index: int,
    *,
    round_id: int,
    answers: Mapping[str, Any] | None = None,
    mode: str = "answer",
    closes_text: str | None = None,
) -> View:
    """The modal for one section; ``private_metadata`` carries round, section and mode."""
    section: Section = template.sections[section_index]
    total = len(template.sections)
    answers = answers or {}
    last = section_index == total - 1
    blocks: list[Block] = []
    step = f"Step {section_index + 1} of {total}"
    if closes_text:
        step += f" · open until {closes_text}"
    step += " · each step is saved when you press " + ("Submit" if last else "Next")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(step, 3000))]))
    if section.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(section.description, 3000))))
    blocks += [question_block(q, answers.get(q.id)) for q in section.questions]
    metadata = SurveyStepMetadata(round=round_id, section=section_index, mode=mode)
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=plain(section.title, 24),
        submit=plain("Submit" if last else "Next", 24),
        close=plain("Save for later" if section_index else "Cancel", 24),
        private_metadata=metadata.dump(),
        blocks=blocks,
        notify_on_close=False,
    )


def done_view(template: Template, closes_text: str | None) -> View:
    """Shown after the last section: answers are in, and how to change them."""
    text = ":white_check_mark: *Thank you, your answers are saved.*\n"
    if closes_text:
        text += f"You can change them until the round closes ({closes_text}) with *Edit my answers* in our DM."
    return View(type="modal", callback_id="survey_done", title=plain("Thank you", 24),
                close=plain("Close", 24), blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def question_values(state_values: Any) -> dict[str, Any]:
    """Submitted ``view.state.values`` -> {question id: raw value} for survey.answers.

    Blank inputs come back as None (or an empty list), which validation treats as unanswered.
    """
    return {qid: value for block, value in read_state(state_values, ACTION_ID).items()
            if (qid := question_id(block)) is not None}
