"""App Home: a person's own survey, the score trend and the ICP for everyone; the running
round's progress and the main buttons for leaders only."""

from __future__ import annotations

from bot.services.reporting import round_report

from .helpers import LEADER, STAFF, blocks_text, designed_answers, reminders_go_out_now
from .leader_steps import close_round


def _home(fake, sim, user: str):
    before = fake.home_views.get(user)
    version = before.hash if before else None
    assert sim.home_opened(user).status == 200
    view = fake.home_views.get(user)
    assert view is not None and view.hash != version, "app_home_opened published no new Home"
    return view


def _buttons(view) -> dict[str, str | None]:
    return {el["action_id"]: el.get("value") for block in view.blocks if block["type"] == "actions"
            for el in block["elements"]}


def test_staff_see_their_survey_and_leaders_see_progress(world, open_round):
    fake, sim = world.fake, world.sim
    staff_home = _home(fake, sim, STAFF[0])
    assert _buttons(staff_home) == {"survey_start": str(open_round)}
    text = blocks_text(staff_home.blocks)
    assert "waiting for your answers" in text and "For leaders" not in text
    assert "No ICP has been ratified yet" in text

    leader_home = _home(fake, sim, LEADER)
    text = blocks_text(leader_home.blocks)
    assert "For leaders" in text and "Invited: 10" in text and "finished: 0 (0%)" in text
    assert {"home_start_round", "home_report", "round_remind"} <= set(_buttons(leader_home))
    # no person is named anywhere on a leader's home
    assert not any(user in text for user in STAFF)


def test_home_follows_answers_and_shows_the_score_after_close(world, open_round, answer_round):
    fake, sim, db = world.fake, world.sim, world.db
    for i, user in enumerate(STAFF[:4]):
        answer_round(sim, fake, user, designed_answers(i))
    # finishing the survey republishes the person's home with an edit button
    home = fake.home_views[STAFF[0]]
    assert _buttons(home)["survey_edit"] == str(open_round)

    assert "Closed" in close_round(fake, sim, open_round)["text"]
    expected = round_report(db, fake.team_id, open_round, bootstrap=0).report.score
    assert expected is not None
    text = blocks_text(_home(fake, sim, STAFF[5]).blocks)
    assert f"Alignment score*: {expected:.0f}/100" in text
    assert "No survey is waiting for you" in text


def test_remind_button_on_home_reminds_and_answers_by_dm(world, open_round):
    fake, sim = world.fake, world.sim
    reminders_go_out_now(world.db)
    home = _home(fake, sim, LEADER)
    before = len(fake.calls_to("chat.postMessage"))
    assert sim.click(LEADER, home, "round_remind").status == 200
    replies = [m for m in fake.messages(LEADER) if "reminders queued" in m.text]
    assert len(replies) == 1 and replies[0].text == "10 reminders queued; they go out now."
    reminded = {c.params["channel"] for c in fake.calls_to("chat.postMessage")[before:]}
    assert reminded == {f"D{user}" for user in STAFF} | {LEADER}  # the reminders, and the reply to the leader
