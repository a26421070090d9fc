"""Stored templates: built-in fallback, workspace templates, immutability."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import templates
from storage.db import Database
from storage.errors import NotFound, TemplateConflict
from storage.models import TemplateRecord
from survey.template import load_builtin, parse_template

CUSTOM_V1 = """
id: icp-core
name: Our own ICP survey
version: 1
sections:
  - id: basics
    title: Basics
    questions:
      - id: size
        kind: single
        prompt: Company size?
        options:
          - {id: small, label: Small}
          - {id: large, label: Large}
"""
CUSTOM_V2 = CUSTOM_V1.replace("version: 1", "version: 2").replace("Company size?", "How big?")


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(TemplateRecord))


def test_latest_falls_back_to_the_builtin_and_stores_it_once(db: Database) -> None:
    with db.session() as s:
        first = templates.latest_template(s, "T1", "icp-core")
    with db.session() as s:
        second = templates.latest_template(s, "T2", "icp-core")
    assert first.builtin and first.id == second.id
    assert first.template == load_builtin("icp-core")
    assert _count(db) == 1
    with db.session() as s:
        assert templates.get_template(s, first.id) == load_builtin("icp-core")


def test_workspace_template_overrides_the_builtin_for_that_workspace_only(db: Database) -> None:
    with db.session() as s:
        builtin = templates.latest_template(s, "T1", "icp-core")
        v1 = templates.save_template(s, "T1", parse_template(CUSTOM_V1), CUSTOM_V1)
        v2 = templates.save_template(s, "T1", parse_template(CUSTOM_V2), CUSTOM_V2)
    with db.session() as s:
        latest = templates.latest_template(s, "T1", "icp-core")
        assert latest.id == v2.id and latest.version == 2 and not latest.builtin
        assert latest.template.question("size").prompt == "How big?"
        assert templates.latest_template(s, "T2", "icp-core").id == builtin.id
        assert templates.get_template(s, v1.id).question("size").prompt == "Company size?"
        listed = templates.list_templates(s, "T1")
        shipped = load_builtin("icp-b2c").version
        assert [(t.key, t.version, t.builtin) for t in listed] == [("icp-b2c", shipped, True), ("icp-core", 2, False)]


def test_saving_the_same_yaml_again_returns_the_same_row(db: Database) -> None:
    with db.session() as s:
        a = templates.save_template(s, "T1", parse_template(CUSTOM_V1), CUSTOM_V1)
    with db.session() as s:
        b = templates.save_template(s, "T1", parse_template(CUSTOM_V1), CUSTOM_V1)
    assert a.id == b.id
    assert _count(db) == 1


def test_changed_content_under_the_same_version_is_refused(db: Database) -> None:
    with db.session() as s:
        templates.save_template(s, "T1", parse_template(CUSTOM_V1), CUSTOM_V1)
    changed = CUSTOM_V1.replace("Company size?", "How big?")
    with pytest.raises(TemplateConflict, match="raise its version"), db.session() as s:
        templates.save_template(s, "T1", parse_template(changed), changed)
    with db.session() as s:
        assert templates.latest_template(s, "T1", "icp-core").template.question("size").prompt == "Company size?"


def test_source_must_match_the_template(db: Database) -> None:
    with pytest.raises(ValueError, match="does not describe"), db.session() as s:
        templates.save_template(s, "T1", parse_template(CUSTOM_V1), CUSTOM_V2)
    assert _count(db) == 0


def test_unknown_template(db: Database) -> None:
    with db.session() as s:
        with pytest.raises(NotFound, match="icp-core"):
            templates.latest_template(s, "T1", "nope")
        with pytest.raises(NotFound):
            templates.get_template(s, 12345)


def test_builtin_lookup_works_in_a_read_only_session(db: Database) -> None:
    """Views look templates up read-only; the built-in row is stored aside if missing."""
    with db.session(read_only=True) as s:
        first = templates.latest_template(s, "T1", "icp-b2c")
        listed = templates.list_templates(s, "T1")
    with db.session(read_only=True) as s:
        again = templates.latest_template(s, "T1", "icp-b2c")
        assert templates.get_template(s, first.id) == load_builtin("icp-b2c")
    assert first.id == again.id and first.builtin
    assert {t.key for t in listed} == {"icp-core", "icp-b2c"}
    assert _count(db) == 2


def test_a_builtin_is_parsed_once_however_it_is_read(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its file, the row being saved and the stored row name one YAML text under three labels:
    parsing it three times was most of a round's start (benchmarks.fanout's first DM)."""
    parsed: list[str] = []

    def counting(source_yaml: str, source: str = "template"):
        parsed.append(source)
        return parse_template(source_yaml, source)

    monkeypatch.setattr(templates, "parse_template", counting)
    monkeypatch.setattr(templates, "_PARSED", {})
    with db.session() as s:
        templates.template_choices(s, "T1")
        stored = templates.latest_template(s, "T1", "icp-core")
    with db.session() as s:
        assert templates.find_latest(s, "T1", "icp-core").id == stored.id
        templates.latest_template(s, "T2", "icp-core")
    assert parsed.count("survey/templates/icp-core.yaml") == 1
    assert len(parsed) == len(templates.BUILTIN_TEMPLATES)  # each built-in once, none again
