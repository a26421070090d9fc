"""Survey templates as stored: the exact YAML each round was asked with.

Rows are immutable: a round points at the template row it used, so editing a template never
changes what an old round asked. Workspace templates are keyed by (workspace, template id,
version); built-in templates (``survey/templates``) are stored with ``team_id`` NULL the first
time a workspace uses them, one row per shipped version.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from storage._sql import insert
from storage.db import Database
from storage.errors import NotFound, TemplateConflict
from storage.models import TemplateRecord, utcnow
from storage.workspaces import get_or_create_workspace
from survey.template import BUILTIN_TEMPLATES, Template, parse_template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredTemplate:
    """A template and the row id rounds refer to (``SurveyRound.template_id``)."""

    id: int
    team_id: str | None
    template: Template

    @property
    def builtin(self) -> bool:
        return self.team_id is None

    @property
    def key(self) -> str:
        return self.template.id

    @property
    def version(self) -> int:
        return self.template.version


_PARSED: dict[str, Template] = {}  # YAML text -> its template, the 128 latest texts
_PARSED_LOCK = threading.Lock()


def _parse(source_yaml: str, source: str) -> Template:
    """``source_yaml`` parsed, once per text (stored YAML never changes under a row). Keyed by
    the text alone: a built-in is read under three labels (its file, the row being saved, the
    stored row), and parsing it was most of a round's start. ``source`` only names the text
    in a parse error (never cached)."""
    template = _PARSED.get(source_yaml)
    if template is None:
        template = parse_template(source_yaml, source)
        with _PARSED_LOCK:
            if len(_PARSED) >= 128:
                del _PARSED[next(iter(_PARSED))]
            _PARSED[source_yaml] = template
    return template


def _stored(row: TemplateRecord) -> StoredTemplate:
    source = f"template {row.key} v{row.version} (row {row.id})"
    return StoredTemplate(id=row.id, team_id=row.team_id, template=_parse(row.source_yaml, source))


def _builtin_source(key: str) -> str:
    return resources.files("survey.templates").joinpath(f"{key}.yaml").read_text("utf-8")


def save_template(
    session: Session, team_id: str | None, template: Template, source_yaml: str
) -> StoredTemplate:
    """Store ``template`` (parsed from ``source_yaml``) for a workspace, or as a built-in if None.

    Saving the same YAML again returns the existing row. A different YAML under an id and
    version already stored raises TemplateConflict: bump ``version:`` in the YAML, because
    rounds already asked with the old text must keep it.
    """
    if _parse(source_yaml, f"template {template.id}") != template:
        raise ValueError(f"source_yaml does not describe template {template.id!r} v{template.version}")
    row = _find(session, team_id, template.id, template.version)
    if row is None:
        if team_id is not None:
            get_or_create_workspace(session, team_id)
        stmt = insert(session, TemplateRecord).values(
            team_id=team_id,
            key=template.id,
            version=template.version,
            name=template.name,
            source_yaml=source_yaml,
            created_at=utcnow(),
        )
        # No conflict target: the unique constraint (workspace rows) and the partial unique
        # index (built-in rows, team_id NULL) are both covered; a concurrent saver's row wins.
        session.execute(stmt.on_conflict_do_nothing())
        row = _find(session, team_id, template.id, template.version)
        assert row is not None
    if row.source_yaml != source_yaml and _parse(row.source_yaml, "stored") != template:
        raise TemplateConflict(
            f"template {template.id!r} version {template.version} is already saved with different "
            "content; raise its version to save the change"
        )
    return _stored(row)


def _find(session: Session, team_id: str | None, key: str, version: int) -> TemplateRecord | None:
    return session.scalars(
        select(TemplateRecord).where(
            TemplateRecord.team_id.is_(None) if team_id is None else TemplateRecord.team_id == team_id,
            TemplateRecord.key == key,
            TemplateRecord.version == version,
        )
    ).first()


# engine -> {row id: StoredTemplate}. A template row is never changed after it is written
# (a new version is a new row), so a round's template is read from the database once per
# engine, not on every survey step. Weak keys: a disposed test engine takes its cache along.
_BY_ID: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_stored_template(session: Session, template_id: int) -> StoredTemplate:
    engine = session.get_bind()
    cached = _BY_ID.get(engine, {}).get(template_id)
    if cached is not None:
        return cached
    row = session.get(TemplateRecord, template_id)
    if row is None:
        raise NotFound(f"no template with row id {template_id}")
    stored = _stored(row)
    _BY_ID.setdefault(engine, {})[template_id] = stored
    return stored


def template_on(connection: Connection, template_id: int) -> Template:
    """``get_template`` on a Core connection (``Database.connection``), from the same cache."""
    cached = _BY_ID.get(connection.engine, {}).get(template_id)
    if cached is not None:
        return cached.template
    row = connection.execute(select(TemplateRecord.__table__).where(TemplateRecord.id == template_id)).first()
    if row is None:
        raise NotFound(f"no template with row id {template_id}")
    stored = _stored(row)
    _BY_ID.setdefault(connection.engine, {})[template_id] = stored
    return stored.template


def get_template(session: Session, template_id: int) -> Template:
    """The template stored under row id ``template_id`` (e.g. ``SurveyRound.template_id``)."""
    return get_stored_template(session, template_id).template


def latest_template(session: Session, team_id: str, key: str) -> StoredTemplate:
    """The newest version of template ``key`` for a workspace.

    A workspace's own template wins; otherwise the built-in one shipped with the package
    (stored on first use, so rounds can refer to it). Raises NotFound for an unknown key.
    """
    row = session.scalars(
        select(TemplateRecord)
        .where(TemplateRecord.team_id == team_id, TemplateRecord.key == key)
        .order_by(TemplateRecord.version.desc())
        .limit(1)
    ).first()
    if row is not None:
        return _stored(row)
    if key in BUILTIN_TEMPLATES:
        return store_builtin(session, key)
    raise NotFound(
        f"no template {key!r} in this workspace; built-in templates: {', '.join(BUILTIN_TEMPLATES)}"
    )


def find_latest(session: Session, team_id: str, key: str) -> StoredTemplate | None:
    """The newest stored version of ``key`` for a workspace, read-only: its own template, else
    the stored row of the built-in as shipped now; None when neither is stored yet."""
    row = session.scalars(
        select(TemplateRecord)
        .where(TemplateRecord.team_id == team_id, TemplateRecord.key == key)
        .order_by(TemplateRecord.version.desc())
        .limit(1)
    ).first()
    if row is None and key in BUILTIN_TEMPLATES:
        template = _parse(_builtin_source(key), f"survey/templates/{key}.yaml")
        row = _find(session, None, key, template.version)
    return _stored(row) if row is not None else None


def template_choices(session: Session, team_id: str) -> dict[str, str]:
    """Template id -> name of what a leader can start a round with, read-only: the built-ins
    first (the default, icp-core, at the top), then the workspace's own templates."""
    choices = {key: _parse(_builtin_source(key), f"survey/templates/{key}.yaml").name
               for key in BUILTIN_TEMPLATES}
    rows = session.scalars(
        select(TemplateRecord)
        .where(TemplateRecord.team_id == team_id)
        .order_by(TemplateRecord.key, TemplateRecord.version.desc())
    )
    for row in rows:
        if row.key not in BUILTIN_TEMPLATES:
            choices.setdefault(row.key, _stored(row).template.name)
    return choices


def is_available(session: Session, team_id: str, key: str) -> bool:
    """Whether a round can be started with template ``key`` (read-only)."""
    return key in BUILTIN_TEMPLATES or find_latest(session, team_id, key) is not None


def store_builtin(session: Session, key: str) -> StoredTemplate:
    """The row of the built-in template ``key`` as shipped now, stored if it is not yet.

    Works in a read-only session too: a missing built-in row is then written in a short
    unit of work of its own (built-in rows are fixed content, so that is safe).
    """
    source = _builtin_source(key)
    template = _parse(source, f"survey/templates/{key}.yaml")
    row = _find(session, None, key, template.version)
    if row is None and Database.is_read_only(session):
        with Session(session.get_bind(), expire_on_commit=False) as writer, writer.begin():
            return _save_builtin(writer, template, source)
    return _save_builtin(session, template, source)


def _save_builtin(session: Session, template: Template, source: str) -> StoredTemplate:
    try:
        return save_template(session, None, template, source)
    except TemplateConflict:
        # The shipped file changed without a version bump: keep asking the stored text
        # (rounds must stay comparable) rather than stop the bot; say so loudly.
        log.warning(
            "built-in template %s v%s changed without a version bump; using the stored text "
            "until its version is raised", template.id, template.version,
        )
        row = _find(session, None, template.id, template.version)
        assert row is not None
        return _stored(row)


def list_templates(session: Session, team_id: str) -> list[StoredTemplate]:
    """What a leader can start a round with: the workspace's templates (newest version of
    each) and the built-ins it has not overridden, ordered by template id."""
    rows = session.scalars(
        select(TemplateRecord)
        .where(TemplateRecord.team_id == team_id)
        .order_by(TemplateRecord.key, TemplateRecord.version.desc())
    )
    newest: dict[str, StoredTemplate] = {}
    for row in rows:
        newest.setdefault(row.key, _stored(row))
    for key in BUILTIN_TEMPLATES:
        if key not in newest:
            newest[key] = store_builtin(session, key)
    return [newest[k] for k in sorted(newest)]
