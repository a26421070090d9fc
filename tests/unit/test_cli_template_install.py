"""`icp-bot template install`: a workspace's own template, validated, stored, never clobbered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from storage import templates
from storage.db import Database

CORE = Path(__file__).resolve().parents[2] / "survey" / "templates" / "icp-core.yaml"


@pytest.fixture
def database(tmp_path, monkeypatch) -> Database:
    url = f"sqlite:///{tmp_path / 'icp.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    db = Database(url)
    db.upgrade()
    return db


def _own_template(tmp_path: Path, version: int = 1, title: str = "Walk away, about you") -> Path:
    text = re.sub(r"(?m)^version: \d+$", f"version: {version}", CORE.read_text().replace("id: icp-core", "id: acme-icp"))
    path = tmp_path / f"acme-{version}.yaml"
    path.write_text(text.replace("title: Walk away, about you", f"title: {title}"))
    return path


def test_install_stores_a_workspace_template(database, tmp_path, capsys):
    assert main(["template", "install", str(_own_template(tmp_path)), "--team", "T0001"]) == 0
    assert "acme-icp' v1 is available to workspace T0001" in capsys.readouterr().out
    with database.session() as session:
        keys = {t.key for t in templates.list_templates(session, "T0001")}
        assert "acme-icp" in keys
        assert "acme-icp" not in {t.key for t in templates.list_templates(session, "T0002")}


def test_install_refuses_changed_content_under_the_same_version(database, tmp_path, capsys):
    assert main(["template", "install", str(_own_template(tmp_path)), "--team", "T0001"]) == 0
    (tmp_path / "changed").mkdir()
    changed = _own_template(tmp_path / "changed", title="Who you are")
    assert main(["template", "install", str(changed), "--team", "T0001"]) == 2
    assert "raise its version" in capsys.readouterr().err
    bumped = _own_template(tmp_path, version=2, title="Who you are")
    assert main(["template", "install", str(bumped), "--team", "T0001"]) == 0


def test_install_refuses_a_builtin_id_and_an_invalid_file(database, tmp_path, capsys):
    assert main(["template", "install", str(CORE), "--team", "T0001"]) == 2
    assert "built-in" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: X\nsections: []\n")
    assert main(["template", "install", str(broken), "--team", "T0001"]) == 2
    assert "broken.yaml" in capsys.readouterr().err
