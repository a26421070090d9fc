"""``/icp-check`` subcommands about the ICP itself: ratify, fit, export.

``ratify [round]`` and ``fit`` open a form (submitted to ``leader_forms``); ``export [round]``
DMs the leader a CSV of the round's answers under per-round pseudonyms, in the layout
``icp-bot report --answers`` reads.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.listeners.subcommand import TRIGGER_HINT, Call, round_arg, trigger_of
from bot.views import profile_modals
from bot.views.text import escape
from survey.template import BUILTIN_TEMPLATES

log = logging.getLogger(__name__)



def _open(call: Call, view: View) -> None:
    try:
        call.client.views_open(trigger_id=trigger_of(call), view=view)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        log.warning("views.open failed for /icp-check: %s", error)
        call.reply(TRIGGER_HINT.get(error, f"Slack refused to open the form ({error})."))


def ratify(call: Call) -> None:
    from bot.services import ratification  # the ICP and customer stack: loaded on first use

    round_id = round_arg(call)
    trigger_of(call)
    try:
        form = ratification.ratify_form(call.runtime.db, call.team_id, round_id)
    except ratification.Unavailable as exc:
        call.reply(str(exc))
        return
    _open(call, profile_modals.ratify_view(
        form.template, form.profile, round_id=form.round_id, template_row_id=form.template_row_id,
        round_title=form.round_title, respondents=form.respondents, round_open=form.round_open,
        next_version=form.next_version, agreement=form.agreement, customer_hints=form.customer_hints))


def fit(call: Call) -> None:
    from bot.services import prospects

    trigger_of(call)
    try:
        form = prospects.fit_form(call.runtime.db, call.team_id)
    except prospects.Unavailable as exc:
        call.reply(str(exc))
        return
    _open(call, profile_modals.fit_view(form.profile, form.template, version=form.version,
                                        template_row_id=form.template_row_id))


def export(call: Call) -> None:
    from bot.services.export import ExportRefused, prepare_export  # the CSV stack: on first use

    round_id = round_arg(call)
    try:
        prepared = prepare_export(call.runtime.db, call.team_id, round_id)
    except ExportRefused as exc:
        call.reply(str(exc))
        return
    except ValueError as exc:  # a respondent id that is not a pseudonym: never sent
        log.error("export of round %s refused: %s", round_id, exc)
        call.reply("The export could not be built safely, so nothing was sent.")
        return
    how = (f"`icp-bot report --template {prepared.template_key} --answers {prepared.filename}`"
           if prepared.template_key in BUILTIN_TEMPLATES else
           f"`icp-bot report --template <the YAML of template {prepared.template_key} "
           f"v{prepared.template_version}> --answers {prepared.filename}`")
    comment = (f"Answers of *{escape(prepared.title)}* (round {prepared.round_id}): {prepared.respondents} "
               "respondents, each under a pseudonym used only in this round. Teams too small to stay "
               f"anonymous are left blank. Re-analyse it with {how}.")
    try:
        dm = call.client.conversations_open(users=call.command.user_id)["channel"]["id"]
        call.client.files_upload_v2(channel=dm, content=prepared.csv_text, filename=prepared.filename,
                                    title=f"ICP answers, round {prepared.round_id}", initial_comment=comment)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        log.warning("export of round %s could not be sent: %s", prepared.round_id, error)
        call.reply(f"I could not send the export to your DMs ({error}). Nothing was shared anywhere else.")
        return
    log.info("export of round %s (%s respondents) sent to a leader", prepared.round_id, prepared.respondents)
    call.reply(f"Sent to your DMs: the answers of round {prepared.round_id} ({prepared.respondents} respondents, "
               "pseudonymous).")
