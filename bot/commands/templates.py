"""``icp-bot template validate|install``."""

from __future__ import annotations

import argparse
import sys


def template_validate(args: argparse.Namespace) -> int:
    from survey.template import TemplateError, resolve_template

    try:
        template = resolve_template(args.file)
    except TemplateError as exc:
        print(f"invalid template {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(f"{args.file}: template '{template.id}' v{template.version} is valid: "
          f"{len(template.sections)} sections, {len(template.questions)} questions")
    return 0


def template_install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.settings import SettingsError, load_settings
    from storage import templates, workspaces
    from storage.db import Database
    from storage.errors import TemplateConflict
    from survey.template import BUILTIN_TEMPLATES, TemplateError, load_template

    try:
        template = load_template(args.file)
        settings = load_settings()
    except TemplateError as exc:
        print(f"invalid template {exc.source}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if template.id in BUILTIN_TEMPLATES:
        print(f"error: '{template.id}' is the id of a built-in template; give yours another id",
              file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    if not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` first",
              file=sys.stderr)
        return 2
    try:
        with db.session() as session:
            workspaces.get_or_create_workspace(session, args.team)
            stored = templates.save_template(session, args.team, template, Path(args.file).read_text("utf-8"))
    except TemplateConflict as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"template '{stored.key}' v{stored.version} is available to workspace {args.team}: "
          "leaders can choose it in /icp-check start")
    return 0
