"""The text questions of a round: anonymous quotes and the most frequent terms.

Nothing is shown for fewer than ``min_group_size`` answers. Quotes are the distinct
answers, shuffled with a seed after sorting, so their order says nothing about who wrote
them; terms are counted once per answer, English stop words left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from survey.question_answers import QuestionAnswers

MAX_QUOTES = 20
MAX_TERMS = 10

STOP_WORDS = frozenset(
    """a about above after again against all almost also am an and any are as at be because
    been before being below between both but by can could did do does doing down during each
    either else ever every few for from further get gets got had has have having he her here
    hers herself him himself his how i if in into is it its itself just least less like many
    may me might more most much must my myself neither no nor not now of off often on once only
    or other others our ours ourselves out over own per quite rather really same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up upon us very via was we well were what when where which while
    who whom whose why will with within without would yet you your yours yourself yourselves
    customer customers one""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]")


class TextSummary(BaseModel):
    question_id: str
    prompt: str
    count: int
    quotes: list[str] = Field(default_factory=list)
    terms: list[tuple[str, int]] = Field(default_factory=list)
    hidden: bool = False


def frequent_terms(texts: Sequence[str]) -> list[tuple[str, int]]:
    """Most frequent terms, each counted once per answer, English stop words left out."""
    counts: Counter[str] = Counter()
    for text, times in Counter(texts).items():  # the same answer twice: its terms found once
        for w in {w.removesuffix("'s") for w in _WORD.findall(text.lower())}:
            if len(w) >= 3 and w not in STOP_WORDS:
                counts[w] += times
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]


def text_summary(answers: QuestionAnswers, min_group_size: int, seed: int) -> TextSummary:
    """Quotes and terms of one text question, or a hidden summary below ``min_group_size``."""
    q = answers.question
    count = len(answers.values)
    if count < min_group_size:
        return TextSummary(question_id=q.id, prompt=q.prompt, count=count, hidden=True)
    ordered = sorted(answers.values)  # forget respondent order before shuffling
    distinct = sorted(set(ordered))
    rng = np.random.default_rng(seed)
    quotes = [distinct[i] for i in rng.permutation(len(distinct))[:MAX_QUOTES]]
    return TextSummary(
        question_id=q.id, prompt=q.prompt, count=count, quotes=quotes, terms=frequent_terms(ordered)
    )
