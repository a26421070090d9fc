"""Staff answering a round: the invitation's buttons and the section modals.

Each section is saved the moment it is submitted, so closing the modal halfway loses
nothing; "Continue" reopens at the first section with a required question unanswered,
"Edit my answers" walks the sections with the stored answers pre-filled. Field errors go
back into the modal (``response_action: errors``). A button or submission for a round the
person is not in, a closed round or another workspace's round changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.deps import Deps
from bot.payloads import BlockAction, MalformedPayload, ViewSubmission, parse
from bot.views import messages, survey_modal
from bot.views.text import date_token, mrkdwn, plain
from storage import answers as answer_store
from storage import rounds, templates
from storage.errors import RoundClosed
from survey.answers import (
    AnswerError,
    AnswersInvalid,
    missing_required,
    parse_answer,
    validate_answers,
)
from survey.template import Template

log = logging.getLogger(__name__)


def notice_view(title: str, text: str) -> View:
    return View(type="modal", callback_id="notice", title=plain(title, 24), close=plain("Close", 24),
                blocks=[SectionBlock(text=mrkdwn(text))])


def _closes_text(rnd) -> str | None:
    """The close date in each reader's own time zone (Slack's date token; UTC as fallback)."""
    if rnd.closes_at is None:
        return None
    return date_token(rnd.closes_at.timestamp(), rnd.closes_at.strftime("%a %d %b, %H:%M UTC"))


class Refused(Exception):
    """The person may not answer this round; the message says why, politely."""


def _load(deps: Deps, team_id: str | None, user_id: str, round_id: int):
    """The round, its template and the person's stored answers, or Refused."""
    with deps.db.session() as session:
        rnd = rounds.get_round(session, round_id)
        if rnd is None:
            raise Refused("That survey round does not exist any more.")
        participant = rounds.get_participant(session, round_id, user_id)
        if rnd.team_id != team_id or participant is None:
            log.warning("refused survey access: user %s, round %s, team %s", user_id, round_id, team_id)
            raise Refused("You are not part of this survey round.")
        if rnd.is_open and rnd.closes_at is not None and rnd.closes_at <= deps.now():
            # Past its close date: close it now, so no answer slips in before the scheduler does.
            rounds.close_round(session, rnd.id, at=rnd.closes_at)
        if not rnd.is_open:
            raise Refused("This survey round is closed: answers can no longer be changed.")
        template = templates.get_template(session, rnd.template_id)
        stored = answer_store.answers_of(session, round_id, user_id)
    return rnd, participant, template, stored


def assigned_team_answer(template: Template, team: str | None) -> dict[str, str]:
    """The team question pre-filled with the team the round assigned (a user group whose
    handle names one of its options), so that people need not say what the round knows."""
    question = template.team_question
    if question is None or not team:
        return {}
    try:
        return {question.id: parse_answer(question, team)}
    except AnswerError:
        return {}


def first_open_section(template: Template, stored: dict[str, Any]) -> int:
    missing = set(missing_required(template, stored))
    for index, section in enumerate(template.sections):
        if any(q.id in missing for q in section.questions):
            return index
    return 0


def register(app: App, deps: Deps) -> None:
    def open_survey(ack: Ack, body: dict, client: WebClient, mode: str) -> None:
        ack()
        try:
            action = parse(BlockAction, body)
            round_id = int(action.action.value or "")
        except (MalformedPayload, ValueError):
            log.warning("malformed survey button payload")
            return
        if not action.trigger_id:
            return
        try:
            rnd, participant, template, stored = _load(deps, action.team_id, action.user.id, round_id)
        except Refused as exc:
            client.views_open(trigger_id=action.trigger_id, view=notice_view("ICP survey", str(exc)))
            return
        section = 0 if mode == "edit" else first_open_section(template, stored)
        shown = {**assigned_team_answer(template, participant.team), **stored}
        view = survey_modal.section_view(template, section, round_id=round_id, answers=shown, mode=mode,
                                         closes_text=_closes_text(rnd))
        client.views_open(trigger_id=action.trigger_id, view=view)

    @app.action(messages.START)
    def start(ack: Ack, body: dict, client: WebClient) -> None:
        open_survey(ack, body, client, "answer")

    @app.action(messages.EDIT)
    def edit(ack: Ack, body: dict, client: WebClient) -> None:
        open_survey(ack, body, client, "edit")

    @app.action(messages.SNOOZE)
    def snooze(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        try:
            action = parse(BlockAction, body)
            round_id = int(action.action.value or "")
            rnd, participant, template, _stored = _load(deps, action.team_id, action.user.id, round_id)
        except (MalformedPayload, ValueError, Refused):
            return
        if action.container and action.container.channel_id and action.container.message_ts:
            text, blocks = messages.snoozed_blocks(round_id, rnd.title, template.minutes, rnd.closes_at,
                                                   reminders=participant.reminders_sent < rnd.max_reminders)
            client.chat_update(channel=action.container.channel_id, ts=action.container.message_ts,
                               text=text, blocks=blocks)

    @app.view(survey_modal.CALLBACK_ID)
    def submit_section(ack: Ack, body: dict, client: WebClient) -> None:
        try:
            submission = parse(ViewSubmission, body)
        except MalformedPayload:
            ack()
            return
        meta = survey_modal.metadata(submission.view.model_dump())
        if not meta:
            ack(response_action="update", view=notice_view("ICP survey", "This form could not be read. "
                                                           "Please start again from the invitation."))
            return
        round_id, index, mode = meta["round"], meta["section"], meta.get("mode", "answer")
        user_id = submission.user.id
        try:
            rnd, participant, template, stored = _load(deps, submission.team_id, user_id, round_id)
        except Refused as exc:
            ack(response_action="update", view=notice_view("ICP survey", str(exc)))
            return
        if not 0 <= index < len(template.sections):
            ack(response_action="update", view=notice_view("ICP survey", "This form is out of date. "
                                                           "Please start again from the invitation."))
            return
        section = template.sections[index]
        raw = survey_modal.state_to_raw(submission.view.values)
        try:
            values = validate_answers(template, raw, questions=section.questions)
        except AnswersInvalid as exc:
            errors = {survey_modal.block_id(qid): msg[:150] for qid, msg in exc.errors.items()
                      if template.has_question(qid) and any(q.id == qid for q in section.questions)}
            if not errors:  # values for blocks this section does not have: a forged submission
                log.warning("refused survey submission with unknown fields from %s", user_id)
                errors = {survey_modal.block_id(section.questions[0].id): "This form is out of date; please reopen it."}
            ack(response_action="errors", errors=errors)
            return
        cleared = [q.id for q in section.questions if q.id not in values]
        try:
            with deps.db.session() as session:
                answer_store.save_answers(session, round_id, user_id, {**dict.fromkeys(cleared), **values})
                stored = answer_store.answers_of(session, round_id, user_id)
        except RoundClosed:
            ack(response_action="update", view=notice_view("ICP survey", "This round closed while you were "
                                                           "answering; your last step was not saved."))
            return
        missing = missing_required(template, stored)
        shown = {**assigned_team_answer(template, participant.team), **stored}
        next_index = index + 1
        if next_index < len(template.sections):
            ack(response_action="update", view=survey_modal.section_view(
                template, next_index, round_id=round_id, answers=shown, mode=mode, closes_text=_closes_text(rnd)))
            return
        if missing:
            ack(response_action="update", view=survey_modal.section_view(
                template, first_open_section(template, stored), round_id=round_id, answers=shown, mode=mode,
                closes_text=_closes_text(rnd)))
            return
        ack(response_action="update", view=survey_modal.done_view(template, _closes_text(rnd)))
        with deps.db.session() as session:
            rounds.mark_completed(session, round_id, user_id)
        if participant.dm_channel and participant.invite_ts:
            text, blocks = messages.receipt_blocks(round_id, rnd.title, rnd.closes_at)
            try:
                client.chat_update(channel=participant.dm_channel, ts=participant.invite_ts, text=text, blocks=blocks)
            except SlackApiError as exc:
                log.info("could not turn the invitation into a receipt: %s", exc.response.get("error"))
        deps.on_change(client, submission.team_id, user_id)
