"""A database with something in every table: two workspaces, leaders, a closed round with
answers, an open round with some, a ratified ICP, the sent-messages log, the outbox, a
customer list, an OAuth
installation (tokens encrypted) and an OAuth state. For the privacy and copy tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store.models import Installation

from storage import answers, customer_lists, icp, outbox, rounds, send_log, templates, workspaces
from storage.db import Database
from storage.slack_oauth import installation_store, oauth_state_store
from survey.answers import validate_answers
from survey.customers import Customer
from survey.template import Template
from tests.e2e.helpers import designed_answers

TEAM, OTHER_TEAM = "T0001", "T0002"
LEAD = "U0LEAD"
PEOPLE = [f"U0P{i:02d}" for i in range(1, 7)]
KEY = "v6vF6H0jY8Dk1n3l8W1rJq3c7oV9s2Cq0rj7hE6bXGM="  # a fixed Fernet key for the samples
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Sample:
    closed_round: int
    open_round: int
    other_round: int
    template: Template


def _answers(template: Template, i: int) -> dict:
    return validate_answers(template, designed_answers(i))


def populate(db: Database) -> Sample:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM, name="Acme")
        workspaces.add_leader(s, TEAM, LEAD, added_by=None)
        workspaces.add_leader(s, TEAM, PEOPLE[0], added_by=LEAD)
        stored = templates.latest_template(s, TEAM, "icp-core")
        template = templates.get_template(s, stored.id)
        closed = rounds.create_round(s, TEAM, stored.id, title="Q1 ICP check", created_by=PEOPLE[0],
                                     opened_at=T0, closes_at=T0 + timedelta(days=7))
        rounds.add_participants(s, closed.id, [(u, "sales" if i < 3 else "support") for i, u in enumerate(PEOPLE)])
        for i, user in enumerate(PEOPLE):
            rounds.mark_invited(s, closed.id, user, f"D{user}", f"1700000000.00{i}")
            send_log.claim(s, f"invite:{closed.id}:{user}", kind="invite", team_id=TEAM, target=user, at=T0)
            send_log.mark_sent(s, f"invite:{closed.id}:{user}", f"D{user}", f"1700000000.00{i}", at=T0)
            answers.save_answers(s, closed.id, user, _answers(template, i), at=T0 + timedelta(hours=i))
            rounds.mark_completed(s, closed.id, user, at=T0 + timedelta(hours=i))
        rounds.record_reminder(s, closed.id, PEOPLE[0], at=T0 + timedelta(days=2))
        send_log.claim(s, f"remind:{closed.id}:{PEOPLE[0]}:1", kind="remind", team_id=TEAM, target=PEOPLE[0])
        send_log.mark_failed(s, f"remind:{closed.id}:{PEOPLE[0]}:1", f"cannot_dm_user {PEOPLE[0]}")
        rounds.close_round(s, closed.id, at=T0 + timedelta(days=7))
        send_log.claim(s, f"closed:{closed.id}", kind="closed", team_id=TEAM, target=PEOPLE[0])
        icp.ratify(s, TEAM, {"traits": {"company_size": "51-200"}, "ratified_by": PEOPLE[0]},
                   source_round_id=closed.id, ratified_by=PEOPLE[0], at=T0 + timedelta(days=8))
        send_log.claim(s, "ratify:V0001", kind="ratify", team_id=TEAM, target=PEOPLE[0])

        opened = rounds.create_round(s, TEAM, stored.id, title="Q2 pulse", created_by=LEAD,
                                     opened_at=T0 + timedelta(days=30))
        rounds.add_participants(s, opened.id, [(u, None) for u in PEOPLE[:4]])
        for i, user in enumerate(PEOPLE[:2]):
            answers.save_answers(s, opened.id, user, {"company_size": _answers(template, i)["company_size"]})
        send_log.claim(s, f"invite:{opened.id}:{PEOPLE[0]}", kind="invite", team_id=TEAM, target=PEOPLE[0])
        # the outbox: one invitation sent, one still to send; a digest the person set up
        for status_user in PEOPLE[:2]:
            outbox.enqueue(s, key=f"{TEAM}:invite:{status_user}:round-{opened.id}", team_id=TEAM, kind="invite",
                           method="chat.postMessage", target=status_user, round_id=opened.id, notify_user=PEOPLE[0],
                           payload={"args": {"channel": status_user, "text": "StrategyCheck"}, "user_id": status_user},
                           at=T0 + timedelta(days=30))
        sent = outbox.find(s, f"{TEAM}:invite:{PEOPLE[1]}:round-{opened.id}")
        outbox.mark_sent(s, sent.id, channel="D0P02", ts="1700000000.000100", at=T0 + timedelta(days=30))
        workspaces.update_workspace(s, TEAM, digest_channel="C0LEAD", digest_set_by=PEOPLE[0])
        customer_lists.replace_customers(s, TEAM, [Customer(id="acc-1", revenue=1000.0)], source="hubspot",
                                         template_key="icp-core")

        # the same person in another workspace is not theirs to forget
        workspaces.get_or_create_workspace(s, OTHER_TEAM)
        other_stored = templates.latest_template(s, OTHER_TEAM, "icp-core")
        other = rounds.create_round(s, OTHER_TEAM, other_stored.id, title="Elsewhere")
        rounds.add_participants(s, other.id, [(PEOPLE[0], "sales")])
        answers.save_answers(s, other.id, PEOPLE[0], {"company_size": "11-50"})
        workspaces.add_leader(s, OTHER_TEAM, PEOPLE[0])
        result = Sample(closed_round=closed.id, open_round=opened.id, other_round=other.id, template=template)
    installation_store(db, "111.222", encryption_key=KEY).save(Installation(
        app_id="A0001", enterprise_id=None, team_id=TEAM, team_name="Acme", user_id=PEOPLE[0],
        bot_token="xoxb-1-2-abc", bot_id="B0001", bot_user_id="U0BOT", bot_scopes="commands",
        user_token="xoxp-1-2-3-def", user_scopes="identify", installed_at=T0.timestamp()))
    oauth_state_store(db).issue()
    return result
