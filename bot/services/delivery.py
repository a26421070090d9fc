"""Exactly-once delivery: what a Slack refusal means for a message that must go out once.

Every such message is an outbox row (``storage.outbox``, sent by ``bot.outbox``); these are
the refusals that no retry can change. A person Slack cannot reach is given up at once and
the leader who started the batch is told once; anything else passing is tried again.
"""

from __future__ import annotations

# Errors that mean the person or channel cannot be reached: given up and reported, never retried.
UNREACHABLE = frozenset({"user_not_found", "account_inactive", "cannot_dm_bot", "user_disabled",
                         "channel_not_found", "not_in_channel", "is_archived", "messages_tab_disabled"})
NOT_INSTALLED = "not_installed"
PERMANENT = UNREACHABLE | {NOT_INSTALLED}
