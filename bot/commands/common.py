"""What several commands share: the settings and database checks, and reading customer
files and ICP profiles with their errors said on stderr."""

from __future__ import annotations

import sys


def settings_or_none():
    """The settings from the environment; None, having named the setting that is wrong."""
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def open_db(settings=None, *, migrate_sqlite: bool = True):
    """The configured database when its schema is current (SQLite is migrated first unless
    ``migrate_sqlite`` is False); None, having said why, when it cannot be used."""
    from storage.db import Database

    settings = settings or settings_or_none()
    if settings is None:
        return None
    db = Database(settings.database_url)
    if migrate_sqlite and db.dialect == "sqlite":
        db.upgrade()
    elif not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` first",
              file=sys.stderr)
        return None
    return db


def print_file_error(exc: Exception) -> None:
    print(f"error: {exc}", file=sys.stderr)
    from survey.spreadsheet import RowError

    if any(isinstance(e, RowError) for e in getattr(exc, "errors", [])):
        print("Nothing was imported. Fix the rows above (or map their values with --mapping).",
              file=sys.stderr)


def read_accounts(path, template, mapping=None, opportunities=None, *, require_revenue: bool = True):
    """A customer or prospect file read for a command; None (after saying why) when it cannot be."""
    from survey.customers import CustomerFileError, read_customers
    from survey.prospect_fit import FIT_COLUMNS

    try:
        imported = read_customers(path, template, mapping=mapping, opportunities=opportunities,
                                  require_revenue=require_revenue,
                                  ignore=() if require_revenue else FIT_COLUMNS)
    except CustomerFileError as exc:
        print_file_error(exc)
        return None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return imported


def load_profile_json(path: str, template):
    """An ICP profile from JSON: a profile itself, or a report's JSON (its ``profile``)."""
    import json
    from pathlib import Path

    from pydantic import ValidationError

    from survey.profile import IcpProfile

    try:
        data = json.loads(Path(path).read_text("utf-8"))
        if isinstance(data, dict) and isinstance(data.get("profile"), dict) and "questions" in data:
            data = data["profile"]
        profile = IcpProfile.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"error: {path}: not an ICP profile ({str(exc).splitlines()[0]})", file=sys.stderr)
        return None
    if profile.template_id != template.id:
        print(f"error: {path}: the profile is of template '{profile.template_id}', not '{template.id}' "
              "(pass --template)", file=sys.stderr)
        return None
    return profile
