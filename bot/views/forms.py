"""What comes back from a form: its ``private_metadata`` and its ``state.values``.

Every modal that carries metadata has one pydantic model here, and ``read_metadata`` is the
one reader: a value that is not JSON, not an object, or out of range (a round id of 10^30)
reads as None, and the listener answers "this form could not be read". ``read_state`` is the
one reader of ``view.state.values``: block id -> the raw value of its element, by element
type, in the shapes Slack's view_submission payloads use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Row ids are positive 64-bit integers on both databases.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1, strict=True)]  # = ROW_ID_MAX


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def dump(self) -> str:
        return self.model_dump_json()


class SurveyStepMetadata(_Metadata):
    """A survey step modal: which round, which section, answering or editing."""

    round: RowId
    section: Annotated[int, Field(ge=0, le=1000, strict=True)]
    mode: Literal["answer", "edit"] = "answer"


Number = Annotated[float, Field(allow_inf_nan=False)]


class RatifyMetadata(_Metadata):
    """The ratify form: its round, the template row, and the number traits' ranges as shown
    (value, low, high), so that an unchanged number keeps its interquartile range."""

    round: RowId
    template: RowId
    ranges: dict[str, tuple[Number, Number | None, Number | None]] = Field(default_factory=dict)


class FitMetadata(_Metadata):
    """The fit form: the ICP version and the template row it is scored with."""

    version: RowId
    template: RowId


M = TypeVar("M", bound=_Metadata)


def read_metadata(model: type[M], text: str | None) -> M | None:
    """``text`` parsed into ``model``; None when it is missing, malformed or out of range."""
    if not text:
        return None
    try:
        return model.model_validate_json(text)
    except (ValidationError, ValueError):
        return None


def element_value(element: Mapping[str, Any]) -> Any:
    """The raw value of one element's state, by element type; None for a type we never send."""
    kind = element.get("type")
    if kind in ("radio_buttons", "static_select"):
        option = element.get("selected_option")
        return option.get("value") if isinstance(option, Mapping) else None
    if kind in ("checkboxes", "multi_static_select"):
        options = element.get("selected_options")
        return [o.get("value") for o in options if isinstance(o, Mapping)] if isinstance(options, list) else []
    if kind in ("plain_text_input", "number_input"):
        return element.get("value")
    if kind == "multi_users_select":
        return element.get("selected_users")
    if kind in ("multi_conversations_select", "multi_channels_select"):
        return element.get("selected_conversations") or element.get("selected_channels")
    if kind == "datepicker":
        return element.get("selected_date")
    return None


def read_state(state_values: Any, action_id: str) -> dict[str, Any]:
    """Block id -> raw value of the element ``action_id`` in that block."""
    if not isinstance(state_values, Mapping):
        return {}
    values: dict[str, Any] = {}
    for block_id, actions in state_values.items():
        element = actions.get(action_id) if isinstance(actions, Mapping) else None
        if isinstance(element, Mapping):
            values[str(block_id)] = element_value(element)
    return values


ROW_ID_MAX = 2**63 - 1


def read_row_id(text: str | None) -> int | None:
    """A row id carried in a button's value ("42"); None unless it is 1..2^63-1 in ASCII digits."""
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= ROW_ID_MAX else None
