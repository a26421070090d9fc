"""AnswerColumns.add (bound appends per question) keeps what the plain dict-of-lists did."""

import random
from array import array

from survey.answer_columns import AnswerColumns


def _reference(rows_of_answers):
    """The former add: look up each question's rows and values per cell."""
    rows: dict[str, array] = {}
    values: dict[str, list] = {}
    for i, answers in enumerate(rows_of_answers):
        for qid, value in answers.items():
            if qid not in rows:
                rows[qid], values[qid] = array("q"), []
            rows[qid].append(i)
            values[qid].append(value)
    return rows, values


def test_add_equals_the_dict_of_lists_on_random_rows():
    rng = random.Random(7)
    qids = ["a", "b", "c", "d"]
    answers = []
    for _ in range(500):  # questions first seen mid-way, empty rows, lists, numbers
        chosen = [q for q in qids if rng.random() < 0.5]
        answers.append({q: rng.choice([1, 2.5, "x", ["o1", "o2"]]) for q in chosen})
    answers.insert(0, {})
    columns = AnswerColumns()
    for i, a in enumerate(answers):
        columns.add(f"r{i}", "Sales" if i % 2 else None, a)
    rows, values = _reference(answers)
    assert columns.rows == rows and columns.values == values
    assert list(columns.rows) == list(rows)  # questions in first-seen order
    assert len(columns) == len(answers) and columns.teams[1] == "Sales" and columns.teams[0] is None


def test_add_extends_columns_given_at_construction():
    columns = AnswerColumns(respondents=["r0"], teams=[None], rows={"a": array("q", [0])}, values={"a": [3]})
    columns.add("r1", None, {"a": 4, "b": "x"})
    assert list(columns.rows["a"]) == [0, 1] and columns.values["a"] == [3, 4]
    assert list(columns.rows["b"]) == [1] and columns.values["b"] == ["x"]


def test_an_empty_round_has_no_columns():
    columns = AnswerColumns()
    columns.add("r0", None, {})
    assert columns.rows == {} and columns.values == {} and len(columns) == 1
