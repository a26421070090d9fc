"""The leader's notice of messages that could not be delivered: reasons worded for people,
two errors that mean the same counted as one reason, and a fix named for a channel."""

from __future__ import annotations

from bot.views.leader_messages import undelivered_notice


def test_a_deactivated_account_and_its_archived_dm_are_one_reason():
    text = undelivered_notice("reminder", 4, 10, {"account_inactive": 1, "is_archived": 1})
    assert text == "2 of 10 reminders of round 4 could not be delivered (2: the account is deactivated)."


def test_reasons_are_listed_most_frequent_first():
    text = undelivered_notice("invite", 2, 12, {"user_not_found": 1, "account_inactive": 3})
    assert text.startswith("4 of 12 invitations of round 2 could not be delivered")
    assert text.index("3: the account is deactivated") < text.index("1: the person is not in the workspace")


def test_a_digest_channel_it_cannot_post_to_names_the_fix():
    text = undelivered_notice("digest", None, 1, {"not_in_channel": 1})
    assert "/icp-check digest #channel" in text
    assert "/icp-check digest" not in undelivered_notice("invite", 1, 3, {"user_not_found": 1})
