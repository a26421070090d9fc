"""The ``icp-bot`` command line.

Slack and the database are imported only by the commands that need them, so that
``icp-bot report`` on a spreadsheet starts fast and works with no Slack app at all.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"  # bot.server.DEFAULT_HOST; not imported so `icp-bot report` stays light


def _cmd_report(args: argparse.Namespace) -> int:
    from survey.report import build_report
    from survey.spreadsheet import RowError, SpreadsheetError, read_answer_columns
    from survey.template import TemplateError, resolve_template

    try:
        template = resolve_template(args.template)
        result = read_answer_columns(args.answers, template, skip_invalid=args.skip_invalid)
    except (TemplateError, SpreadsheetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, SpreadsheetError) and any(isinstance(e, RowError) for e in exc.errors):
            print("Nothing was reported. Fix the rows above, or pass --skip-invalid to report "
                  "the valid rows only.", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(f"skipped: {error}", file=sys.stderr)
    imported = profile = None
    if not args.customers and (args.mapping or args.opportunities or args.profile):
        print("error: --mapping, --opportunities and --profile go with --customers", file=sys.stderr)
        return 2
    if args.customers:  # read before the report is computed, so that a bad file fails fast
        imported = _read_accounts(args.customers, template, args.mapping, args.opportunities)
        profile = _load_profile_json(args.profile, template) if args.profile else None
        if imported is None or (args.profile and profile is None):
            return 2
    report = build_report(template, result.columns, min_group_size=args.min_group_size,
                          bootstrap=args.bootstrap, seed=args.seed, consensus_rule=args.consensus_rule)
    reality = None
    if imported is not None:
        from survey.reality import reality_for

        reality = reality_for(report, template, imported.customers, profile, seed=args.seed)
    sys.stdout.write(_render_report(report, template, reality, args.format))
    return 0


def _render_report(report, template, reality, fmt: str) -> str:
    """The alignment report, with the "Perception and reality" section when customers are given."""
    from survey.report_format import FORMATS

    text = FORMATS[fmt](report, template)
    if reality is None:
        return text
    from survey import reality_format

    if fmt == "json":
        return reality_format.with_reality_json(text, reality)
    return text + reality_format.FORMATS[fmt](reality)


def _print_file_error(exc: Exception) -> None:
    print(f"error: {exc}", file=sys.stderr)
    from survey.spreadsheet import RowError

    if any(isinstance(e, RowError) for e in getattr(exc, "errors", [])):
        print("Nothing was imported. Fix the rows above (or map their values with --mapping).",
              file=sys.stderr)


def _read_accounts(path, template, mapping=None, opportunities=None, *, require_revenue: bool = True):
    """A customer or prospect file read for a command; None (after saying why) when it cannot be."""
    from survey.customers import CustomerFileError, read_customers
    from survey.prospect_fit import FIT_COLUMNS

    try:
        imported = read_customers(path, template, mapping=mapping, opportunities=opportunities,
                                  require_revenue=require_revenue,
                                  ignore=() if require_revenue else FIT_COLUMNS)
    except CustomerFileError as exc:
        _print_file_error(exc)
        return None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return imported


def _pull_accounts(source: str, template, mapping_path=None):
    """Customers pulled from a CRM through its client (``bot.crm_connectors``)."""
    from bot.crm_connectors import CONNECTORS, ConnectorError
    from survey.customer_mapping import CustomerFileError, load_mapping

    make_client, pull = CONNECTORS[source]
    try:
        mapping = load_mapping(mapping_path, template) if mapping_path else None
        imported = pull(make_client(), template, mapping)
    except ConnectorError as exc:
        print(f"error: {source}: {exc}", file=sys.stderr)
        return None
    except CustomerFileError as exc:
        _print_file_error(exc)
        return None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return imported


def _load_profile_json(path: str, template):
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


def _cmd_template_validate(args: argparse.Namespace) -> int:
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


def _cmd_template_install(args: argparse.Namespace) -> int:
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


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import Database

    settings = _settings()
    if settings is None:
        return 2
    db = Database(settings.database_url)
    db.upgrade()
    print(f"database at {db.url.render_as_string(hide_password=True)} is up to date")
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, stream=None):
    """The process's one log handler (stderr), with the privacy filter on it: whatever logs,
    bolt, slack_sdk, uvicorn or the bot, no answer, token or secret reaches the output.
    Returns the handler (tests read their own stream and remove it)."""
    import logging

    from bot.log_privacy import install

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    install(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":  # a line per migration plugin and per job run is noise
        for chatty in ("alembic", "apscheduler"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    return handler


def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from storage.slack_oauth import generate_key

    print(generate_key())
    return 0


def _cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY."""
    from storage.slack_oauth import TokenKeyError, rotate_tokens

    settings = _settings()
    if settings is None:
        return 2
    key = settings.encryption_key()
    if key is None:
        print("error: ICP_ENCRYPTION_KEY is not set: set it to NEW,OLD (the new key first, then the "
              "key the tokens are encrypted with now)", file=sys.stderr)
        return 2
    db = _open_db(settings, migrate_sqlite=False)
    if db is None:
        return 2
    try:
        written = rotate_tokens(db, key)
    except TokenKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{written} stored Slack tokens are now encrypted with the first key of ICP_ENCRYPTION_KEY; "
          "the other keys can be removed from it")
    return 0


def _settings():
    """The settings from the environment; None, having named the setting that is wrong."""
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _open_db(settings=None, *, migrate_sqlite: bool = True):
    """The configured database when its schema is current (SQLite is migrated first unless
    ``migrate_sqlite`` is False); None, having said why, when it cannot be used."""
    from storage.db import Database

    settings = settings or _settings()
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


def _cmd_forget(args: argparse.Namespace) -> int:
    from storage.privacy import forget_user

    db = _open_db(migrate_sqlite=False)
    if db is None:
        return 2
    try:
        with db.session() as session:
            done = forget_user(session, args.team, args.user_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not done.anything:
        print(f"nothing of {args.user_id} is stored for workspace {args.team}")
        return 0
    print(f"{args.user_id} is forgotten in workspace {args.team}: "
          f"{done.closed_rounds} closed round(s) keep {done.answers_kept} answer(s) under the round's pseudonym; "
          f"removed from {done.open_rounds} open round(s) with {done.answers_deleted} answer(s); "
          f"{'no longer a leader; ' if done.leader else ''}"
          f"{done.log_entries} sent-message entries and {done.other_rows} other row(s) anonymised")
    return 0


def _cmd_db_copy(args: argparse.Namespace) -> int:
    from bot.settings import SettingsError, load_settings
    from storage.copy import CopyError, copy_database
    from storage.db import Database

    try:
        settings = load_settings(database_url=args.to)  # the target URL, checked as DATABASE_URL is
        source_url = load_settings().database_url
    except SettingsError as exc:
        print(f"error: {exc}".replace("DATABASE_URL", "--to"), file=sys.stderr)
        return 2
    source, target = Database(source_url), Database(settings.database_url)
    try:
        result = copy_database(source, target, progress=lambda table, n: print(f"  {table}: {n} rows"))
    except CopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = target.url.render_as_string(hide_password=True)
    print(f"copied {result.total} rows in {len(result.rows)} tables to {shown}")
    for name in result.skipped:
        print(f"  not copied: {name} (created at run time by another library)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import create_app, outbox_sender
    from bot.pacing import Pacer
    from bot.server import run_http, run_socket_mode
    from bot.settings import Mode, SettingsError, load_settings
    from storage.db import Database

    mode = Mode.OAUTH if args.oauth else Mode.HTTP if args.http else Mode.SOCKET
    if args.housekeeping_interval < 1:
        print("error: --housekeeping-interval must be at least 1 second", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        settings.require(mode)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.icp_log_level)
    db = Database(settings.database_url)
    if db.dialect == "sqlite" or args.migrate:
        db.upgrade_if_behind()  # a restart at head costs one query, not Alembic's import
    elif not db.is_up_to_date():
        print("error: the database schema is behind this version; run `icp-bot db upgrade` "
              "(or start with --migrate)", file=sys.stderr)
        return 2
    if mode == Mode.OAUTH:
        from storage.slack_oauth import TokenKeyError, check_stored_tokens

        try:
            check_stored_tokens(db, settings.encryption_key())
        except TokenKeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    from bot.services import digest

    digest.CHART_PNG = settings.icp_digest_chart_png
    pacer = Pacer(limits=settings.pacing_limits())  # one pacer for the listeners, the outbox and the scheduler
    clock = settings.clock()  # None unless the test-only ICP_CLOCK_OFFSET shifts it
    if clock is not None:
        logging.getLogger(__name__).warning("ICP_CLOCK_OFFSET=%s: the bot's clock is shifted (test-only setting)",
                                            settings.icp_clock_offset)
    outbox = outbox_sender(settings, db, mode, pacer=pacer, clock=clock)
    app = create_app(settings, db=db, mode=mode, pacer=pacer, outbox=outbox, clock=clock)
    outbox.start()  # first resumes whatever a crash or a restart left in the outbox
    scheduler = None
    if not args.no_scheduler:
        from bot.housekeeping import app_client_for_team, installation_client_for_team
        from bot.scheduler import start_scheduler

        if mode == Mode.OAUTH:
            client_for_team = installation_client_for_team(app.installation_store, settings.slack_api_url)
        else:
            client_for_team = app_client_for_team(app.client)
        scheduler = start_scheduler(db, client_for_team, args.housekeeping_interval, pacer=pacer, outbox=outbox,
                                    clock=clock)
    try:
        if mode == Mode.SOCKET:
            run_socket_mode(app, settings.slack_app_token or "")
        else:
            run_http(app, args.host, args.port, settings.icp_log_level)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        outbox.stop()
    return 0


def _cmd_customers_import(args: argparse.Namespace) -> int:
    from storage import customer_lists, templates
    from storage.errors import NotFound

    db = _open_db()
    if db is None:
        return 2
    with db.session(read_only=True) as session:  # nothing is written before the file is read
        try:
            template = templates.latest_template(session, args.team, args.template).template
        except NotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if (args.file is None) == (args.source is None):
        print("error: give a CSV file or --from hubspot|salesforce (one of them)", file=sys.stderr)
        return 2
    if args.source:
        imported = _pull_accounts(args.source, template, args.mapping)
    else:
        imported = _read_accounts(args.file, template, args.mapping, args.opportunities)
    if imported is None:
        return 2
    with db.session() as session:
        count = customer_lists.replace_customers(session, args.team, imported.customers,
                                            source=imported.layout, template_key=template.id)
    print(f"imported {count} customers ({imported.layout} layout, total revenue "
          f"{imported.total_revenue:,.0f}) into workspace {args.team}, replacing its previous list")
    for column, target in imported.columns.items():
        print(f"  {column} -> {target}")
    return 0


def _cmd_customers_show(args: argparse.Namespace) -> int:
    from storage import customer_lists

    db = _open_db()
    if db is None:
        return 2
    with db.session(read_only=True) as session:
        status = customer_lists.customer_status(session, args.team)
    if not status.customers:
        print(f"workspace {args.team} has no customer list; import one with `icp-bot customers import`")
        return 0
    print(f"workspace {args.team}: {status.customers} customers, total revenue {status.total_revenue:,.0f}, "
          f"{status.source} layout, template {status.template_key}, imported "
          f"{status.imported_at:%Y-%m-%d %H:%M} UTC")
    return 0


def _cmd_customers_delete(args: argparse.Namespace) -> int:
    from storage import customer_lists

    db = _open_db()
    if db is None:
        return 2
    with db.session() as session:
        removed = customer_lists.delete_customers(session, args.team)
    print(f"removed {removed} customers of workspace {args.team}")
    return 0


def _fit_profile(args: argparse.Namespace):
    """(profile, template) for ``icp-bot fit``: the workspace's ratified ICP, a profile JSON, or
    the consensus of a spreadsheet of answers; None after saying why not."""
    from survey.template import TemplateError, resolve_template

    if args.team:
        from storage import icp, templates
        from storage.errors import NotFound
        from survey.profile import IcpProfile

        db = _open_db()
        if db is None:
            return None
        with db.session(read_only=True) as session:
            version = icp.current_icp(session, args.team)
            if version is None:
                print(f"error: workspace {args.team} has no ratified ICP yet (/icp-check ratify), "
                      "or pass --profile / --answers", file=sys.stderr)
                return None
            profile = IcpProfile.model_validate(version.profile).model_copy(update={"version": version.version})
            try:
                template = templates.latest_template(session, args.team, profile.template_id).template
            except NotFound as exc:
                print(f"error: {exc}", file=sys.stderr)
                return None
        return profile, template
    try:
        template = resolve_template(args.template)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if args.profile:
        profile = _load_profile_json(args.profile, template)
        return None if profile is None else (profile, template)
    from survey.report import build_report
    from survey.spreadsheet import SpreadsheetError, read_responses

    try:
        result = read_responses(args.answers, template)
    except SpreadsheetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    report = build_report(template, result.responses, bootstrap=0)
    if report.profile is None or not report.profile.traits:
        print("error: the answers give no consensus profile to score against", file=sys.stderr)
        return None
    return report.profile, template


def _cmd_fit(args: argparse.Namespace) -> int:
    from survey.prospect_fit import score_prospects, write_scored

    found = _fit_profile(args)
    if found is None:
        return 2
    profile, template = found
    imported = _read_accounts(args.prospects, template, args.mapping, require_revenue=False)
    if imported is None:
        return 2
    scored = score_prospects(imported, profile, template)
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            write_scored(f, imported, scored)
    else:
        write_scored(sys.stdout, imported, scored)
    verdicts: dict[str, int] = {}
    for fit in scored:
        verdicts[fit.verdict] = verdicts.get(fit.verdict, 0) + 1
    print(f"scored {len(scored)} prospects: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())),
          file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import main as demo_main

    return demo_main(args.out, seed=args.seed, team_size=args.team_size, rounds=args.rounds)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("icp-align")
    except PackageNotFoundError:  # run from a clone that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icp-bot", description="ICP Align: does your team agree on its ideal customer?")
    parser.add_argument("--version", action="version", version=f"icp-bot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="try it without Slack: a simulated team through a whole round, shown as an HTML page",
        description="Run the real bot against a loopback Slack on 127.0.0.1 with a simulated team: a round "
                    "started, answered, reminded and closed, the report, the weekly digest, a StrategyCheck "
                    "pulse, the ICP ratified and a prospect scored. Writes index.html (every message, modal "
                    "and App Home view), the digest chart PNG and each payload's Block Kit JSON into --out.")
    demo.add_argument("--out", default="icp-demo", help="folder to write into (default ./icp-demo); its "
                      "earlier demo files are replaced")
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated answers (same seed, same run)")
    demo.add_argument("--team-size", type=int, default=15, help="people in sales, support and success (default 15)")
    demo.add_argument("--rounds", type=int, default=2, help="survey rounds before the report (default 2)")
    demo.set_defaults(func=_cmd_demo)

    report = sub.add_parser("report", help="alignment report of a spreadsheet of answers (CSV)")
    report.add_argument("--template", default="icp-core", help="built-in template id or a YAML file (default icp-core)")
    report.add_argument("--answers", required=True, help="CSV: respondent, team, one column per question id")
    report.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    report.add_argument("--skip-invalid", action="store_true", help="report the valid rows when some are malformed")
    report.add_argument("--min-group-size", type=int, default=3, help="hide figures of smaller groups (default 3)")
    report.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the interval")
    report.add_argument("--seed", type=int, default=0,
                        help="seed of the bootstrap and the permutation tests (same seed, same report)")
    report.add_argument("--consensus-rule", choices=["index", "share"], default=None,
                        help="what 'agreed' means: index >= 0.70, or the Delphi share rule (>= 75%% on one "
                             "answer); default: the template's")
    report.add_argument("--customers", help="CRM customer export (CSV): adds the Perception and reality section")
    report.add_argument("--mapping", help="mapping file (YAML or CSV) for a customer file of another layout")
    report.add_argument("--opportunities", help="Salesforce opportunities export: closed-won amounts per account")
    report.add_argument("--profile", help="ratified ICP as JSON to measure the customers' fit against "
                        "(default: the answers' consensus)")
    report.set_defaults(func=_cmd_report)

    cust = sub.add_parser("customers", help="a workspace's customer list from a CRM export")
    cust_sub = cust.add_subparsers(dest="customers_command", required=True)
    cust_import = cust_sub.add_parser("import", help="replace a workspace's customer list with a CSV export")
    cust_import.add_argument("file", nargs="?", help="HubSpot companies or Salesforce accounts export (CSV)")
    cust_import.add_argument("--from", dest="source", choices=["hubspot", "salesforce"],
                             help="pull from the CRM instead (HUBSPOT_ACCESS_TOKEN, or SALESFORCE_USERNAME, "
                             "SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN)")
    cust_import.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    cust_import.add_argument("--mapping", help="mapping file (YAML or CSV) for another layout")
    cust_import.add_argument("--opportunities", help="Salesforce opportunities export: closed-won amounts per account")
    cust_import.add_argument("--template", default="icp-core", help="the template whose traits the columns map to")
    cust_import.set_defaults(func=_cmd_customers_import)
    cust_show = cust_sub.add_parser("show", help="how many customers a workspace has, and from when")
    cust_show.add_argument("--team", required=True)
    cust_show.set_defaults(func=_cmd_customers_show)
    cust_delete = cust_sub.add_parser("delete", help="remove a workspace's customer list")
    cust_delete.add_argument("--team", required=True)
    cust_delete.set_defaults(func=_cmd_customers_delete)

    fit = sub.add_parser("fit", help="score a prospect list (CSV) against the ICP; writes it back with scores")
    fit.add_argument("--prospects", required=True, help="prospect list: a CRM export or one column per question id")
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument("--team", help="score against this workspace's ratified ICP")
    source.add_argument("--profile", help="score against an ICP profile JSON (or a report's JSON)")
    source.add_argument("--answers", help="score against the consensus of a spreadsheet of answers")
    fit.add_argument("--template", default="icp-core", help="template of --profile / --answers (default icp-core)")
    fit.add_argument("--mapping", help="mapping file (YAML or CSV) for the prospect file's columns")
    fit.add_argument("--out", help="write the scored list here (default: standard output)")
    fit.set_defaults(func=_cmd_fit)

    template = sub.add_parser("template", help="survey templates")
    template_sub = template.add_subparsers(dest="template_command", required=True)
    validate = template_sub.add_parser("validate", help="check a template YAML file (or a built-in id)")
    validate.add_argument("file", help="a YAML file, or a built-in template id such as icp-core")
    validate.set_defaults(func=_cmd_template_validate)
    install = template_sub.add_parser("install", help="make a template available to a workspace")
    install.add_argument("file")
    install.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    install.set_defaults(func=_cmd_template_install)

    run = sub.add_parser("run", help="connect to Slack (Socket Mode by default)")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--http", action="store_true", help="serve HTTP at /slack/events (SLACK_SIGNING_SECRET)")
    how.add_argument("--oauth", action="store_true", help="HTTP with OAuth for many workspaces")
    run.add_argument("--host", default=DEFAULT_HOST,
                     help="HTTP address to listen on (default 127.0.0.1: loopback, for a TLS reverse "
                          "proxy on the same host; 0.0.0.0 listens on every interface, e.g. in a container)")
    run.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    run.add_argument("--migrate", action="store_true", help="apply migrations before start (PostgreSQL)")
    run.add_argument("--no-scheduler", action="store_true",
                     help="do not close due rounds or send reminders from this process")
    run.add_argument("--housekeeping-interval", type=int, default=300, metavar="SECONDS",
                     help="how often to close due rounds and send due reminders (default 300)")
    run.set_defaults(func=_cmd_run)

    keys = sub.add_parser("keys", help="the key that encrypts stored Slack tokens (ICP_ENCRYPTION_KEY)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="print a new key for ICP_ENCRYPTION_KEY")
    generate.set_defaults(func=_cmd_keys_generate)
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every stored token with the first key of ICP_ENCRYPTION_KEY=new,old",
        description="Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY. "
                    "Set ICP_ENCRYPTION_KEY=NEW,OLD (start the bot with it too), run this, then drop OLD. "
                    "Plaintext tokens from before encryption are encrypted as well.")
    rotate.set_defaults(func=_cmd_keys_rotate)

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    upgrade.set_defaults(func=_cmd_db_upgrade)
    copy = db_sub.add_parser(
        "copy", help="copy every row of DATABASE_URL into an empty database (e.g. SQLite -> PostgreSQL)",
        description="Migrate the target to the current schema and copy every table of DATABASE_URL into "
                    "it in one transaction; a target that holds any row is refused. Stop the bot first.")
    copy.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://icp@db/icp")
    copy.set_defaults(func=_cmd_db_copy)

    forget = sub.add_parser(
        "forget", help="erase a person's Slack user id from a workspace's data",
        description="Erase USER_ID from the workspace: closed rounds keep their answers under the round's "
                    "pseudonym (their reports do not change), open rounds lose the person and their "
                    "answers, leadership and every other mention of the id go.")
    forget.add_argument("user_id", metavar="USER_ID", help="the person's Slack user id (U...)")
    forget.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    forget.set_defaults(func=_cmd_forget)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "min_group_size", 3) < 1:
        parser.error("--min-group-size must be at least 1")
    try:
        return args.func(args)
    except Exception as exc:
        # The database named by DATABASE_URL cannot be reached: say so, without a traceback.
        # sqlalchemy is looked up, not imported: `icp-bot report` never loads it (0.5 s).
        db_errors = sys.modules.get("sqlalchemy.exc")
        if db_errors is None or not isinstance(exc, db_errors.OperationalError):
            raise
        reason = str(exc.orig or exc).splitlines()[0]
        print(f"error: cannot use the database of DATABASE_URL ({reason}). Check the URL and that the "
              "server is running.", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
