"""How long the survey is: scrolling height and answering time of its modals, by a stated model.

Run ``python -m tests.survey_length`` for the table the README quotes (today's default
templates against the views they rendered before the compact survey, kept in
``tests/unit/data/survey_views_before.json``). ``tests/unit/test_survey_length.py`` holds the
targets: at most 6 minutes and under half the scrolling of before, at both widths.

The pixel model approximates how Slack draws a modal's body (the title bar and the
Submit/Close footer stay put, so they are not scrolled). Two widths: the desktop modal
(about 520 px, a 472 px text column) and a 375 px phone (a 343 px column):

==========================  ===============  ================
block or element            desktop          375 px mobile
==========================  ===============  ================
text line, 15 px            22 px, 64 chars  22 px, 47 chars
context line, 13 px         18 px, 75 chars  18 px, 54 chars
gap between blocks          16 px            16 px
input label                 text lines + 8   text lines + 8
radio / checkbox option     32 px per line   40 px per line (touch rows)
select, number, 1-line box  36 px            44 px
multi-line text box         80 px            88 px
hint                        4 + context lines
button row (actions)        36 px per row    buttons wrap at 343 px
==========================  ===============  ================

The time model: every word shown is read at 238 words a minute (Brysbaert 2019, silent
reading of English non-fiction); each question then costs a decision (5 s) and its clicks:
1.5 s per click (a radio button; a select is open + choose), two choices on a multi question
(or its maximum, if lower) plus closing the menu, 7 s to type a number, and 45 s for a free
text, which half of the people write when it is optional; each step costs 4 s to load and
move on. Hidden questions (``show_if``) are not shown, so not counted; the longest path
counts every question.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEFORE = Path(__file__).resolve().parent / "unit" / "data" / "survey_views_before.json"

WIDTHS = {"desktop": 472, "mobile": 343}
CHARS = {"desktop": 64, "mobile": 47}
CONTEXT_CHARS = {"desktop": 75, "mobile": 54}
LINE, CONTEXT_LINE, GAP = 22, 18, 16
ROW = {"desktop": 32, "mobile": 40}
CONTROL = {"desktop": 36, "mobile": 44}
MULTILINE = {"desktop": 80, "mobile": 88}
WPM = 238
DECIDE, CLICK, NUMBER, TEXT, STEP = 5.0, 1.5, 7.0, 45.0, 4.0

_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")  # Slack's date token: its fallback is shown
_EMOJI = re.compile(r":[a-z0-9_+-]+:")


def shown_text(text: str) -> str:
    """Text as a reader sees it: date tokens as their date, emoji codes as one glyph, no *bold*."""
    text = _TOKEN.sub(lambda m: m.group(1), text)
    return _EMOJI.sub("#", text).replace("*", "").replace("_", " ")


def lines(text: str, chars: int) -> int:
    """Lines a text wraps to at ``chars`` characters a line (greedy, word by word)."""
    total = 0
    for paragraph in shown_text(text).split("\n"):
        count, used = 1, 0
        for word in paragraph.split():
            need = len(word) if used == 0 else used + 1 + len(word)
            if need > chars and used:
                count += 1
                used = len(word)
            else:
                used = need
            while used > chars:  # a word longer than a line
                count += 1
                used -= chars
        total += count
    return total


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def _words(text: str) -> int:
    return len(shown_text(text).split())


def element_height(element: dict[str, Any], width: str) -> int:
    kind = element.get("type")
    if kind in ("radio_buttons", "checkboxes"):
        chars = CHARS[width] - 4  # the button or box before the text
        return sum(ROW[width] + LINE * (lines(_text_of(o.get("text")), chars) - 1) for o in element["options"])
    if kind == "plain_text_input" and element.get("multiline"):
        return MULTILINE[width]
    return CONTROL[width]


def _button_rows(elements: list[dict[str, Any]], width: str) -> int:
    rows, used = 1, 0
    for el in elements:
        size = 8 * len(_text_of(el.get("text")) or _text_of(el.get("placeholder"))) + 40
        if used and used + 8 + size > WIDTHS[width]:
            rows, used = rows + 1, size
        else:
            used = used + 8 + size if used else size
    return rows


def block_height(block: dict[str, Any], width: str) -> int:
    kind = block.get("type")
    if kind == "section":
        return LINE * lines(_text_of(block.get("text")), CHARS[width])
    if kind == "context":
        text = " ".join(_text_of(e) for e in block.get("elements", []))
        return CONTEXT_LINE * lines(text, CONTEXT_CHARS[width])
    if kind == "header":
        return 30
    if kind == "divider":
        return 17
    if kind == "actions":
        return CONTROL[width] * _button_rows(block.get("elements", []), width)
    if kind == "input":
        height = LINE * lines(_text_of(block.get("label")), CHARS[width]) + 8
        height += element_height(block["element"], width)
        if block.get("hint"):
            height += 4 + CONTEXT_LINE * lines(_text_of(block["hint"]), CONTEXT_CHARS[width])
        return height
    raise ValueError(f"no height for a {kind} block")


def view_height(view: dict[str, Any], width: str) -> int:
    """Pixels of scrolling in a modal's body at ``width`` ("desktop" or "mobile")."""
    blocks = view.get("blocks", [])
    return sum(block_height(b, width) for b in blocks) + GAP * max(0, len(blocks) - 1)


def _question_seconds(block: dict[str, Any]) -> float:
    element = block["element"]
    kind = element.get("type")
    seconds = DECIDE
    if kind == "radio_buttons":
        seconds += CLICK
    elif kind == "static_select":
        seconds += 2 * CLICK
    elif kind in ("checkboxes", "multi_static_select"):
        choices = min(2, element.get("max_selected_items") or 2)
        seconds += CLICK * choices + (2 * CLICK if kind == "multi_static_select" else 0)
    elif kind == "number_input":
        seconds += NUMBER
    elif kind == "plain_text_input":
        seconds += TEXT * (0.5 if block.get("optional") else 1.0)
    return seconds


def view_seconds(view: dict[str, Any]) -> float:
    """Seconds to read and answer one modal."""
    words = 0
    seconds = STEP
    for block in view.get("blocks", []):
        kind = block.get("type")
        if kind == "section":
            words += _words(_text_of(block.get("text")))
        elif kind == "context":
            words += sum(_words(_text_of(e)) for e in block.get("elements", []))
        elif kind == "input":
            words += _words(_text_of(block.get("label"))) + _words(_text_of(block.get("hint")))
            words += sum(_words(_text_of(o.get("text"))) for o in block["element"].get("options", []))
            seconds += _question_seconds(block)
    return seconds + words / WPM * 60


@dataclass(frozen=True)
class Length:
    steps: int
    questions: int
    desktop_px: int
    mobile_px: int
    seconds: float
    step_desktop_px: list[int]

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def measure(views: list[dict[str, Any]]) -> Length:
    heights = [view_height(v, "desktop") for v in views]
    return Length(
        steps=len(views),
        questions=sum(1 for v in views for b in v["blocks"] if b.get("type") == "input"),
        desktop_px=sum(heights),
        mobile_px=sum(view_height(v, "mobile") for v in views),
        seconds=sum(view_seconds(v) for v in views),
        step_desktop_px=heights,
    )


def before(template_id: str) -> Length:
    """The survey as it rendered before the compact survey (every question on its longest path)."""
    return measure(json.loads(BEFORE.read_text(encoding="utf-8"))[template_id]["views"])


def longest_answers(template: Any) -> dict[str, Any]:
    """Answers under which every conditional question is shown (the longest path)."""
    chosen: dict[str, Any] = {}
    for question in template.questions:
        for ref, options in (question.show_if or {}).items():
            source = template.question(ref)
            chosen[ref] = [options[0]] if source.kind == "multi" else options[0]
    return chosen


def now(template_id: str, answers: dict[str, Any] | None = None) -> Length:
    """The survey as it renders today; ``answers`` decide its conditional questions
    (default: the longest path)."""
    from bot.views import survey_modal
    from survey.template import load_builtin

    template = load_builtin(template_id)
    answers = longest_answers(template) if answers is None else answers
    closes = "<!date^1765558800^{date_short_pretty} at {time}|Fri 12 Dec, 17:00 UTC>"
    views = [survey_modal.section_view(template, i, round_id=1, answers=answers, closes_text=closes).to_dict()
             for i in range(len(template.sections))]
    return measure(views)


def table() -> str:
    rows = ["| template | | steps | questions | desktop scroll | 375 px scroll | time (model) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for template_id in ("icp-core", "icp-b2c"):
        for label, length in (("before", before(template_id)), ("now", now(template_id))):
            rows.append(f"| {template_id} | {label} | {length.steps} | {length.questions} | "
                        f"{length.desktop_px:,} px | {length.mobile_px:,} px | {length.minutes:.1f} min |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
    for template_id in ("icp-core", "icp-b2c"):
        print(template_id, "per step, desktop px: before", before(template_id).step_desktop_px,
              "now", now(template_id).step_desktop_px)
    print("minutes check:", math.ceil(now("icp-core").minutes))
