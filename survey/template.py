"""Survey templates: the questions a round asks, loaded from YAML and validated.

A template is a list of sections, each a list of questions. Every question has a stable
``id`` (answers, stored rows and CSV columns refer to it), a ``kind`` that decides how its
answers are validated and how agreement is measured, and a ``role``:

- ``trait``: a trait of the ideal customer; closed kinds are scored for agreement and feed
  the consensus ICP profile;
- ``disqualifier``: a ``multi`` question whose majority options become the profile's
  walk-away signs;
- ``team``: the respondent's own team (used for team splits when the round has no team
  assignment);
- ``confidence``: how sure the respondent is; reported, not scored.

``short`` is the trait's name in reports ("Company size"), ``consensus_rule`` (template
level) says what "agreed" means (``survey.consensus``), ``quotes_in_channel`` (template
level, default false) whether anonymous free-text quotes may go into a channel post: staff
are told quotes are shown to leaders.

``in_profile: false`` keeps a scored trait question out of the consensus ICP and the fit
form: it measures agreement on something about us (say, how concentrated our revenue is),
not a trait a prospect can have.

``show_if: {geographic_reach: [national, global]}`` asks a question only when an answer of an
earlier section is one of those options (any of them, for a multi question); every condition
listed must hold. A hidden question is neither required nor stored (``survey.answers.is_shown``).

Limits are Slack's, so that every template can be shown in a modal: a section title fits a
modal title (24 characters), option labels fit 75 characters, option ids fit a 150-character
option value, a section has at most 20 questions (well below a view's 100 blocks).
"""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
OPTION_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,59}$"

MAX_OPTIONS = 100  # static_select / multi_static_select
MAX_TEXT_LENGTH = 3000  # plain_text_input max_length


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    SCALE = "scale"
    NUMBER = "number"
    TEXT = "text"


Role = Literal["trait", "disqualifier", "team", "confidence"]


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=OPTION_ID_PATTERN)
    label: str = Field(min_length=1, max_length=75)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    kind: QuestionKind
    prompt: str = Field(min_length=1, max_length=150)
    short: str | None = Field(default=None, min_length=1, max_length=30,
                              description="a short trait name for reports, e.g. 'Company size'")
    help: str | None = Field(default=None, max_length=150)
    role: Role = "trait"
    trait: str | None = Field(default=None, description="trait group, e.g. geography")
    required: bool = True
    weight: float = Field(default=1.0, ge=0, le=10)
    in_profile: bool = Field(default=True, description="a trait a prospect can have (enters the ICP)")
    options: list[Option] = Field(default_factory=list)
    max_choices: int | None = Field(default=None, ge=1)
    points: int | None = Field(default=None, ge=2, le=11)
    low_label: str | None = Field(default=None, max_length=40)
    high_label: str | None = Field(default=None, max_length=40)
    min: float | None = None
    max: float | None = None
    unit: str | None = Field(default=None, max_length=20)
    integer: bool = False
    resolution: float | None = Field(
        default=None, gt=0,
        description="the smallest difference that matters (number index); default min(1, (max-min)/100)")
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT_LENGTH)
    show_if: dict[str, list[str]] | None = Field(
        default=None, description="asked only when an earlier answer is one of these options")

    @model_validator(mode="after")
    def _check_kind_fields(self) -> Question:
        kind = self.kind
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            if len(self.options) < 2:
                raise ValueError(f"a {kind} question needs at least 2 options")
            if len(self.options) > MAX_OPTIONS:
                raise ValueError(f"at most {MAX_OPTIONS} options (Slack's limit for a select)")
            ids = [o.id for o in self.options]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate option ids: {', '.join(dupes)}")
        elif self.options:
            raise ValueError(f"a {kind} question takes no options")
        if self.max_choices is not None and kind != QuestionKind.MULTI:
            raise ValueError("max_choices applies to multi questions only")
        if self.max_choices is not None and self.max_choices > len(self.options):
            raise ValueError(
                f"max_choices ({self.max_choices}) is more than the {len(self.options)} options offered")
        if kind == QuestionKind.SCALE:
            if self.points is None:
                raise ValueError("a scale question needs points (2 to 11)")
            if not (self.low_label and self.high_label):
                raise ValueError("a scale question needs low_label and high_label")
        elif self.points is not None:
            raise ValueError("points applies to scale questions only")
        if kind == QuestionKind.NUMBER:
            if self.min is None or self.max is None:
                raise ValueError("a number question needs min and max")
            if self.min >= self.max:
                raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        elif self.min is not None or self.max is not None:
            raise ValueError("min and max apply to number questions only")
        if self.resolution is not None and kind != QuestionKind.NUMBER:
            raise ValueError("resolution applies to number questions only")
        if kind == QuestionKind.TEXT:
            if self.max_length is None:
                object.__setattr__(self, "max_length", 500)
        elif self.max_length is not None:
            raise ValueError("max_length applies to text questions only")
        if self.role == "disqualifier" and kind != QuestionKind.MULTI:
            raise ValueError("a disqualifier question must be of kind multi")
        if self.role == "team" and kind != QuestionKind.SINGLE:
            raise ValueError("a team question must be of kind single")
        if self.role == "confidence" and kind != QuestionKind.SCALE:
            raise ValueError("a confidence question must be of kind scale")
        return self

    @property
    def scored(self) -> bool:
        """Whether the question gets an agreement index (closed trait questions)."""
        return self.role in ("trait", "disqualifier") and self.kind != QuestionKind.TEXT

    @property
    def name(self) -> str:
        """The short trait name reports use: ``short``, else the prompt cut at 30 characters."""
        if self.short:
            return self.short
        text = self.prompt.rstrip("?")
        return text if len(text) <= 30 else text[:29].rstrip() + "…"

    @property
    def number_resolution(self) -> float:
        """``resolution``, else min(1, (max - min) / 100): one unit, or 1% of a narrow range."""
        if self.resolution is not None:
            return float(self.resolution)
        if self.min is None or self.max is None:
            return 1.0
        return min(1.0, (self.max - self.min) / 100.0)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def option_label(self, option_id: str) -> str:
        opt = self.option(option_id)
        return opt.label if opt else option_id


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=300)
    questions: list[Question] = Field(min_length=1, max_length=20)


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,59}$")
    name: str = Field(min_length=1, max_length=75)
    version: int = Field(default=1, ge=1)
    description: str | None = Field(default=None, max_length=500)
    minutes: int = Field(default=8, ge=1, le=60, description="time to answer, shown to staff")
    sections: list[Section] = Field(min_length=1, max_length=12)
    consensus_rule: Literal["index", "share"] = Field(
        default="index",
        description="what 'agreed' means: index >= 0.70, or the Delphi share rule (see survey.consensus)")
    quotes_in_channel: bool = Field(
        default=False, description="whether free-text quotes may appear in a report posted to a channel")

    @field_validator("sections")
    @classmethod
    def _unique_ids(cls, sections: list[Section]) -> list[Section]:
        seen: set[str] = set()
        for section in sections:
            for q in section.questions:
                if q.id in seen:
                    raise ValueError(f"question id {q.id!r} is used twice")
                seen.add(q.id)
        section_ids = [s.id for s in sections]
        if len(set(section_ids)) != len(section_ids):
            raise ValueError("section ids must be unique")
        teams = [q.id for s in sections for q in s.questions if q.role == "team"]
        if len(teams) > 1:
            raise ValueError(f"at most one team question, found {', '.join(teams)}")
        return sections

    @model_validator(mode="after")
    def _check_show_if(self) -> Template:
        problems = condition_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def has_question(self, question_id: str) -> bool:
        return any(q.id == question_id for q in self.questions)

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    @property
    def team_question(self) -> Question | None:
        return next((q for q in self.questions if q.role == "team"), None)


def condition_problems(template: Template) -> list[str]:
    """What is wrong with the templates' ``show_if`` conditions.

    A condition names a ``single`` or ``multi`` question of an *earlier* section and some of
    its options. Earlier, because a Slack modal cannot show or hide an input while it is
    open: a question is shown or skipped when its step is built, from answers already saved.
    """
    problems: list[str] = []
    section_of = {q.id: index for index, s in enumerate(template.sections) for q in s.questions}
    by_id = {q.id: q for q in template.questions}
    for index, section in enumerate(template.sections):
        for question in section.questions:
            for ref, option_ids in (question.show_if or {}).items():
                where = f"question {question.id!r}: show_if"
                source = by_id.get(ref)
                if source is None:
                    problems.append(f"{where} refers to {ref!r}, which is not a question of this template")
                    continue
                if source.kind not in (QuestionKind.SINGLE, QuestionKind.MULTI):
                    problems.append(f"{where} refers to {ref!r}, a {source.kind} question; "
                                    "only single and multi questions can decide")
                    continue
                if section_of[ref] >= index:
                    problems.append(f"{where} refers to {ref!r} in the same or a later section; "
                                    f"move {question.id!r} to a section after the one of {ref!r}")
                    continue
                if not option_ids:
                    problems.append(f"{where} lists no options of {ref!r}")
                unknown = [o for o in option_ids if source.option(o) is None]
                if unknown:
                    problems.append(f"{where} names options {ref!r} does not have: {', '.join(unknown)}")
    return problems


class TemplateError(ValueError):
    """A template that cannot be used; the message names the file, the place and the fault."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _describe_location(data: object, loc: tuple) -> str:
    """Turn a pydantic error location into "section 'x', question 'y', field"."""
    labels = {"sections": "section", "questions": "question", "options": "option"}
    parts: list[str] = []
    node = data
    previous = None
    for key in loc:
        if isinstance(node, list) and isinstance(key, int):
            item = node[key] if key < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            label = labels.get(str(previous), "item")
            parts.append(f"{label} {ident!r}" if ident else f"{label} #{key + 1}")
            node = item
        else:
            if key not in labels:
                parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
        previous = key
    return ", ".join(parts) or "template"


def parse_template(text: str, source: str = "<template>") -> Template:
    """Parse and validate YAML text; raise TemplateError naming ``source`` and each fault."""
    import yaml  # PyYAML: only when a template is read, not at the bot's start-up

    try:
        # libyaml's safe loader when PyYAML has it (its wheels do): a tenth of the pure-Python
        # one's time, which was a tenth of a 10,000-row report
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise TemplateError(source, [f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})"]) from exc
    if not isinstance(data, dict):
        raise TemplateError(source, ["the file must be a YAML mapping with id, name and sections"])
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _describe_location(data, tuple(err["loc"]))
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}")
        raise TemplateError(source, problems) from exc


def load_template(path: str | Path) -> Template:
    """Load a template file; raise TemplateError naming the file on any fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
    return parse_template(text, str(path))


BUILTIN_TEMPLATES = ("icp-core", "icp-b2c")


def load_builtin(template_id: str) -> Template:
    """One of the templates shipped in ``survey/templates``."""
    if template_id not in BUILTIN_TEMPLATES:
        raise TemplateError(template_id, [f"no built-in template; choose one of {', '.join(BUILTIN_TEMPLATES)}"])
    text = resources.files("survey.templates").joinpath(f"{template_id}.yaml").read_text("utf-8")
    return parse_template(text, f"survey/templates/{template_id}.yaml")


def resolve_template(name_or_path: str) -> Template:
    """A built-in template id, or a path to a YAML file."""
    if name_or_path in BUILTIN_TEMPLATES:
        return load_builtin(name_or_path)
    return load_template(name_or_path)


def slug(text: str) -> str:
    """A stable option id from a label: lower case, non-alphanumerics collapsed to '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "option"
