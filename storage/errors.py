"""Domain errors raised by the repositories; messages are fit to show a Slack user."""

from __future__ import annotations


class StorageError(Exception):
    """Base class: something the caller asked for cannot be done to the stored data."""


class NotFound(StorageError, LookupError):
    """A workspace, round, template or message that does not exist."""


class RoundClosed(StorageError):
    """Answers were sent to a round that has closed; nothing was written."""

    def __init__(self, round_id: int):
        self.round_id = round_id
        super().__init__(f"survey round {round_id} is closed: answers can no longer be changed")


class NotParticipant(StorageError):
    """Answers from someone who was not invited to the round; nothing was written."""

    def __init__(self, round_id: int, user_id: str):
        self.round_id = round_id
        self.user_id = user_id
        super().__init__(f"{user_id} is not a participant of survey round {round_id}")


class TemplateConflict(StorageError):
    """A different template was already saved under the same id and version."""
