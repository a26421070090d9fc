"""Leaders' ICP modals: ratify the consensus (editable), and score a prospect against the ICP.

Every trait is an input built by ``survey_modal.question_block`` (block id ``q:<question id>``,
action id ``answer``), so ``survey_modal.question_values`` reads the submission and field errors
go back by the same block ids. Every input is optional here: in the ratify form a blank trait
is dropped from the ICP, in the fit form a blank trait is "not known" about the prospect.

Limits kept: at most 100 blocks per view (a template with more traits shows the first
``MAX_TRAIT_INPUTS``; the rest keep their consensus value), titles of 24 characters,
``private_metadata`` under 3000 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.views import report_blocks, survey_modal
from bot.views.forms import FitMetadata, RatifyMetadata, read_state
from bot.views.text import escape, mrkdwn, plain
from survey.template import Question, QuestionKind, Template

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.profile import FitResult, IcpProfile

RATIFY_CALLBACK = "icp_ratify"
RATIFIED_CALLBACK = "icp_ratified"
FIT_CALLBACK = "icp_fit"
FIT_RESULT_CALLBACK = "icp_fit_result"
FIT_AGAIN = "icp_fit_again"
PROSPECT_BLOCK = "prospect_name"
PROSPECT_ACTION = "value"
PROSPECT_NAME_LENGTH = 100
DISQUALIFIER_LABEL = "Warning signs you have seen"
MAX_BLOCKS = 100
MAX_TRAIT_INPUTS = 95
METADATA_LIMIT = 3000


def trait_questions(template: Template) -> list[Question]:
    """The questions a profile can hold: scored traits and the disqualifier, template order."""
    return [q for q in template.questions if q.scored and q.in_profile]


def ratify_questions(template: Template) -> list[Question]:
    """The traits the ratify form shows (the first ``MAX_TRAIT_INPUTS``)."""
    return trait_questions(template)[:MAX_TRAIT_INPUTS]


def fit_questions(profile: IcpProfile, template: Template) -> list[Question]:
    """The fit form's questions: the profile's traits, then its disqualifier question."""
    wanted = {t.question_id for t in profile.traits}
    if profile.disqualifier_question:
        wanted.add(profile.disqualifier_question)
    return [q for q in template.questions if q.id in wanted][:MAX_TRAIT_INPUTS]


def _optional(block: InputBlock, label: str | None = None) -> InputBlock:
    block.optional = True
    if label:
        block.label = plain(label, 2000)
    return block


# -- ratify ----------------------------------------------------------------------------------


def ratify_metadata(round_id: int, template_row_id: int, profile: IcpProfile) -> str:
    """Round id, template row id, and the ranges of the number traits as shown (so that an
    unchanged number keeps its interquartile range). Ranges are dropped, last first, if the
    JSON would not fit Slack's 3000 characters."""
    ranges = {t.question_id: (t.value, t.low, t.high) for t in profile.traits
              if t.low is not None or t.high is not None}
    while True:
        text = RatifyMetadata(round=round_id, template=template_row_id, ranges=ranges).dump()
        if len(text) <= METADATA_LIMIT or not ranges:
            return text
        ranges.pop(next(reversed(ranges)))


def _prefill(profile: IcpProfile, question: Question) -> Any:
    if question.role == "disqualifier":
        if profile.disqualifier_question == question.id:
            return list(profile.disqualifiers) or None
        return None
    trait = profile.trait(question.id)
    return trait.value if trait is not None else None


NOT_IN_ICP = "__not_in_icp__"
NOT_IN_ICP_LABEL = "Not part of our ICP"


def _with_not_in_icp(block: InputBlock) -> InputBlock:
    """A choice that can be taken back: radio buttons and selects cannot be cleared in Slack,
    so they get an explicit "Not part of our ICP" option (a select when ten radios are full)."""
    element = block.element
    if isinstance(element, (RadioButtonsElement, StaticSelectElement)):
        options = [*(element.options or []), Option(value=NOT_IN_ICP, text=plain(NOT_IN_ICP_LABEL, 75))]
        if isinstance(element, RadioButtonsElement) and len(options) <= survey_modal.CHOICE_LIMIT:
            element.options = options
        else:
            block.element = StaticSelectElement(action_id=element.action_id, options=options[:100],
                                                initial_option=element.initial_option,
                                                placeholder=plain("Choose one"))
    return block


def _agreement_hint(question: Question, agreement: tuple[float, bool] | None, hint: str | None) -> str | None:
    parts = []
    if agreement is not None:
        index, agreed = agreement
        parts.append(f"Agreement {index:.2f}: {'agreed' if agreed else 'not agreed yet'}.")
    if hint:
        parts.append(hint)
    return " ".join(parts) or None


def ratify_view(template: Template, profile: IcpProfile, *, round_id: int, template_row_id: int,
                round_title: str, respondents: int, round_open: bool, next_version: int,
                agreement: dict[str, tuple[float, bool]] | None = None,
                customer_hints: dict[str, str] | None = None) -> View:
    """The consensus of a round as an editable form, one pre-filled input per trait, each with
    how far the team agreed on it (``agreement``: question id -> (index, agreed)) and, where a
    customer list is imported, what the top customers look like (``customer_hints``)."""
    questions = ratify_questions(template)
    intro = (f"The consensus of *{escape(round_title)}* (round {round_id}, {respondents} respondents). "
             f"Edit any trait before saving; leave one blank to drop it from the ICP. "
             f"Saving makes it version {next_version} of our ICP.")
    blocks: list[Block] = [SectionBlock(text=mrkdwn(intro))]
    notes = []
    if round_open:
        notes.append("This round is still open: its consensus may still change.")
    missing = [q for q in questions if _prefill(profile, q) is None]
    if missing:
        notes.append(f"{len(missing)} trait(s) had no consensus or too few answers; they start blank.")
    hidden = len(trait_questions(template)) - len(questions)
    if hidden > 0:
        notes.append(f"{hidden} more trait(s) do not fit in this form and keep their consensus value.")
    if notes:
        blocks.append(ContextBlock(elements=[mrkdwn(" ".join(notes))]))
    for question in questions:
        block = _with_not_in_icp(_optional(survey_modal.question_block(question, _prefill(profile, question))))
        text = _agreement_hint(question, (agreement or {}).get(question.id), (customer_hints or {}).get(question.id))
        if text:
            block.hint = plain(text[:2000], 2000)
        blocks.append(block)
    return View(
        type="modal",
        callback_id=RATIFY_CALLBACK,
        title=plain("Ratify our ICP", 24),
        submit=plain("Ratify", 24),
        close=plain("Cancel", 24),
        private_metadata=ratify_metadata(round_id, template_row_id, profile),
        blocks=blocks[:MAX_BLOCKS],
    )


def ratified_view(profile: IcpProfile, template: Template, *, version: int, round_id: int | None) -> View:
    """The confirmation after ratifying: the new version and the profile as everyone sees it."""
    source = f", from round {round_id}" if round_id is not None else ""
    head = SectionBlock(text=mrkdwn(f":white_check_mark: *Version {version} of our ICP is ratified*{source}."))
    body = report_blocks.profile_blocks(profile, template)
    tail = ContextBlock(elements=[mrkdwn("Everyone can read it with `/icp-check profile`. "
                                         "Score a prospect against it with `/icp-check fit`.")])
    blocks: list[Block] = [head, *body[:MAX_BLOCKS - 2], tail]
    return View(type="modal", callback_id=RATIFIED_CALLBACK, title=plain("ICP ratified", 24),
                close=plain("Done", 24), blocks=blocks)


# -- fit -------------------------------------------------------------------------------------


def prospect_label(question: Question) -> str:
    """The question as it reads about a prospect: "The prospect's company size"."""
    if question.short:
        return f"The prospect's {question.short[0].lower()}{question.short[1:]}"
    return question.prompt


PROSPECT_NUMBER_MAX = 1e15


def prospect_question(question: Question) -> Question:
    """A trait as a prospect has it: a fact, so no survey caps (as many warning signs or
    industries as apply; a number above the survey's bound)."""
    update: dict = {"max_choices": None}
    if question.kind == QuestionKind.NUMBER:
        update["max"] = max(question.max or 0.0, PROSPECT_NUMBER_MAX)
    return question.model_copy(update=update)


def fit_view(profile: IcpProfile, template: Template, *, version: int, template_row_id: int) -> View:
    """Describe a prospect: its name and what is known of each ICP trait, all optional."""
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(f"Describe what you know of the prospect; leave the rest blank. "
                                 f"It is scored against version {version} of our ICP.")),
        InputBlock(block_id=PROSPECT_BLOCK, label=plain("Prospect name"), optional=True,
                   element=PlainTextInputElement(action_id=PROSPECT_ACTION, max_length=PROSPECT_NAME_LENGTH,
                                                 placeholder=plain("e.g. Acme Corp"))),
    ]
    for question in fit_questions(profile, template):
        label = DISQUALIFIER_LABEL if question.id == profile.disqualifier_question else prospect_label(question)
        blocks.append(_optional(survey_modal.question_block(prospect_question(question)), label))
    return View(
        type="modal",
        callback_id=FIT_CALLBACK,
        title=plain("Score a prospect", 24),
        submit=plain("Score", 24),
        close=plain("Cancel", 24),
        private_metadata=FitMetadata(version=version, template=template_row_id).dump(),
        blocks=blocks[:MAX_BLOCKS],
    )


def prospect_name(state_values: Any) -> str | None:
    """The prospect name typed in the fit form, stripped; None when blank or malformed."""
    value = read_state(state_values, PROSPECT_ACTION).get(PROSPECT_BLOCK)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:PROSPECT_NAME_LENGTH]


def fit_result_view(result: FitResult, name: str | None, *, version: int) -> View:
    """The fit of one prospect, with a button to score another."""
    blocks: list[Block] = list(report_blocks.fit_blocks(result, name))[:MAX_BLOCKS - 2]
    blocks.append(ContextBlock(elements=[mrkdwn(f"Scored against version {version} of our ICP. "
                                                "Nothing about the prospect is stored.")]))
    blocks.append(ActionsBlock(block_id="fit_actions", elements=[
        ButtonElement(action_id=FIT_AGAIN, text=plain("Score another prospect", 75), value=str(version)),
    ]))
    return View(type="modal", callback_id=FIT_RESULT_CALLBACK, title=plain("Prospect fit", 24),
                close=plain("Done", 24), blocks=blocks)
