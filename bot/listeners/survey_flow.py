"""Staff answering a round: the invitation's buttons and the survey step modals.

Each step is saved the moment it is submitted, and closing a step ("Save & close", Slack's
``view_closed``) or leaving it through "Jump to" keeps the valid answers entered in it, so
closing the modal halfway loses nothing. "Start"/"Continue" opens the first step with a
required question unanswered, "Edit my answers" walks the steps with the stored answers
pre-filled, and "Jump to" opens any step. Field errors go back into the modal
(``response_action: errors``). A button or submission for a round the person is not in, a
closed round or another workspace's round changes nothing (``survey_steps.Refused``).
"""

from __future__ import annotations

import logging
from typing import Literal

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.guards import open_view
from bot.middleware import Requester
from bot.payloads import BlockAction, MalformedPayload, ViewClosed, ViewSubmission, parse
from bot.runtime import Runtime
from bot.services import delivery, survey_steps
from bot.services.home import publish_home_later
from bot.views import messages, survey_modal
from bot.views.forms import SurveyStepMetadata, read_metadata, read_row_id
from bot.views.notices import notice_view
from bot.views.text import date_token
from bot.working_hours import WorkingHours, next_working_morning, zone

log = logging.getLogger(__name__)

TITLE = "ICP survey"
UNREADABLE = "This form could not be read. Please start again from the invitation."
ERROR_LIMIT = 150


def _closes_text(step: survey_steps.Step) -> str | None:
    """The close date in each reader's own time zone (Slack's date token; UTC as fallback)."""
    if step.closes_at is None:
        return None
    return date_token(step.closes_at.timestamp(), step.closes_at.strftime("%a %d %b, %H:%M UTC"))


def _step_view(step: survey_steps.Step, mode: str) -> dict:
    # the cached dict form of survey_modal.section_view: a step's ack is the hot path
    return survey_modal.section_payload(step.template, step.section, round_id=step.round_id, answers=step.shown,
                                        mode=mode, closes_text=_closes_text(step))


def _open(mode: Literal["answer", "edit"], block_action: BlockAction, requester: Requester, runtime: Runtime,
          client: WebClient) -> None:
    round_id = read_row_id(block_action.action.value)
    if round_id is None or not block_action.trigger_id:
        log.warning("refused a malformed survey button")
        return
    try:
        step = survey_steps.open_step(runtime.db, requester.team_id, requester.user_id, round_id, mode=mode,
                                      now=runtime.now())
        view = _step_view(step, mode)
    except survey_steps.Refused as exc:
        view = notice_view(TITLE, str(exc))
    open_view(client, block_action.trigger_id, view, "a survey button")


def start_clicked(ack: Ack, block_action: BlockAction, requester: Requester, runtime: Runtime,
                  client: WebClient) -> None:
    ack()
    _open("answer", block_action, requester, runtime, client)


def edit_clicked(ack: Ack, block_action: BlockAction, requester: Requester, runtime: Runtime,
                 client: WebClient) -> None:
    ack()
    _open("edit", block_action, requester, runtime, client)


def snooze_clicked(ack: Ack, block_action: BlockAction, requester: Requester, runtime: Runtime,
                   client: WebClient) -> None:
    """"Remind me later": one personal reminder on the person's next working morning, and the
    invitation says so. Only the person's own invitation is updated, whatever the payload
    points at."""
    ack()
    round_id = read_row_id(block_action.action.value)
    if round_id is None:
        return
    now = runtime.now()
    try:
        step = survey_steps.open_step(runtime.db, requester.team_id, requester.user_id, round_id, mode="answer",
                                      now=now)
    except survey_steps.Refused:
        return
    settings = requester.workspace
    hours = WorkingHours.parse(settings.working_hours) if settings.working_hours else WorkingHours()
    due = next_working_morning(now, zone(step.time_zone, settings.timezone), hours)
    planned = step.closes_at is None or due < step.closes_at
    if planned:
        survey_steps.remind_me_later(runtime.db, requester.team_id, requester.user_id, step, due_at=due, now=now)
    if step.invitation is None:
        return
    channel, ts = step.invitation
    text, blocks = messages.snoozed_blocks(round_id, step.title, step.template.minutes, step.closes_at,
                                           reminders=planned, at=due if planned else None)
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def step_submitted(ack: Ack, view_submission: ViewSubmission, requester: Requester, runtime: Runtime,
                   client: WebClient) -> None:
    view = view_submission.view
    meta = read_metadata(SurveyStepMetadata, view.private_metadata)
    if meta is None:
        ack(response_action="update", view=notice_view(TITLE, UNREADABLE))
        return
    raw = survey_modal.question_values(view.values)
    try:
        result = survey_steps.record_step(runtime.db, requester.team_id, requester.user_id, meta.round,
                                          meta.section, raw, now=runtime.now())
    except survey_steps.Refused as exc:
        ack(response_action="update", view=notice_view(TITLE, str(exc)))
        return
    except survey_steps.Busy as exc:  # the form stays open with what the person entered
        ack(response_action="errors", errors={survey_modal.block_id(exc.question_id): str(exc)[:ERROR_LIMIT]})
        return
    if result.outcome == "errors":
        errors = {survey_modal.block_id(qid): msg[:ERROR_LIMIT] for qid, msg in result.errors.items()}
        if not errors:  # values for blocks this step does not have: a forged submission
            log.warning("refused survey submission with unknown fields from %s", requester.user_id)
            errors = {survey_modal.block_id(result.first_question): "This form is out of date; please reopen it."}
        ack(response_action="errors", errors=errors)
        return
    assert result.next is not None
    if result.outcome == "next":
        ack(response_action="update", view=_step_view(result.next, meta.mode))
        return
    ack(response_action="update", view=survey_modal.done_view(result.next.template, _closes_text(result.next)))
    if not result.completed_now:
        # An edit of finished answers: the receipt and App Home already say "done", and the
        # leaders' counts did not move, so nothing the person sees changes.
        return
    if result.invitation is not None:  # the receipt goes through the outbox (retried, once), queued
        channel, ts = result.invitation  # on the after-ack worker: a step's listener ends at its ack
        team_id, user_id, round_id = requester.team_id, requester.user_id, meta.round
        runtime.after_ack.submit(("receipt", channel, ts),
                                 lambda: _queue_receipt(runtime, team_id, round_id, user_id, channel, ts))
    publish_home_later(runtime, client, requester.team_id, requester.user_id)


def _queue_receipt(runtime: Runtime, team_id: str, round_id: int, user_id: str, channel: str, ts: str) -> None:
    if delivery.queue_receipt(runtime.db, team_id, round_id, user_id, channel, ts, now=runtime.now()):
        runtime.outbox.kick()


def _mark_started(client: WebClient, kept: survey_steps.Kept, round_id: int) -> None:
    """The invitation of someone who closed a step says their answers are kept ("Continue")."""
    if kept.invitation is None or kept.completed:
        return
    step = kept.at
    resume = survey_steps.first_open_section(step.template, step.shown)
    text, blocks = messages.kept_blocks(round_id, step.title, survey_modal.minutes_left(step.template, resume, step.shown),
                                        step.closes_at)
    channel, ts = kept.invitation
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.info("could not update the invitation after a closed step: %s", exc.response.get("error"))


def step_closed(ack: Ack, body: dict, context: BoltContext, runtime: Runtime, client: WebClient) -> None:
    """"Save & close" (or the modal's X): keep the valid answers entered in that step.

    Saved before the ack (one short write), so that Slack's request ends with the answers
    stored; the invitation and App Home are refreshed after it."""
    try:
        kept, user_id, team_id, round_id = _keep_closed(body, context, runtime)
    finally:
        ack()
    if kept is not None and kept.saved:
        _mark_started(client, kept, round_id)
        publish_home_later(runtime, client, team_id, user_id)


def _keep_closed(body: dict, context: BoltContext,
                 runtime: Runtime) -> tuple[survey_steps.Kept | None, str, str | None, int]:
    try:
        closed = parse(ViewClosed, body)
    except MalformedPayload as exc:
        log.warning("refused a malformed view_closed payload: %s", exc)
        return None, "", None, 0
    meta = read_metadata(SurveyStepMetadata, closed.view.private_metadata)
    team_id = closed.team_id or context.team_id
    if meta is None:
        return None, closed.user.id, team_id, 0
    raw = survey_modal.question_values(closed.view.values)
    try:
        kept = survey_steps.save_entered(runtime.db, team_id, closed.user.id, meta.round, meta.section, raw,
                                         now=runtime.now())
    except survey_steps.Refused as exc:
        log.info("did not keep a closed step: %s", exc)
        return None, closed.user.id, team_id, meta.round
    if kept.dropped:
        log.info("a closed step dropped %d invalid answers", len(kept.dropped))
    return kept, closed.user.id, team_id, meta.round


def jump_selected(ack: Ack, block_action: BlockAction, requester: Requester, runtime: Runtime,
                  client: WebClient) -> None:
    """"Jump to another step": keep what was entered here, then show the chosen step."""
    ack()
    view = block_action.view
    option = block_action.action.selected_option
    meta = read_metadata(SurveyStepMetadata, view.private_metadata) if view is not None else None
    value = option.value if option is not None else ""
    target = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else None
    if view is None or meta is None or target is None:
        log.warning("refused a malformed jump from %s", requester.user_id)
        return
    raw = survey_modal.question_values(view.values)
    try:
        kept = survey_steps.save_entered(runtime.db, requester.team_id, requester.user_id, meta.round,
                                         meta.section, raw, now=runtime.now(), jump_to=target)
        assert kept.next is not None
        new_view = _step_view(kept.next, meta.mode)
    except survey_steps.Refused as exc:
        new_view = notice_view(TITLE, str(exc))
    try:
        client.views_update(view_id=view.id, hash=view.hash, view=new_view)
    except SlackApiError as exc:  # the person submitted or closed meanwhile: nothing to show
        log.info("could not jump to another step: %s", exc.response.get("error"))


def register(app: App) -> None:
    app.action(messages.START)(start_clicked)
    app.action(messages.EDIT)(edit_clicked)
    app.action(messages.SNOOZE)(snooze_clicked)
    app.action(survey_modal.JUMP)(jump_selected)
    app.view(survey_modal.CALLBACK_ID)(step_submitted)
    app.view_closed(survey_modal.CALLBACK_ID)(step_closed)
