"""Forms leaders submit: start a round, ratify the ICP, score a prospect (and score another).

Every submission is checked again for leadership (``leaders_only``): a payload can be
replayed or forged. Field errors go back into the modal by block id.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.guards import form_submission, leaders_only
from bot.middleware import Requester
from bot.payloads import BlockAction, ViewSubmission
from bot.runtime import Runtime
from bot.services import round_launch
from bot.services.home import publish_home
from bot.views import leader_modals, profile_modals, survey_modal
from bot.views.forms import FitMetadata, RatifyMetadata, read_metadata, read_row_id
from bot.views.notices import notice_view

log = logging.getLogger(__name__)

RATIFY_TITLE = "Ratify our ICP"
FIT_TITLE = "Score a prospect"
ERROR_LIMIT = 150


def _field_errors(errors: dict[str, str]) -> dict[str, str]:
    return {survey_modal.block_id(qid): str(msg)[:ERROR_LIMIT] for qid, msg in errors.items()}


@leaders_only("start a round", title="Start an ICP round")
@form_submission("Start an ICP round")
def start_submitted(ack: Ack, body: dict, view_submission: ViewSubmission, requester: Requester,
                    runtime: Runtime, client: WebClient) -> None:
    form = round_launch.read_start_form(view_submission.view.values)
    check = round_launch.check_start_form(runtime.db, requester.team_id, form, runtime.now())
    if check.errors:
        ack(response_action="errors", errors=check.errors)
        return
    ack()
    round_id = round_launch.launch_round(
        runtime.db, client, team_id=requester.team_id, leader=requester.user_id, form=form,
        closes_at=check.closes_at, min_group_size=check.min_group_size, now=runtime.now(),
        view_id=view_submission.view.id)
    if round_id is not None:
        runtime.outbox.kick()
        publish_home(runtime, client, requester.team_id, requester.user_id)


@leaders_only("ratify our ICP", title=RATIFY_TITLE)
@form_submission(RATIFY_TITLE)
def ratify_submitted(ack: Ack, body: dict, view_submission: ViewSubmission, requester: Requester,
                     runtime: Runtime, client: WebClient) -> None:
    from bot.services import ratification  # the ICP and customer stack: loaded on first use

    view = view_submission.view
    meta = read_metadata(RatifyMetadata, view.private_metadata)
    if meta is None:
        ack(response_action="update", view=notice_view(
            RATIFY_TITLE, "This form could not be read. Please run `/icp-check ratify` again."))
        return
    raw = survey_modal.question_values(view.values)
    if not raw:
        ack(response_action="update", view=notice_view(
            RATIFY_TITLE, "This form came back empty. Please run `/icp-check ratify` again."))
        return
    try:
        saved = ratification.ratify(runtime.db, requester.team_id, requester.user_id, view.id, meta, raw,
                                    now=runtime.now())
    except ratification.Unavailable as exc:
        ack(response_action="update", view=notice_view(RATIFY_TITLE, str(exc)))
        return
    if saved.errors:
        ack(response_action="errors", errors=_field_errors(saved.errors))
        return
    if saved.version is None or saved.profile is None or saved.template is None:
        ack(response_action="update", view=notice_view(
            RATIFY_TITLE, "This form was already saved. See `/icp-check profile`."))
        return
    ack(response_action="update", view=profile_modals.ratified_view(saved.profile, saved.template,
                                                                    version=saved.version, round_id=saved.round_id))
    publish_home(runtime, client, requester.team_id, requester.user_id)


@leaders_only("score prospects", title=FIT_TITLE)
@form_submission(FIT_TITLE)
def fit_submitted(ack: Ack, body: dict, view_submission: ViewSubmission, requester: Requester,
                  runtime: Runtime, client: WebClient) -> None:
    from bot.services import prospects

    view = view_submission.view
    meta = read_metadata(FitMetadata, view.private_metadata)
    if meta is None:
        ack(response_action="update", view=notice_view(
            FIT_TITLE, "This form could not be read. Please run `/icp-check fit` again."))
        return
    try:
        scored = prospects.score_prospect(runtime.db, requester.team_id, meta.version, meta.template,
                                          survey_modal.question_values(view.values))
    except prospects.Unavailable as exc:
        ack(response_action="update", view=notice_view(FIT_TITLE, str(exc)))
        return
    if scored.errors or scored.result is None:
        ack(response_action="errors", errors=_field_errors(scored.errors or {}))
        return
    name = profile_modals.prospect_name(view.values)
    ack(response_action="update", view=profile_modals.fit_result_view(scored.result, name, version=meta.version))


@leaders_only("score prospects", title=FIT_TITLE)
def fit_again(ack: Ack, body: dict, block_action: BlockAction, requester: Requester, runtime: Runtime,
              client: WebClient) -> None:
    """"Score another prospect" in the fit result: the form again, in the same modal."""
    from bot.services import prospects

    view_ref = block_action.view
    version = read_row_id(block_action.action.value)
    if view_ref is None or version is None:
        log.warning("refused a malformed fit-again click")
        return
    try:
        form = prospects.fit_form(runtime.db, requester.team_id, version)
        view = profile_modals.fit_view(form.profile, form.template, version=form.version,
                                       template_row_id=form.template_row_id)
    except prospects.Unavailable as exc:
        view = notice_view(FIT_TITLE, str(exc))
    try:
        client.views_update(view_id=view_ref.id, hash=view_ref.hash, view=view)
    except SlackApiError as exc:
        log.info("could not reopen the fit form: %s", exc.response.get("error"))


def register(app: App) -> None:
    app.view(leader_modals.START_CALLBACK)(start_submitted)
    app.view(profile_modals.RATIFY_CALLBACK)(ratify_submitted)
    app.view(profile_modals.FIT_CALLBACK)(fit_submitted)
    app.action(profile_modals.FIT_AGAIN)(fit_again)
