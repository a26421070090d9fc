"""StrategyCheck pulses between full rounds: one question, one click, the team's answer after.

A pulse is a round of kind ``pulse`` that asks one question of the last closed full round's
template (its ``audience`` records which: ``{"pulse_of": <round>, "question": <id>}``) of the
people that round asked, open ``OPEN_DAYS`` days. Its DMs go in the outbox, each due in the
person's working hours (or now, for ``/icp-check pulse now``). Pulses are off until a leader
sets a cadence; the scheduler's run then starts one when the last is ``pulse_every_days`` old.
The answers are ordinary answers of the pulse round, so its report and the trend read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.reporting import report_inputs, round_report
from bot.views import pulse_messages
from bot.working_hours import WorkingHours, next_working_moment, zone
from storage import answers, outbox, rounds, send_log, templates, workspaces
from storage.db import Database
from storage.errors import NotParticipant, RoundClosed
from survey.answers import AnswerError, parse_answer

OPEN_DAYS = 3


class NoPulse(Exception):
    """No pulse now; the message says why."""


@dataclass(frozen=True)
class Started:
    round_id: int
    prompt: str
    people: int


def last_pulse(db: Database, team_id: str):
    with db.session(read_only=True) as session:
        listed = rounds.list_rounds(session, team_id, kind="pulse", limit=1)
    return listed[0] if listed else None


def next_pulse_at(db: Database, team_id: str, now: datetime) -> datetime | None:
    with db.session(read_only=True) as session:
        every = workspaces.settings_of(session, team_id).pulse_every_days
    if every is None:
        return None
    last = last_pulse(db, team_id)
    return now if last is None else max(now, last.opened_at + timedelta(days=every))


def start_pulse(db: Database, team_id: str, now: datetime, *, immediate: bool, started_by: str | None) -> Started:
    """Open a pulse on the last round's biggest split and enqueue its DMs. Raises NoPulse."""
    from survey.pulse import one_click_options, pick_topic  # numpy and scipy: not at start-up

    with db.session(read_only=True) as session:
        settings = workspaces.settings_of(session, team_id)
        source = rounds.latest_round(session, team_id, status="closed")
        open_pulse = rounds.open_round_for(session, team_id, kind="pulse")
    if open_pulse is not None:
        raise NoPulse(f"A StrategyCheck is open already (round {open_pulse.id}).")
    if source is None:
        raise NoPulse("A StrategyCheck asks about the last closed round's biggest split; no round has closed yet.")
    result = round_report(db, team_id, source.id, bootstrap=0)
    topic = pick_topic(result.report, result.template) if result else None
    if result is None or topic is None:
        raise NoPulse(f"Round {source.id} has no split to ask about again: every trait shown was agreed on.")
    options = one_click_options(result.template, topic.question_id)
    hours = WorkingHours.parse(settings.working_hours) if settings.working_hours and not immediate else None
    with db.session() as session:
        people = [(p.user_id, p.team, p.tz) for p in rounds.list_participants(session, source.id)]
        title = f"StrategyCheck: {topic.prompt}"[:100]
        pulse = rounds.create_round(session, team_id, source.template_id, title=title, kind="pulse",
                                    created_by=started_by, closes_at=now + timedelta(days=OPEN_DAYS),
                                    audience={"pulse_of": source.id, "question": topic.question_id},
                                    max_reminders=0, opened_at=now)
        rounds.add_participants(session, pulse.id, [(u, team) for u, team, _ in people],
                                time_zones={u: tz for u, _, tz in people})
        text, blocks = pulse_messages.pulse_blocks(pulse.id, topic.prompt, topic.teams, options)
        rendered = [block.to_dict() for block in blocks]
        for user_id, _team, tz in people:
            due = next_working_moment(now, zone(tz, settings.timezone), hours) if hours else now
            outbox.enqueue(session, key=f"{team_id}:pulse:{user_id}:round-{pulse.id}", team_id=team_id,
                           kind="pulse", method="chat.postMessage", target=user_id, round_id=pulse.id,
                           notify_user=started_by, due_at=due, at=now,
                           payload={"args": {"channel": user_id, "text": text, "blocks": rendered},
                                    "user_id": user_id})
        return Started(round_id=pulse.id, prompt=topic.prompt, people=len(people))


def start_due_pulses(db: Database, now: datetime) -> list[int]:
    """The scheduler's part: a pulse for each workspace whose cadence says one is due. A source
    round with no split to ask about is remembered, so it is not looked at again every run."""
    with db.session(read_only=True) as session:
        teams = [w.team_id for w in workspaces.list_workspaces(session) if w.pulse_every_days]
    started = []
    for team_id in teams:
        due = next_pulse_at(db, team_id, now)
        if due is None or due > now:
            continue
        with db.session(read_only=True) as session:
            source = rounds.latest_round(session, team_id, status="closed")
            if source is None or rounds.open_round_for(session, team_id, kind="pulse") is not None \
                    or send_log.get(session, f"pulse-none:{source.id}") is not None:
                continue
        try:
            started.append(start_pulse(db, team_id, now, immediate=False, started_by=None).round_id)
        except NoPulse:
            with db.session() as session:
                send_log.claim(session, f"pulse-none:{source.id}", kind="pulse-none", team_id=team_id,
                               target=str(source.id), at=now)
    return started


@dataclass(frozen=True)
class Answered:
    prompt: str
    chosen: str
    shares: list[tuple[str, float]] | None
    min_group_size: int
    invitation: tuple[str, str] | None
    round_id: int
    options: list[tuple[str, str]]
    teams: tuple[str, ...] = ()


def record_answer(db: Database, team_id: str, user_id: str, round_id: int, value: str, now: datetime) -> Answered:
    """Save a one-click answer (answer and completion in one transaction). Raises NoPulse."""
    from survey.pulse import feedback, one_click_options

    with db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id)
        participant = rounds.get_participant(session, round_id, user_id) if rnd else None
        if rnd is None or rnd.kind != "pulse" or rnd.team_id != team_id or participant is None:
            raise NoPulse("You are not part of this StrategyCheck.")
        if not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= now):
            raise NoPulse("This StrategyCheck is closed: thank you all the same.")
        template = templates.get_template(session, rnd.template_id)
        question_id = (rnd.audience or {}).get("question")
        min_group = workspaces.settings_of(session, team_id).min_group_size
    if not isinstance(question_id, str) or not template.has_question(question_id):
        raise NoPulse("This StrategyCheck cannot be answered any more.")
    question = template.question(question_id)
    try:
        parsed = parse_answer(question, value)
    except AnswerError:
        raise NoPulse("That is not one of the answers offered.") from None
    if parsed is None:
        raise NoPulse("That is not one of the answers offered.")
    try:
        with db.session() as session:
            answers.save_answers(session, round_id, user_id, {question_id: parsed}, at=now)
            rounds.mark_completed(session, round_id, user_id, at=now)
            # the team's answers so far in steps of the threshold, in finishing order, so that two
            # looks at the feedback never differ by one person's answer
            counted, _ = report_inputs(session, rounds.require_round(session, round_id), template, min_group)
            given = [a.answers.get(question_id) for a in counted]
            participant = rounds.get_participant(session, round_id, user_id)
    except (RoundClosed, NotParticipant):
        raise NoPulse("This StrategyCheck is closed: thank you all the same.") from None
    options = one_click_options(template, question_id)
    labels = dict(options)
    invitation = (participant.dm_channel, participant.invite_ts) \
        if participant is not None and participant.dm_channel and participant.invite_ts else None
    shares = feedback(template, question_id, [str(g) for g in given if g is not None], min_group)
    return Answered(prompt=question.short or question.prompt, chosen=labels.get(str(parsed), str(parsed)),
                    shares=shares, min_group_size=min_group, invitation=invitation, round_id=round_id,
                    options=options)
