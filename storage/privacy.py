"""Forgetting a person: their Slack user id leaves every row of a workspace's data, while the
anonymous aggregates of closed rounds stay what they were.

- A closed round keeps the person's answers, completion and team under the round's own
  pseudonym: the participant row's user id becomes ``forgotten:<pseudonym>`` (unique in the
  round, different in every round, so rounds cannot be linked), and the DM channel and message
  ts that pointed at them are cleared. Its report and its export are the same before and after.
- An open round loses the person altogether (participant row and answers): they are no
  longer asked, and what they gave so far is not counted.
- Leadership is removed; "added by", "created by" and "ratified by" become NULL, including
  the ``ratified_by`` inside a stored ICP profile.
- The sent-messages log keeps its entries (the exactly-once guarantee needs the keys) with
  the user id in key, target and error replaced, and its DM channel and ts cleared.
- The OAuth installation they made keeps working for the workspace; its installer id is
  replaced and their user token, if any, deleted.

Everything happens in the caller's unit of work: all of it, or nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    IcpVersion,
    OutboxMessage,
    RoundParticipant,
    SentMessage,
    SurveyRound,
    Workspace,
    WorkspaceLeader,
    slack_installations,
)

FORGOTTEN = "forgotten:"


@dataclass(frozen=True)
class Forgotten:
    """What ``forget_user`` did, in counts (never names)."""

    closed_rounds: int  # rounds whose answers stay, under the pseudonym
    open_rounds: int  # rounds the person was removed from
    answers_kept: int
    answers_deleted: int
    leader: bool
    log_entries: int
    other_rows: int  # rounds created, ICP versions ratified, leaders added, installations

    @property
    def anything(self) -> bool:
        return bool(self.closed_rounds or self.open_rounds or self.leader or self.log_entries or self.other_rows)


def _scrub(value: Any, user_id: str) -> Any:
    """``value`` (plain JSON) with every string equal to ``user_id`` made None."""
    if isinstance(value, dict):
        return {k: _scrub(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, user_id) for v in value]
    return None if value == user_id else value


def forget_user(session: Session, team_id: str, user_id: str) -> Forgotten:
    """Erase ``user_id`` from workspace ``team_id`` (see the module docstring)."""
    if not user_id or user_id.startswith(FORGOTTEN):
        raise ValueError(f"not a Slack user id: {user_id!r}")
    rows = session.execute(
        select(RoundParticipant, SurveyRound.status)
        .join(SurveyRound, SurveyRound.id == RoundParticipant.round_id)
        .where(SurveyRound.team_id == team_id, RoundParticipant.user_id == user_id)
    ).all()
    placeholders: dict[int, str] = {}
    closed = opened = kept = deleted = 0
    for participant, status in rows:
        round_id = participant.round_id
        answers = Answer.__table__
        count = len(session.execute(select(answers.c.question_id).where(
            answers.c.round_id == round_id, answers.c.user_id == user_id)).all())
        if status == "open":
            session.execute(delete(answers).where(answers.c.round_id == round_id, answers.c.user_id == user_id))
            session.execute(delete(RoundParticipant.__table__).where(
                RoundParticipant.round_id == round_id, RoundParticipant.user_id == user_id))
            opened += 1
            deleted += count
            continue
        kept_row = {c: getattr(participant, c) for c in (
            "team", "pseudonym", "invited_at", "reminders_sent", "last_reminded_at", "completed_at")}
        placeholder = f"{FORGOTTEN}{participant.pseudonym}"
        placeholders[round_id] = placeholder
        # The answers' foreign key points at (round_id, user_id): add the anonymous
        # participant (the named one first gives up the pseudonym, unique in the round), move
        # the answers to it, then drop the named one.
        session.execute(update(RoundParticipant.__table__).where(
            RoundParticipant.round_id == round_id, RoundParticipant.user_id == user_id)
            .values(pseudonym="~" + secrets.token_hex(5)))
        session.execute(insert(RoundParticipant.__table__).values(
            round_id=round_id, user_id=placeholder, dm_channel=None, invite_ts=None, **kept_row))
        session.execute(update(answers).where(answers.c.round_id == round_id, answers.c.user_id == user_id)
                        .values(user_id=placeholder))
        session.execute(delete(RoundParticipant.__table__).where(
            RoundParticipant.round_id == round_id, RoundParticipant.user_id == user_id))
        closed += 1
        kept += count
    session.expire_all()

    leader = session.execute(delete(WorkspaceLeader.__table__).where(
        WorkspaceLeader.team_id == team_id, WorkspaceLeader.user_id == user_id)).rowcount > 0
    other = session.execute(update(WorkspaceLeader.__table__).where(
        WorkspaceLeader.team_id == team_id, WorkspaceLeader.added_by == user_id).values(added_by=None)).rowcount
    other += session.execute(update(SurveyRound.__table__).where(
        SurveyRound.team_id == team_id, SurveyRound.created_by == user_id).values(created_by=None)).rowcount
    for version in session.execute(select(IcpVersion.__table__).where(IcpVersion.team_id == team_id)).mappings():
        profile = _scrub(version["profile"], user_id)
        if version["ratified_by"] == user_id or profile != version["profile"]:
            session.execute(update(IcpVersion.__table__).where(IcpVersion.id == version["id"])
                            .values(ratified_by=None if version["ratified_by"] == user_id else version["ratified_by"],
                                    profile=profile))
            other += 1
    for survey in session.execute(select(SurveyRound.id, SurveyRound.audience).where(
            SurveyRound.team_id == team_id)).all():
        audience = _scrub(survey.audience, user_id)
        if audience != survey.audience:
            session.execute(update(SurveyRound.__table__).where(SurveyRound.id == survey.id)
                            .values(audience=audience))
            other += 1

    # The log: one random stand-in for entries not tied to a kept round (ratify, digests...).
    stand_in = f"{FORGOTTEN}{secrets.token_hex(4)}"
    like = f"%{user_id}%"
    log = SentMessage.__table__
    entries = session.execute(select(log.c.id, log.c.key, log.c.target, log.c.error).where(
        or_(log.c.team_id == team_id, log.c.team_id.is_(None)),  # a workspace-less entry too
        or_(log.c.target == user_id, log.c.key.like(like), log.c.error.like(like)))).all()
    for entry in entries:
        parts = entry.key.split(":")
        round_id = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
        replacement = placeholders.get(round_id, stand_in) if round_id is not None else stand_in
        values: dict[str, Any] = {"key": entry.key.replace(user_id, replacement)}
        if entry.target == user_id or user_id in (entry.target or ""):
            values.update(target=(entry.target or "").replace(user_id, replacement)[:64], channel=None, ts=None)
        if entry.error:
            values["error"] = entry.error.replace(user_id, replacement)
        session.execute(update(log).where(log.c.id == entry.id).values(**values))

    # The outbox: what is still to send to the person is dropped; what was sent keeps no trace
    # of them (key, target, payload).
    box = OutboxMessage.__table__
    other += session.execute(delete(box).where(
        box.c.team_id == team_id, box.c.target == user_id, box.c.status.in_(("pending", "sending")))).rowcount
    for message in session.execute(select(box.c.id, box.c.key, box.c.target, box.c.notify_user, box.c.payload).where(
            box.c.team_id == team_id, or_(box.c.target == user_id, box.c.notify_user == user_id,
                                           box.c.key.like(like)))).all():
        session.execute(update(box).where(box.c.id == message.id).values(
            key=message.key.replace(user_id, stand_in), target=message.target.replace(user_id, stand_in)[:64],
            notify_user=None if message.notify_user == user_id else message.notify_user,
            payload=_scrub(message.payload, user_id), sent_channel=None, sent_ts=None))
        other += 1
    other += session.execute(update(Workspace.__table__).where(
        Workspace.team_id == team_id, Workspace.digest_set_by == user_id).values(digest_set_by=None)).rowcount

    other += session.execute(update(slack_installations).where(
        slack_installations.c.team_id == team_id, slack_installations.c.user_id == user_id).values(
        user_id=stand_in, user_token=None, user_refresh_token=None, user_token_expires_at=None,
        user_scopes=None)).rowcount
    return Forgotten(closed_rounds=closed, open_rounds=opened, answers_kept=kept, answers_deleted=deleted,
                     leader=leader, log_entries=len(entries), other_rows=other)
