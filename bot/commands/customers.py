"""``icp-bot customers import|show|delete``: a workspace's customer list."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import open_db, print_file_error, read_accounts


def customers_import(args: argparse.Namespace) -> int:
    from storage import customer_lists, templates
    from storage.errors import NotFound

    db = open_db()
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
        imported = read_accounts(args.file, template, args.mapping, args.opportunities)
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


def customers_show(args: argparse.Namespace) -> int:
    from storage import customer_lists

    db = open_db()
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


def customers_delete(args: argparse.Namespace) -> int:
    from storage import customer_lists

    db = open_db()
    if db is None:
        return 2
    with db.session() as session:
        removed = customer_lists.delete_customers(session, args.team)
    print(f"removed {removed} customers of workspace {args.team}")
    return 0


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
        print_file_error(exc)
        return None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return imported
