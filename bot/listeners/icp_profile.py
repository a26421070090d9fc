"""The ratified ICP for leaders: ``/icp-check ratify``, ``fit`` and ``export``.

- ``ratify [round]`` opens a form with the round's consensus profile, one pre-filled input per
  trait; the leader edits and saves it as the next ICP version (callback ``icp_ratify``).
- ``fit`` opens a form to describe a prospect (callback ``icp_fit``); the result view scores
  it against the current ICP and offers "Score another prospect" (action ``icp_fit_again``).
- ``export [round]`` DMs the leader a CSV of the round's answers under per-round pseudonyms,
  in the layout ``icp-bot report --answers`` reads (``bot/services/export.py``).

The dispatcher in ``commands`` checks leadership for the commands; form submissions and
buttons are checked again here because a payload can be replayed or forged. Submissions are
parsed with ``bot.payloads``; every handler acks exactly once, and a fault of ours becomes a
polite notice in the modal rather than Slack's "trouble connecting" error.

Ratifying is exactly-once per form: the save is claimed in the sent-messages log under
``ratify:<view id>`` in the same unit of work as the new version, so a replayed submission of
the same form never creates a second version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.listeners.commands import Call, UsageError, round_arg, subcommand
from bot.payloads import BlockAction, MalformedPayload, ViewSubmission, parse
from bot.services import access
from bot.services.export import ExportRefused, prepare_export
from bot.services.profiles import load_icp
from bot.services.reporting import round_report
from bot.views import profile_modals, survey_modal
from bot.views.text import escape
from storage import icp, rounds, templates
from storage import messages as sent_log
from storage.templates import StoredTemplate
from survey.answers import AnswersInvalid
from survey.profile import IcpProfile, ProfileTrait, edit_profile, score_fit
from survey.template import BUILTIN_TEMPLATES, QuestionKind, Template

log = logging.getLogger(__name__)

RATIFY_TITLE = "Ratify our ICP"
FIT_TITLE = "Score a prospect"
ERROR_LIMIT = 150
TRIGGER_HINT = {"expired_trigger_id": "Slack's form trigger expired; please run the command again.",
                "invalid_trigger_id": "Slack's form trigger expired; please run the command again."}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _field_errors(errors: dict[str, str], shown: set[str]) -> dict[str, str]:
    return {survey_modal.block_id(qid): str(msg)[:ERROR_LIMIT] for qid, msg in errors.items() if qid in shown}


# -- /icp-check ratify -----------------------------------------------------------------------


@subcommand("ratify")
def _ratify(call: Call) -> None:
    round_id = round_arg(call)
    if not call.command.trigger_id:
        raise UsageError("Slack sent no trigger to open the form; try again")
    result = round_report(call.db, call.team_id, round_id, bootstrap=0)
    if result is None:
        call.reply("There is no such survey round yet. Start one with `/icp-check start`.")
        return
    report, rnd = result.report, result.round
    if report.hidden:
        call.reply(f"Round {rnd.id} has answers from {report.respondents} people, and figures are only shown "
                   f"for {report.min_group_size} or more, so there is no consensus to ratify yet. "
                   "Remind people with `/icp-check remind`, or ratify an earlier round with `/icp-check ratify <round>`.")
        return
    profile = report.profile or IcpProfile(template_id=result.template.id)
    with call.db.session(read_only=True) as session:
        current = icp.current_icp(session, call.team_id)
    view = profile_modals.ratify_view(
        result.template, profile, round_id=rnd.id, template_row_id=rnd.template_id, round_title=rnd.title,
        respondents=report.respondents, round_open=rnd.is_open, next_version=(current.version + 1) if current else 1)
    _open(call, view)


def _open(call: Call, view) -> None:
    try:
        call.client.views_open(trigger_id=call.command.trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        log.warning("views.open failed for /icp-check: %s", error)
        call.reply(TRIGGER_HINT.get(error, f"Slack refused to open the form ({error})."))


def _ratify_submission(deps: Deps, client: WebClient, submission: ViewSubmission, ack: Callable[..., None]) -> None:
    meta = profile_modals.parse_ratify_metadata(submission.view.private_metadata)
    if meta is None:
        ack(response_action="update", view=profile_modals.notice_view(
            RATIFY_TITLE, "This form could not be read. Please run `/icp-check ratify` again."))
        return
    team_id, user_id = submission.team_id or "", submission.user.id
    if not team_id or not access.is_leader(deps.db, client, team_id, user_id):
        log.warning("refused an ICP ratification from non-leader %s", user_id)
        ack(response_action="update", view=profile_modals.notice_view(
            RATIFY_TITLE, "Only ICP Align leaders can ratify our ICP. Nothing was saved."))
        return
    with deps.db.session(read_only=True) as session:
        rnd = rounds.get_round(session, meta["round"])
        stored = None
        if rnd is not None and rnd.team_id == team_id and rnd.template_id == meta["template"]:
            stored = templates.get_stored_template(session, rnd.template_id)
    if stored is None:
        ack(response_action="update", view=profile_modals.notice_view(
            RATIFY_TITLE, "That survey round is not available any more. Nothing was saved."))
        return
    template = stored.template
    shown = profile_modals.ratify_questions(template)
    values = submission.view.values
    if not any(survey_modal.block_id(q.id) in values for q in shown):
        ack(response_action="update", view=profile_modals.notice_view(
            RATIFY_TITLE, "This form came back empty. Please run `/icp-check ratify` again."))
        return
    raw = survey_modal.state_to_raw(values)
    # Slack sends every input block; one missing from the payload counts as left blank.
    edits = {q.id: raw.get(q.id) for q in shown}
    base = _ratify_base(deps, team_id, meta, template, {q.id for q in shown})
    try:
        profile = edit_profile(base, template, edits)
    except AnswersInvalid as exc:
        errors = _field_errors(exc.errors, set(edits)) or {
            survey_modal.block_id(shown[0].id): "This form is out of date; please run the command again."}
        ack(response_action="errors", errors=errors)
        return
    if not profile.traits and not profile.disqualifiers:
        ack(response_action="errors", errors={
            survey_modal.block_id(shown[0].id): "Keep at least one trait: an empty ICP cannot score anyone."})
        return
    profile = profile.model_copy(update={"source_round_id": rnd.id, "ratified_by": user_id})
    key = f"ratify:{submission.view.id}"
    now = deps.now()
    with deps.db.session() as session:
        if not sent_log.claim(session, key, kind="ratify", team_id=team_id, target=user_id):
            version = None
        else:
            version = icp.ratify(session, team_id, profile.model_dump(mode="json", exclude={"version", "ratified_at"}),
                                 source_round_id=rnd.id, ratified_by=user_id, at=now)
            sent_log.mark_sent(session, key, channel=None, ts=None)
    if version is None:
        ack(response_action="update", view=profile_modals.notice_view(
            RATIFY_TITLE, "This form was already saved. See `/icp-check profile`."))
        return
    log.info("ICP version %s ratified for %s from round %s", version, team_id, rnd.id)
    shown_profile = profile.model_copy(update={"version": version, "ratified_at": now})
    ack(response_action="update", view=profile_modals.ratified_view(shown_profile, template, version=version,
                                                                    round_id=rnd.id))
    deps.on_change(client, team_id, user_id)


def _ratify_base(deps: Deps, team_id: str, meta: dict[str, Any], template: Template, shown: set[str]) -> IcpProfile:
    """What the leader's edits apply to: the number traits as shown (their ranges travel in
    the form's metadata) and, for a template too big for one form, the consensus of the
    traits that were not shown."""
    traits: list[ProfileTrait] = []
    for qid, (value, low, high) in meta["ranges"].items():
        if qid not in shown or not template.has_question(qid):
            continue
        question = template.question(qid)
        if question.kind != QuestionKind.NUMBER:
            continue
        traits.append(ProfileTrait(question_id=qid, kind=question.kind, prompt=question.prompt, value=value,
                                   low=low, high=high, weight=question.weight))
    base = IcpProfile(template_id=template.id, traits=traits)
    if len(profile_modals.trait_questions(template)) > len(shown):
        result = round_report(deps.db, team_id, meta["round"], bootstrap=0)
        if result is not None and result.report.profile is not None:
            consensus = result.report.profile
            extra = [t for t in consensus.traits if t.question_id not in shown]
            base = base.model_copy(update={"traits": traits + extra})
            if consensus.disqualifier_question and consensus.disqualifier_question not in shown:
                base = base.model_copy(update={"disqualifier_question": consensus.disqualifier_question,
                                               "disqualifiers": consensus.disqualifiers})
    return base


# -- /icp-check fit --------------------------------------------------------------------------


NO_ICP = ("No ICP has been ratified yet, so there is nothing to score a prospect against. "
          "A leader must ratify one first: run `/icp-check ratify` after a survey round.")


def _fit_form(profile: IcpProfile, stored: StoredTemplate):
    """The fit form, or the reason there is none."""
    if not profile_modals.fit_questions(profile, stored.template):
        return None, (f"Our ICP (version {profile.version}) has no traits to score a prospect against. "
                      "Ratify a new version with `/icp-check ratify`.")
    return profile_modals.fit_view(profile, stored.template, version=profile.version or 0,
                                   template_row_id=stored.id), None


@subcommand("fit")
def _fit(call: Call) -> None:
    if not call.command.trigger_id:
        raise UsageError("Slack sent no trigger to open the form; try again")
    with call.db.session() as session:  # not read-only: a built-in template may be stored on first use
        loaded = load_icp(session, call.team_id)
    if loaded is None:
        call.reply(NO_ICP)
        return
    view, reason = _fit_form(*loaded)
    if view is None:
        call.reply(reason or NO_ICP)
        return
    _open(call, view)


def _fit_submission(deps: Deps, client: WebClient, submission: ViewSubmission, ack: Callable[..., None]) -> None:
    meta = profile_modals.parse_fit_metadata(submission.view.private_metadata)
    if meta is None:
        ack(response_action="update", view=profile_modals.notice_view(
            FIT_TITLE, "This form could not be read. Please run `/icp-check fit` again."))
        return
    team_id, user_id = submission.team_id or "", submission.user.id
    if not team_id or not access.is_leader(deps.db, client, team_id, user_id):
        log.warning("refused a fit score from non-leader %s", user_id)
        ack(response_action="update", view=profile_modals.notice_view(
            FIT_TITLE, "Only ICP Align leaders can score prospects."))
        return
    with deps.db.session() as session:
        loaded = load_icp(session, team_id, meta["version"])
    if loaded is None or loaded[1].id != meta["template"]:
        ack(response_action="update", view=profile_modals.notice_view(
            FIT_TITLE, "That version of our ICP is not available. Please run `/icp-check fit` again."))
        return
    profile, stored = loaded
    template = stored.template
    questions = profile_modals.fit_questions(profile, template)
    raw = survey_modal.state_to_raw(submission.view.values)
    prospect = {q.id: raw[q.id] for q in questions if q.id in raw}
    if not questions or all(_blank(v) for v in prospect.values()):
        target = survey_modal.block_id(questions[0].id) if questions else profile_modals.PROSPECT_BLOCK
        ack(response_action="errors", errors={target: "Describe at least one trait of the prospect."})
        return
    try:
        result = score_fit(profile, template, prospect)
    except AnswersInvalid as exc:
        errors = _field_errors(exc.errors, set(prospect)) or {
            survey_modal.block_id(questions[0].id): "This form is out of date; please run the command again."}
        ack(response_action="errors", errors=errors)
        return
    name = profile_modals.prospect_name(submission.view.values)
    ack(response_action="update", view=profile_modals.fit_result_view(result, name, version=meta["version"]))


# -- /icp-check export -----------------------------------------------------------------------


@subcommand("export")
def _export(call: Call) -> None:
    round_id = round_arg(call)
    try:
        export = prepare_export(call.db, call.team_id, round_id)
    except ExportRefused as exc:
        call.reply(str(exc))
        return
    except ValueError as exc:  # a respondent id that is not a pseudonym: never sent
        log.error("export of round %s refused: %s", round_id, exc)
        call.reply("The export could not be built safely, so nothing was sent.")
        return
    how = (f"`icp-bot report --template {export.template_key} --answers {export.filename}`"
           if export.template_key in BUILTIN_TEMPLATES else
           f"`icp-bot report --template <the YAML of template {export.template_key} v{export.template_version}> "
           f"--answers {export.filename}`")
    comment = (f"Answers of *{escape(export.title)}* (round {export.round_id}): {export.respondents} respondents, "
               "each under a pseudonym used only in this round. Teams too small to stay anonymous are left blank. "
               f"Re-analyse it with {how}.")
    try:
        dm = call.client.conversations_open(users=call.command.user_id)["channel"]["id"]
        call.client.files_upload_v2(channel=dm, content=export.csv_text, filename=export.filename,
                                    title=f"ICP answers, round {export.round_id}", initial_comment=comment)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        log.warning("export of round %s could not be sent: %s", export.round_id, error)
        call.reply(f"I could not send the export to your DMs ({error}). Nothing was shared anywhere else.")
        return
    log.info("export of round %s (%s respondents) sent to a leader", export.round_id, export.respondents)
    call.reply(f"Sent to your DMs: the answers of round {export.round_id} ({export.respondents} respondents, "
               "pseudonymous).")


# -- listeners -------------------------------------------------------------------------------


def _once(ack: Ack) -> tuple[Callable[..., None], Callable[[], bool]]:
    state = {"acked": False}

    def ack_once(**kwargs: Any) -> None:
        if not state["acked"]:
            state["acked"] = True
            ack(**kwargs)

    return ack_once, lambda: state["acked"]


def register(app: App, deps: Deps) -> None:
    def submitted(title: str, handle: Callable[[Deps, WebClient, ViewSubmission, Callable[..., None]], None]):
        def listener(ack: Ack, body: dict, client: WebClient) -> None:
            ack_once, acked = _once(ack)
            try:
                submission = parse(ViewSubmission, body)
            except MalformedPayload as exc:
                log.warning("malformed %s submission: %s", title, exc)
                ack_once()
                return
            try:
                handle(deps, client, submission, ack_once)
            except Exception:
                log.exception("the %s form failed", title)
                if not acked():
                    ack_once(response_action="update", view=profile_modals.notice_view(
                        title, "Something went wrong on our side and nothing was saved. Please try again."))
        return listener

    app.view(profile_modals.RATIFY_CALLBACK)(submitted(RATIFY_TITLE, _ratify_submission))
    app.view(profile_modals.FIT_CALLBACK)(submitted(FIT_TITLE, _fit_submission))

    @app.action(profile_modals.FIT_AGAIN)
    def fit_again(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        try:
            action = parse(BlockAction, body)
            version = int(action.action.value or "")
        except (MalformedPayload, ValueError):
            log.warning("malformed fit-again click")
            return
        if action.view is None or not action.team_id:
            return
        try:
            if not access.is_leader(deps.db, client, action.team_id, action.user.id):
                log.warning("refused a fit-again click from non-leader %s", action.user.id)
                view = profile_modals.notice_view(FIT_TITLE, "Only ICP Align leaders can score prospects.")
            else:
                with deps.db.session() as session:
                    loaded = load_icp(session, action.team_id, version)
                view, reason = _fit_form(*loaded) if loaded else (None, NO_ICP)
                if view is None:
                    view = profile_modals.notice_view(FIT_TITLE, reason or NO_ICP)
            client.views_update(view_id=action.view.id, hash=action.view.hash, view=view)
        except SlackApiError as exc:
            log.info("could not reopen the fit form: %s", exc.response.get("error"))
        except Exception:
            log.exception("the fit-again button failed")
