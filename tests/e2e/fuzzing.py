"""What the fuzz tests (test_fuzz_*.py) share: junk values, mutations of a real payload, and
the check every example must pass.

A payload starts as the one Slack's client sends (built by ``SlackClientSim`` from what the
bot showed, the shapes of shared/slack-reference/payloads) and is mutated at one to three
places: a value replaced by junk of another type (None, a number, a list, a dict), an
oversized string (100 KB), odd unicode (a lone surrogate that JSON carries as ``"\\ud800"``,
NUL, right-to-left and zero-width marks, emoji, superscript digits), or a key removed; or the
signed body is cut short. It is signed correctly (the point is what a workspace member or a
compromised client can send) and handed to the bot the way the production server does
(``bot.server.verified_request``, then bolt's public ``App.dispatch``).

Every example must end in a clean answer (200, or the 400 of a body that is not a Slack
payload), with no error logged by the bot or bolt, and with the row counts of the tables a
request can write changed only as the test allows.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.server import Refused, StrictSignatureVerifier, verified_request
from storage.models import Answer, OutboxMessage, RoundParticipant, SurveyRound, Workspace
from tests.fakeslack import SimResponse, sign

from .helpers import SECRET

# Deterministic and bounded: the same examples on every run (no example database), no deadline
# (a loaded CI machine stretches wall-clock time), and the function-scoped ``world`` reused
# across examples on purpose (each example measures its own before and after).
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])



def fuzz(max_examples: int) -> settings:
    """FUZZ with a bound number of examples: each test stays well under 3 s."""
    return settings(FUZZ, max_examples=max_examples)


BIG = "x" * 100_000
ODD = ["\ud800", "a\udfffb", "a\x00b", "\x00", "\u202eevil\u202c", "\u200b", "\u200f", "\ufeff",
       "\U0001f600" * 5, "²", "¹", "٣", "99999999999999999999", "1" + "0" * 30, "-1", "0", "1e10",
       "nan", "inf", " ", "\n", "{}", "[]", "null", "<!channel>", "<@U0STAFF01>", "%00", "../..", BIG]

# the characters that broke storage and exports come up often, not once in a hundred
odd_text = st.sampled_from(ODD) | st.sampled_from(["\ud800", "a\x00b", "ok \udc80 ok"]) | st.text(max_size=12)
junk = st.one_of(
    odd_text,
    odd_text,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(0, 9) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(0, 9) | st.text(max_size=3), max_size=2),
)

DELETE = object()


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (dict keys and list indices) into ``node``, the root excluded."""
    out: list[tuple] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        out.append((*prefix, key))
        out.extend(paths(value, (*prefix, key)))
    return out


def _set(node: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        if isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = None
    else:
        node[path[-1]] = value


def _rename(node: Any, path: tuple, name: str) -> None:
    for key in path[:-1]:
        node = node[key]
    if isinstance(node, dict) and path[-1] in node:
        node[name] = node.pop(path[-1])


KEYS = st.sampled_from(["q:nope", "q:", "", "jump", "q:team", "q:ideal_customer", "answer", "other",
                        "q:" + "x" * 300, "\ud800"]) | st.text(max_size=6)


@st.composite
def mutated(draw, payload: dict[str, Any], focus: tuple[str, ...] = ()) -> dict[str, Any]:
    """``payload`` with one to three values replaced by junk, removed, or their key renamed
    (a block or action id that is not the view's); paths under one of the ``focus`` keys
    (e.g. ``"state"``, ``"private_metadata"``) are drawn as often as all the others together."""
    result = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        every = paths(result)
        if not every:
            break
        focused = [p for p in every if any(k in p for k in focus)]
        pool = st.sampled_from(every) | st.sampled_from(focused) if focused else st.sampled_from(every)
        path = draw(pool)
        if draw(st.integers(0, 5)) == 0:
            _rename(result, path, draw(KEYS))
        else:
            _set(result, path, draw(st.just(DELETE) | junk))
    return result


# ------------------------------------------------------------------------------ bodies
def _quote(text: str, safe: str, encoding: str | None, errors: str | None) -> str:
    # a form body carries any bytes: a lone surrogate as its (invalid) UTF-8 bytes
    return quote(text, safe, "utf-8", "surrogatepass")


def form_body(fields: dict[str, Any]) -> str:
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
                     quote_via=_quote)


def interactive_body(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})  # ensure_ascii: "\ud800" stays an escape


def event_body(payload: Any) -> str:
    return json.dumps(payload)


@st.composite
def maybe_truncated(draw, body: str) -> str:
    """The body, or (one time in five) the body cut short at any point."""
    if draw(st.integers(0, 4)) == 0 and len(body) > 1:
        # drawn apart from the body's length, which fresh ids change from run to run
        return body[: draw(st.integers(0, 10**6)) % len(body)]
    return body


_VERIFIER = StrictSignatureVerifier(SECRET)


def deliver(app, body: str, content_type: str) -> SimResponse:
    """As ``ThreadedSlackRequestHandler`` does: verify and parse, then ``App.dispatch``."""
    headers = {k.lower(): v for k, v in {"Content-Type": content_type, **sign(SECRET, body)}.items()}
    try:
        request = verified_request(_VERIFIER, body.encode("utf-8"), headers)
    except Refused as refused:
        return SimResponse(refused.status, "")
    response = app.dispatch(request)
    return SimResponse(response.status, response.body, response.first_headers())


# ------------------------------------------------------------------------------ the check
COUNTED = {"workspaces": Workspace, "rounds": SurveyRound, "answers": Answer, "participants": RoundParticipant,
           "outbox": OutboxMessage}


def counts(db) -> dict[str, int]:
    with db.session(read_only=True) as s:
        return {name: s.execute(select(func.count()).select_from(model)).scalar_one()
                for name, model in COUNTED.items()}


def errors_logged(caplog) -> list[str]:
    """Errors of the bot and its libraries, and bolt's warning that a listener did not ack."""
    return [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
            if r.name.startswith(("bot", "slack_bolt", "slack_sdk"))
            and (r.levelno >= logging.ERROR or "didn't call ack()" in r.getMessage())]


UNHANDLED = '{"error": "unhandled request"}'  # bolt, at once, for a payload no listener matches


def check(world, caplog, send: Callable[[], SimResponse], *,
          allowed: Callable[[dict[str, int], dict[str, int]], bool] | None = None,
          statuses: tuple[int, ...] = (200, 400)) -> SimResponse:
    """Send one example; assert a clean answer, no error logged and no junk row."""
    caplog.clear()
    before = counts(world.db)
    response = send()
    errors = errors_logged(caplog)
    assert not errors, errors
    # bolt answers 404 at once for a payload none of our listeners matches (a command or a
    # callback id we do not have), and after its 3 s wait for a listener that did not ack
    # (the warning checked above)
    assert response.status in statuses or (response.status == 404 and response.body == UNHANDLED), \
        (response.status, response.body[:300])
    after = counts(world.db)
    if allowed is None:
        assert after == before, (before, after)
    else:
        assert allowed(before, after), (before, after)
    if response.status == 200 and response.body:
        ack = json.loads(response.body)
        assert isinstance(ack, dict)
        if "response_action" in ack:
            assert ack["response_action"] in ("errors", "update", "push", "clear"), ack
    return response


def answers_are_clean(db) -> None:
    """Every stored answer is a canonical value (text, a number, a list of option ids) with no
    character a later export or PostgreSQL would choke on: no half-answer, no junk."""
    import re

    bad = re.compile("[\x00\ud800-\udfff]")  # not survey.answers' own check: this checks it
    with db.session(read_only=True) as s:
        rows = s.execute(select(Answer.round_id, Answer.user_id, Answer.question_id, Answer.value)).all()
    for row in rows:
        value = row.value
        items = value if isinstance(value, list) else [value]
        assert all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in items), row
        assert not any(isinstance(v, str) and bad.search(v) for v in items), row
        assert not isinstance(value, list) or all(isinstance(v, str) for v in value), row
