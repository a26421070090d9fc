"""A leader configures, previews and reads the weekly digest and the settings from Slack alone."""

from __future__ import annotations

from bot.services.reporting import round_report

from .helpers import LEADER, STAFF, blocks_text, command, designed_answers


def test_configure_the_digest_then_post_it_now(world, open_round, answer_round):
    fake, sim, db = world.fake, world.sim, world.db
    fake.add_channel("C0LEAD", "leadership", members=[LEADER])
    for i, user in enumerate(STAFF[:6]):
        answer_round(sim, fake, user, designed_answers(i))

    shown = command(fake, sim, LEADER, "digest")["text"]
    assert shown.startswith("Weekly digest: off")

    reply = command(fake, sim, LEADER, "digest <#C0LEAD|leadership> wednesday 08:30")["text"]
    assert "<#C0LEAD>" in reply and "Wednesdays at 08:30" in reply and "the next one" in reply
    assert "Wednesdays at 08:30" in command(fake, sim, LEADER, "settings")["text"]

    reply = command(fake, sim, LEADER, "digest now")["text"]
    assert reply == "Posting the digest to <#C0LEAD> now."
    posts = fake.messages("C0LEAD")
    assert len(posts) == 1
    report = round_report(db, fake.team_id, open_round, bootstrap=0).report
    assert f"{report.score:.0f}/100" in posts[0].text  # the figures are the stored round's
    assert "60%" in blocks_text(posts[0].blocks)  # the response rate: 6 of 10 finished
    assert [b["type"] for b in posts[0].blocks].count("data_visualization") >= 1

    assert command(fake, sim, LEADER, "digest off")["text"] == "The weekly digest is off."
    assert "Nothing changed" in command(fake, sim, LEADER, "digest #leadership")["text"]


def test_settings_change_and_refuse_with_the_setting_named(world):
    fake, sim = world.fake, world.sim
    assert "Time zone: `UTC`" in command(fake, sim, LEADER, "settings")["text"]
    saved = command(fake, sim, LEADER, "settings timezone Europe/Paris")["text"]
    assert saved.startswith("Saved.") and "`Europe/Paris`" in saved
    refused = command(fake, sim, LEADER, "settings anonymity 1")["text"]
    assert refused.startswith("Nothing changed: the anonymity threshold")
    assert "Anonymity threshold: 3 people" in command(fake, sim, LEADER, "settings")["text"]
    staff = command(fake, sim, STAFF[0], "settings")["text"]
    assert "is for ICP Align leaders" in staff
