"""The ``icp-bot`` command line: the argument parser and the dispatch to ``bot.commands``.

Each command's module is imported only when that command runs, and Slack and the database
only by the commands that need them, so that ``icp-bot report`` on a spreadsheet starts fast
and works with no Slack app at all, and ``icp-bot run`` loads no report or customer stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

DEFAULT_HOST = "127.0.0.1"  # bot.server.DEFAULT_HOST; not imported so `icp-bot report` stays light

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


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The command ``name`` of ``bot.commands.<module>``, imported when it runs (not at parse)."""

    def run(args: argparse.Namespace) -> int:
        from importlib import import_module

        return getattr(import_module(f"bot.commands.{module}"), name)(args)

    return run


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("icp-align")
    except PackageNotFoundError:  # run from a clone that was never installed
        return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``, read from the package's metadata only when asked for: importing
    importlib.metadata and reading the distribution on every start cost 20-50 ms."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):  # noqa: A002
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or "show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"icp-bot {_version()}")  # to stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icp-bot", description="ICP Align: does your team agree on its ideal customer?")
    parser.add_argument("--version", action=_Version)
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
    demo.set_defaults(func=_command("demo", "demo"))

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
    report.set_defaults(func=_command("report", "report"))

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
    cust_import.set_defaults(func=_command("customers", "customers_import"))
    cust_show = cust_sub.add_parser("show", help="how many customers a workspace has, and from when")
    cust_show.add_argument("--team", required=True)
    cust_show.set_defaults(func=_command("customers", "customers_show"))
    cust_delete = cust_sub.add_parser("delete", help="remove a workspace's customer list")
    cust_delete.add_argument("--team", required=True)
    cust_delete.set_defaults(func=_command("customers", "customers_delete"))

    fit = sub.add_parser("fit", help="score a prospect list (CSV) against the ICP; writes it back with scores")
    fit.add_argument("--prospects", required=True, help="prospect list: a CRM export or one column per question id")
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument("--team", help="score against this workspace's ratified ICP")
    source.add_argument("--profile", help="score against an ICP profile JSON (or a report's JSON)")
    source.add_argument("--answers", help="score against the consensus of a spreadsheet of answers")
    fit.add_argument("--template", default="icp-core", help="template of --profile / --answers (default icp-core)")
    fit.add_argument("--mapping", help="mapping file (YAML or CSV) for the prospect file's columns")
    fit.add_argument("--out", help="write the scored list here (default: standard output)")
    fit.set_defaults(func=_command("report", "fit"))

    template = sub.add_parser("template", help="survey templates")
    template_sub = template.add_subparsers(dest="template_command", required=True)
    validate = template_sub.add_parser("validate", help="check a template YAML file (or a built-in id)")
    validate.add_argument("file", help="a YAML file, or a built-in template id such as icp-core")
    validate.set_defaults(func=_command("templates", "template_validate"))
    install = template_sub.add_parser("install", help="make a template available to a workspace")
    install.add_argument("file")
    install.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    install.set_defaults(func=_command("templates", "template_install"))

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
    run.set_defaults(func=_command("run", "run"))

    keys = sub.add_parser("keys", help="the key that encrypts stored Slack tokens (ICP_ENCRYPTION_KEY)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="print a new key for ICP_ENCRYPTION_KEY")
    generate.set_defaults(func=_command("admin", "keys_generate"))
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every stored token with the first key of ICP_ENCRYPTION_KEY=new,old",
        description="Re-encrypt every stored Slack token with the first key of ICP_ENCRYPTION_KEY. "
                    "Set ICP_ENCRYPTION_KEY=NEW,OLD (start the bot with it too), run this, then drop OLD. "
                    "Plaintext tokens from before encryption are encrypted as well.")
    rotate.set_defaults(func=_command("admin", "keys_rotate"))

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    upgrade.set_defaults(func=_command("admin", "db_upgrade"))
    copy = db_sub.add_parser(
        "copy", help="copy every row of DATABASE_URL into an empty database (e.g. SQLite -> PostgreSQL)",
        description="Migrate the target to the current schema and copy every table of DATABASE_URL into "
                    "it in one transaction; a target that holds any row is refused. Stop the bot first.")
    copy.add_argument("--to", required=True, metavar="URL", help="the target, e.g. postgresql://icp@db/icp")
    copy.set_defaults(func=_command("admin", "db_copy"))

    forget = sub.add_parser(
        "forget", help="erase a person's Slack user id from a workspace's data",
        description="Erase USER_ID from the workspace: closed rounds keep their answers under the round's "
                    "pseudonym (their reports do not change), open rounds lose the person and their "
                    "answers, leadership and every other mention of the id go.")
    forget.add_argument("user_id", metavar="USER_ID", help="the person's Slack user id (U...)")
    forget.add_argument("--team", required=True, help="the workspace's Slack team id (T...)")
    forget.set_defaults(func=_command("admin", "forget"))
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
