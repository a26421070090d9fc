"""``icp-bot report`` and ``icp-bot fit``: spreadsheets in, a report or scored prospects out.

No Slack app is needed; the database only for ``fit --team``."""

from __future__ import annotations

import argparse
import sys

from bot.commands.common import load_profile_json, open_db, read_accounts


def report(args: argparse.Namespace) -> int:
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
        imported = read_accounts(args.customers, template, args.mapping, args.opportunities)
        profile = load_profile_json(args.profile, template) if args.profile else None
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


def _fit_profile(args: argparse.Namespace):
    """(profile, template) for ``icp-bot fit``: the workspace's ratified ICP, a profile JSON, or
    the consensus of a spreadsheet of answers; None after saying why not."""
    from survey.template import TemplateError, resolve_template

    if args.team:
        from storage import icp, templates
        from storage.errors import NotFound
        from survey.profile import IcpProfile

        db = open_db()
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
        profile = load_profile_json(args.profile, template)
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


def fit(args: argparse.Namespace) -> int:
    from survey.prospect_fit import score_prospects, write_scored

    found = _fit_profile(args)
    if found is None:
        return 2
    profile, template = found
    imported = read_accounts(args.prospects, template, args.mapping, require_revenue=False)
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
