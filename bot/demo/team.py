"""The simulated team: about 15 people in sales, support and success, and how they answer.

The answers are designed, not random noise: on some traits everyone agrees (company size,
geography, industry, the walk-away sign of deep discounts), on others each team holds its
own view (who signs the deal, why customers pick us, how price-sensitive they are), so the
report shows both agreement and the splits a leadership team would discuss. A seed makes a
run repeatable; each later round moves a share of the dissenters toward the majority, so the
score over rounds rises.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from survey.template import Question, QuestionKind, Template

TEAMS = ("sales", "support", "success")

FIRST_NAMES = [
    "Ana", "Ben", "Chloé", "Dev", "Emeka", "Fatima", "Gus", "Hana", "Ivo", "Jun", "Kofi", "Lena",
    "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vik", "Wen", "Yara",
]
LAST_NAMES = ["Okafor", "Lindqvist", "Moreau", "Patel", "Schmidt", "Tanaka", "Costa", "Novak", "Haddad",
              "Kim", "Mensah", "Rossi", "Walsh", "Ibrahim", "Berg", "Silva"]
TITLES = {"sales": "Account Executive", "support": "Support Engineer", "success": "Customer Success Manager"}

# team -> what that team believes, where the teams differ
SPLITS: dict[str, dict[str, Any]] = {
    "decision_maker": {"sales": "vp", "support": "director", "success": "c_level"},
    "why_us": {"sales": "innovation", "support": "service", "success": "ease"},
    "buying_motivation": {"sales": "grow_revenue", "support": "save_time", "success": "grow_revenue"},
    "price_sensitivity": {"sales": "2", "support": "4", "success": "3"},
    "value_drivers": {"sales": ["spend", "strategic_fit"], "support": ["tenure", "profitability"],
                      "success": ["tenure", "referrals"]},
}
# where everyone agrees (a few people answer a neighbouring option)
AGREED: dict[str, tuple[Any, Any]] = {  # question -> (the shared answer, the odd one out)
    "company_size": ("51-200", "201-1000"),
    "geographic_reach": ("national", "named_regions"),
    "regions": (["europe", "uk_ireland"], ["europe"]),
    "industry": (["software"], ["software", "professional_services"]),
    "innovation_attitude": ("4", "5"),
    "risk_appetite": ("3", "4"),
    "collaboration": ("4", "4"),
    "incumbent_loyalty": ("2", "3"),
    "disqualifiers": (["deep_discounts", "slow_payer"], ["deep_discounts"]),
}
SENTENCES = {
    "sales": ["Mid-size software companies that want to grow revenue & move fast.",
              "A 100-person SaaS firm with a VP who owns the number."],
    "support": ["Teams that value great service over the lowest price (<em>not</em> bargain hunters).",
                "Customers who stay for years and keep their support tickets reasonable."],
    "success": ["Companies that adopt quickly, expand and refer their peers.",
                "Fast-growing software firms that want an easy rollout."],
}


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str
    real_name: str
    team: str


def make_team(size: int, rng: random.Random) -> list[Member]:
    """``size`` people spread over the three teams (sales first), with distinct names."""
    names = rng.sample(FIRST_NAMES, k=min(size, len(FIRST_NAMES)))
    while len(names) < size:
        names.append(f"{rng.choice(FIRST_NAMES)}{len(names)}")
    members = []
    for i, first in enumerate(names):
        last = rng.choice(LAST_NAMES)
        team = TEAMS[i % len(TEAMS)]
        members.append(Member(f"U0DEMO{i + 1:03d}", first.lower().replace("é", "e"), f"{first} {last}", team))
    return members


def answers_for(member: Member, template: Template, rng: random.Random, round_no: int) -> dict[str, Any]:
    """question id -> the value this person gives in round ``round_no`` (1 = the first)."""
    converge = min(0.8, 0.4 * (round_no - 1))  # the share of dissenters who now side with sales
    odd_one_out = 0.2 / round_no  # on the agreed traits, fewer stray answers each round
    out: dict[str, Any] = {}
    for question in template.questions:
        qid = question.id
        if qid in SPLITS:
            view = SPLITS[qid]
            team = "sales" if rng.random() < converge else member.team
            out[qid] = view.get(team, next(iter(view.values())))
        elif qid in AGREED:
            shared, odd = AGREED[qid]
            out[qid] = odd if rng.random() < odd_one_out else shared
        elif qid == "team":
            out[qid] = member.team
        elif qid == "top20_revenue_share":
            out[qid] = str(rng.choice([60, 65, 70, 70, 75, 80]))
        elif qid == "deal_size":
            out[qid] = str(rng.choice([20000, 25000, 25000, 30000, 40000]) if member.team != "support"
                           else rng.choice([15000, 20000, 25000]))
        elif qid == "acquisition_cost":
            out[qid] = str(rng.choice([5000, 8000, 10000]))
        elif qid == "ideal_customer":
            out[qid] = rng.choice(SENTENCES[member.team])
        elif qid == "confidence":
            out[qid] = str(rng.choice([3, 4, 4, 5]))
        else:
            value = any_answer(question, rng)
            if value is not None:
                out[qid] = value
    return out


def any_answer(question: Question, rng: random.Random) -> Any:
    """A valid answer to a question the demo has no design for (another template's)."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE,):
        return rng.choice(question.options).id
    if kind == QuestionKind.MULTI:
        return [rng.choice(question.options).id]
    if kind == QuestionKind.SCALE:
        return str(rng.randint(1, question.points or 5))
    if kind == QuestionKind.NUMBER:
        low = question.min if question.min is not None else 0
        high = question.max if question.max is not None else low + 100
        return str(int(rng.uniform(low, min(high, low + 100))))
    return None
