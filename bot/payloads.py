"""Slack payloads parsed into typed models at the edge.

Listeners turn bolt's ``body`` dicts into these models first; a payload that does not parse
is treated as forged or malformed (acked, refused, logged) and never reaches the domain.
Field names follow Slack's payloads: slash commands (form fields), ``block_actions`` and
``view_submission`` and ``view_closed`` (JSON in the ``payload`` form field).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# bolt's respond() POSTs to the payload's response_url as it is: anything but an http(s) URL
# raises in the listener, so such a payload is refused here.
ResponseUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MalformedPayload(ValueError):
    """A request body that is not a payload Slack would send."""


class SlashCommand(_Model):
    team_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    channel_id: str | None = None
    command: str = "/icp-check"
    text: str = ""
    trigger_id: str | None = None
    response_url: ResponseUrl  # Slack always sends one; every subcommand answers through it
    enterprise_id: str | None = None

    @property
    def words(self) -> list[str]:
        return self.text.split()


class _Ref(_Model):
    id: str = Field(min_length=1)


class _SelectedOption(_Model):
    value: str


class Action(_Model):
    action_id: str
    block_id: str | None = None
    value: str | None = None
    action_ts: str | None = None
    selected_option: _SelectedOption | None = None


class _Container(_Model):
    type: str | None = None
    message_ts: str | None = None
    channel_id: str | None = None
    view_id: str | None = None


class _Message(_Model):
    ts: str | None = None


class ViewRef(_Model):
    id: str
    callback_id: str | None = None
    private_metadata: str | None = ""
    hash: str | None = None
    state: dict[str, Any] = Field(default_factory=dict)
    type: str  # always sent; bolt itself reads it
    root_view_id: str | None = None
    previous_view_id: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        values = self.state.get("values", {})
        return values if isinstance(values, dict) else {}


class BlockAction(_Model):
    type: str
    user: _Ref
    team: _Ref | None = None
    trigger_id: str | None = None
    actions: list[Action] = Field(min_length=1)
    container: _Container | None = None
    channel: _Ref | None = None
    message: _Message | None = None
    view: ViewRef | None = None
    response_url: ResponseUrl | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]

    @property
    def team_id(self) -> str | None:
        return self.team.id if self.team else None


class ViewSubmission(_Model):
    type: str
    user: _Ref
    team: _Ref | None = None
    trigger_id: str | None = None
    view: ViewRef

    @property
    def team_id(self) -> str | None:
        return self.team.id if self.team else None


class ViewClosed(ViewSubmission):
    """``view_closed``: sent when a person closes a modal that has ``notify_on_close``; the
    view carries what was entered (``state.values``). The middleware does not parse it: its
    listener does (``survey_flow.step_closed``)."""

    is_cleared: bool = False


def parse(model: type[_Model], body: Any):
    """Parse ``body`` into ``model``; raise MalformedPayload naming the fault."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise MalformedPayload(f"{where}: {first['msg']}") from exc
