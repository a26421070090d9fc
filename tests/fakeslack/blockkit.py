"""Block Kit validation the way Slack's API does it.

Two layers:

1. Slack's documented limits, checked by hand (always on; the docs are the authority).
2. The third-party JSON Schema in ``shared/slack-reference/schemas`` (TightknitAI's, draft
   2020-12), when the file is present. Where it and the docs disagree the docs win: see
   ``SCHEMA_RELAXATIONS`` below for each check that was relaxed and why.

Errors come back as Slack words them, one string per problem:
``"[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``
(messages are under ``/blocks``, views under ``/view``, as in Slack's own answers).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .workspace import short_id

SCHEMA_ENV = "FAKESLACK_BLOCKKIT_SCHEMA"
SCHEMA_NAME = "tightknit-slack-block-kit.schema.json"

# Documented limits (docs.slack.dev/reference/block-kit/...).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000  # chat.postMessage: msg_too_long
MAX_VIEW_BYTES = 250 * 1024  # views.*: view_too_large

# Where the schema and Slack's documentation disagree (docs win):
#
# * Blocks per message: the schema's top-level array allows 100 blocks for every surface;
#   the docs say "up to 50 blocks in each message, and 100 blocks in modals or Home tabs".
#   Enforced by the hand check (MAX_MESSAGE_BLOCKS).
# * action_id uniqueness: the schema's $defs/action_id description says "unique among all
#   action_ids used in a single view/message"; the element reference says "Should be
#   unique among all other action_ids in the containing block". Only the latter is
#   enforced, so two input blocks may share an action_id (state.values is keyed by
#   block_id first).
# * Surfaces: the schema leaves surface rules to its descriptions; the docs list input
#   blocks as available in modals, messages (since 2021, with dispatch_action) and Home
#   tabs, so input blocks are not restricted to modals.
#
# No schema check rejected a payload the docs allow among the blocks and elements tried
# (slack_sdk's models for every block/element type the bot uses), so no schema rule is
# switched off. Add one here, with the reason, if that changes.
SCHEMA_RELAXATIONS: dict[str, str] = {}

INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "checkboxes",
        "radio_buttons",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "rich_text_input",
        "file_input",
    }
)
SELECTS = frozenset({"static_select", "multi_static_select"})
CHOICE_LISTS = frozenset({"checkboxes", "radio_buttons"})


def default_schema_path() -> Path:
    """``$FAKESLACK_BLOCKKIT_SCHEMA`` or ``<repo>/../shared/slack-reference/schemas/...``."""
    env = os.environ.get(SCHEMA_ENV)
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "slack-reference" / "schemas" / SCHEMA_NAME


@lru_cache(maxsize=4)
def _load_validators(path: str) -> dict[str, Any] | None:
    p = Path(path)
    if not p.is_file():
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(p.read_text(encoding="utf-8"))
    base = {k: schema[k] for k in ("$schema", "$id", "$defs") if k in schema}
    validators: dict[str, Any] = {}
    for name in schema.get("$defs", {}):
        if name.endswith(("_block", "_view")):
            validators[name] = Draft202012Validator({**base, "$ref": f"#/$defs/{name}"})
    return validators


def _ptr(path: Iterable[Any]) -> str:
    return "".join(f"/{p}" for p in path)


def _fmt(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


class _Errors:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (pointer, message)

    def add(self, pointer: str, message: str) -> None:
        self.items.append((pointer, message))

    def formatted(self) -> list[str]:
        return [_fmt(m, p) for p, m in self.items]


class BlockKitValidator:
    """Validates message blocks and views; ``schema_path=False`` disables the schema."""

    def __init__(self, schema_path: str | Path | None | bool = None) -> None:
        if schema_path is False:
            self.schema_path: Path | None = None
        else:
            self.schema_path = Path(schema_path) if schema_path else default_schema_path()
        self._validators = (
            _load_validators(str(self.schema_path)) if self.schema_path is not None else None
        )

    @property
    def schema_loaded(self) -> bool:
        return self._validators is not None

    # ----------------------------------------------------------------- public API
    # A verdict is a pure function of the JSON, and the schema check is slow (a few tens of ms
    # per view): verdicts are memoised on the JSON text, across fakes, per schema.
    def validate_blocks(self, blocks: Any, prefix: str = "/blocks") -> list[str]:
        """Errors for a message's ``blocks`` (empty list = valid)."""
        return list(_verdict(self, "blocks", blocks, prefix))

    def validate_view(self, view: Any, prefix: str = "/view") -> list[str]:
        """Errors for a modal or home ``view``."""
        return list(_verdict(self, "view", view, prefix))

    def _validate_blocks(self, blocks: Any, prefix: str) -> list[str]:
        errs = _Errors()
        _check_blocks(blocks, "message", prefix, errs)
        hand_count = len(errs.items)
        if self._validators is not None and isinstance(blocks, list):
            for i, block in enumerate(blocks):
                if not isinstance(block, dict):
                    continue
                name = f"{block.get('type')}_block"
                validator = self._validators.get(name)
                if validator is None:
                    continue  # unknown type already reported by _check_blocks
                self._schema_errors(validator, block, f"{prefix}/{i}", errs)
        return _dedupe(errs, hand_count, prefix)

    def _validate_view(self, view: Any, prefix: str) -> list[str]:
        errs = _Errors()
        _check_view(view, prefix, errs)
        hand_count = len(errs.items)
        if self._validators is not None and isinstance(view, dict):
            vtype = view.get("type")
            validator = self._validators.get(f"{vtype}_view")
            if validator is not None:
                self._schema_errors(validator, view, prefix, errs)
        return _dedupe(errs, hand_count, prefix)

    # ----------------------------------------------------------------- schema
    def _schema_errors(self, validator: Any, instance: Any, prefix: str, errs: _Errors) -> None:
        for error in validator.iter_errors(instance):
            error = _refine(error)
            pointer = prefix + _ptr(error.absolute_path)
            errs.add(pointer, _describe(error))


def _verdict(validator: BlockKitValidator, kind: str, value: Any, prefix: str) -> tuple[str, ...]:
    try:
        canonical = json.dumps(value)  # key order kept: errors come out in the same order
    except (TypeError, ValueError):  # not JSON at all: no memo
        check = validator._validate_view if kind == "view" else validator._validate_blocks
        return tuple(check(value, prefix))
    return _memo_verdict(str(validator.schema_path), kind, canonical, prefix)


@lru_cache(maxsize=4096)
def _memo_verdict(schema_path: str, kind: str, canonical: str, prefix: str) -> tuple[str, ...]:
    validator = BlockKitValidator(Path(schema_path) if schema_path != "None" else False)
    check = validator._validate_view if kind == "view" else validator._validate_blocks
    return tuple(check(json.loads(canonical), prefix))


def _dedupe(errs: _Errors, hand_count: int, root: str) -> list[str]:
    """All hand-written (documented-limit) errors; schema errors only where they add news.

    A schema error is dropped when a hand error already sits on the same pointer, above
    it or below it (other than on the root object itself).
    """
    hand = errs.items[:hand_count]
    hand_ptrs = {p for p, _ in hand if p != root}
    out: list[tuple[str, str]] = []
    for item in errs.items:
        if item in out:
            continue
        pointer = item[0]
        if item not in hand and any(
            pointer == p or pointer.startswith(p + "/") or p.startswith(pointer + "/")
            for p in hand_ptrs
        ):
            continue
        out.append(item)
    return [_fmt(m, p) for p, m in out]


def _is_discriminator_miss(err: Any) -> bool:
    path = list(err.relative_path)
    if path == ["type"] and err.validator in ("const", "enum"):
        return True
    if not path and err.validator == "type":
        return True
    return False


def _refine(error: Any) -> Any:
    """Descend oneOf/anyOf failures into the branch whose ``type`` matched."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        viable = [
            errs for errs in branches.values() if not any(_is_discriminator_miss(e) for e in errs)
        ]
        if len(viable) != 1:
            break
        error = max(viable[0], key=lambda e: len(e.absolute_path))
    return error


def _describe(error: Any) -> str:
    v = error.validator
    val = error.validator_value
    if v == "maxLength":
        return f"must be less than {val + 1} characters"
    if v == "minLength":
        return f"must be more than {val - 1} characters"
    if v == "maxItems":
        return f"no more than {val} items allowed"
    if v == "minItems":
        return f"must provide at least {val} items"
    if v == "required":
        missing = [r for r in val if isinstance(error.instance, dict) and r not in error.instance]
        return f"missing required field: {missing[0] if missing else val[0]}"
    if v == "additionalProperties":
        extra = sorted(
            k
            for k in (error.instance if isinstance(error.instance, dict) else {})
            if k not in error.schema.get("properties", {})
        )
        return f"invalid additional property: {extra[0] if extra else '?'}"
    if v in ("const", "enum"):
        return f"must be one of {val!r}"
    if v == "type":
        return f"must provide {'an' if str(val)[0] in 'aeiou' else 'a'} {val}"
    if v in ("maximum", "minimum"):
        return f"must be {'at most' if v == 'maximum' else 'at least'} {val}"
    if v == "pattern":
        return "does not match the expected format"
    if v in ("oneOf", "anyOf"):
        return "failed to match all allowed schemas"
    return error.message


# ---------------------------------------------------------------------- hand checks
def _text(obj: Any, ptr: str, errs: _Errors, max_len: int, plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        errs.add(ptr, "must provide an object")
        return
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in kinds:
        errs.add(f"{ptr}/type", f"must be one of {list(kinds)!r}")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.add(ptr, "missing required field: text")
    elif len(text) < 1:
        errs.add(f"{ptr}/text", "must be more than 0 characters")
    elif len(text) > max_len:
        errs.add(f"{ptr}/text", f"must be less than {max_len + 1} characters")


def _max_str(value: Any, ptr: str, errs: _Errors, max_len: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errs.add(ptr, "must provide a string")
    elif len(value) > max_len:
        errs.add(ptr, f"must be less than {max_len + 1} characters")


def _items(value: Any, ptr: str, errs: _Errors, max_items: int, min_items: int = 1) -> list[Any]:
    if not isinstance(value, list):
        errs.add(ptr, "must provide an array")
        return []
    if len(value) > max_items:
        errs.add(ptr, f"no more than {max_items} items allowed")
    elif len(value) < min_items:
        errs.add(ptr, f"must provide at least {min_items} items")
    return value


def _option(opt: Any, ptr: str, errs: _Errors, plain_only: bool) -> None:
    if not isinstance(opt, dict):
        errs.add(ptr, "must provide an object")
        return
    _text(opt.get("text"), f"{ptr}/text", errs, 75, plain_only=plain_only)
    value = opt.get("value")
    if value is not None:
        _max_str(value, f"{ptr}/value", errs, 150)
    if "description" in opt:
        _text(opt["description"], f"{ptr}/description", errs, 75, plain_only=plain_only)


def _confirm(obj: Any, ptr: str, errs: _Errors) -> None:
    if not isinstance(obj, dict):
        return
    _text(obj.get("title"), f"{ptr}/title", errs, 100, plain_only=True)
    _text(obj.get("text"), f"{ptr}/text", errs, 300)
    _text(obj.get("confirm"), f"{ptr}/confirm", errs, 30, plain_only=True)
    _text(obj.get("deny"), f"{ptr}/deny", errs, 30, plain_only=True)


def _element(el: Any, ptr: str, errs: _Errors) -> None:
    if not isinstance(el, dict):
        errs.add(ptr, "must provide an object")
        return
    etype = el.get("type")
    _max_str(el.get("action_id"), f"{ptr}/action_id", errs, 255)
    if "placeholder" in el:
        _text(el["placeholder"], f"{ptr}/placeholder", errs, 150, plain_only=True)
    if "confirm" in el:
        _confirm(el["confirm"], f"{ptr}/confirm", errs)
    if etype == "button":
        _text(el.get("text"), f"{ptr}/text", errs, 75, plain_only=True)
        _max_str(el.get("value"), f"{ptr}/value", errs, 2000)
        _max_str(el.get("url"), f"{ptr}/url", errs, 3000)
        if "style" in el and el["style"] not in ("primary", "danger"):
            errs.add(f"{ptr}/style", "must be one of ['primary', 'danger']")
    elif etype in SELECTS:
        if "options" in el:
            for j, opt in enumerate(_items(el["options"], f"{ptr}/options", errs, 100)):
                _option(opt, f"{ptr}/options/{j}", errs, plain_only=True)
        elif "option_groups" in el:
            groups = _items(el["option_groups"], f"{ptr}/option_groups", errs, 100)
            for g, group in enumerate(groups):
                gptr = f"{ptr}/option_groups/{g}"
                if isinstance(group, dict):
                    _text(group.get("label"), f"{gptr}/label", errs, 75, plain_only=True)
                    for j, opt in enumerate(
                        _items(group.get("options"), f"{gptr}/options", errs, 100)
                    ):
                        _option(opt, f"{gptr}/options/{j}", errs, plain_only=True)
        else:
            errs.add(ptr, "missing required field: options")
    elif etype in CHOICE_LISTS:
        for j, opt in enumerate(_items(el.get("options"), f"{ptr}/options", errs, 10)):
            _option(opt, f"{ptr}/options/{j}", errs, plain_only=False)
    elif etype == "overflow":
        for j, opt in enumerate(_items(el.get("options"), f"{ptr}/options", errs, 5)):
            _option(opt, f"{ptr}/options/{j}", errs, plain_only=True)
    elif etype == "plain_text_input":
        for key in ("max_length", "min_length"):
            if key in el:
                n = el[key]
                if not isinstance(n, int) or isinstance(n, bool):
                    errs.add(f"{ptr}/{key}", "must provide an integer")
                elif n > 3000:
                    errs.add(f"{ptr}/{key}", "must be at most 3000")
                elif n < (1 if key == "max_length" else 0):
                    errs.add(f"{ptr}/{key}", f"must be at least {1 if key == 'max_length' else 0}")
    elif etype == "number_input":
        if not isinstance(el.get("is_decimal_allowed"), bool):
            errs.add(ptr, "missing required field: is_decimal_allowed")
    elif etype == "image":
        _max_str(el.get("image_url"), f"{ptr}/image_url", errs, 3000)
        if not el.get("alt_text"):
            errs.add(ptr, "missing required field: alt_text")


def _check_action_ids(elements: list[Any], ptr: str, errs: _Errors) -> None:
    # Docs (button/select "action_id"): "Should be unique among all other action_ids in
    # the containing block." Not view-wide: two input blocks may share an action_id.
    seen: set[str] = set()
    for j, el in enumerate(elements):
        if isinstance(el, dict) and isinstance(el.get("action_id"), str):
            aid = el["action_id"]
            if aid in seen:
                errs.add(f"{ptr}/{j}/action_id", f"action_id must be unique in block: {aid!r}")
            seen.add(aid)


def _check_block(block: Any, surface: str, ptr: str, errs: _Errors) -> None:
    if not isinstance(block, dict):
        errs.add(ptr, "must provide an object")
        return
    btype = block.get("type")
    _max_str(block.get("block_id"), f"{ptr}/block_id", errs, 255)
    if btype == "section":
        if "text" not in block and "fields" not in block:
            errs.add(ptr, "missing required field: text")
        if "text" in block:
            _text(block["text"], f"{ptr}/text", errs, 3000)
        if "fields" in block:
            for j, f in enumerate(_items(block["fields"], f"{ptr}/fields", errs, 10)):
                _text(f, f"{ptr}/fields/{j}", errs, 2000)
        if "accessory" in block:
            _element(block["accessory"], f"{ptr}/accessory", errs)
    elif btype == "header":
        _text(block.get("text"), f"{ptr}/text", errs, 150, plain_only=True)
    elif btype == "context":
        elements = _items(block.get("elements"), f"{ptr}/elements", errs, 10)
        for j, el in enumerate(elements):
            if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                _text(el, f"{ptr}/elements/{j}", errs, 3000)
            else:
                _element(el, f"{ptr}/elements/{j}", errs)
    elif btype == "actions":
        elements = _items(block.get("elements"), f"{ptr}/elements", errs, 25)
        for j, el in enumerate(elements):
            _element(el, f"{ptr}/elements/{j}", errs)
        _check_action_ids(elements, f"{ptr}/elements", errs)
    elif btype == "input":
        # Docs: input blocks are available in modals, messages and Home tabs (messages
        # since April 2021, with dispatch_action), so no surface restriction here.
        _text(block.get("label"), f"{ptr}/label", errs, 2000, plain_only=True)
        if "hint" in block:
            _text(block["hint"], f"{ptr}/hint", errs, 2000, plain_only=True)
        element = block.get("element")
        if not isinstance(element, dict):
            errs.add(ptr, "missing required field: element")
        else:
            if element.get("type") not in INPUT_ELEMENTS:
                errs.add(f"{ptr}/element/type", "unsupported element type for input block")
            _element(element, f"{ptr}/element", errs)
    elif btype == "image":
        _max_str(block.get("image_url"), f"{ptr}/image_url", errs, 3000)
        _max_str(block.get("alt_text"), f"{ptr}/alt_text", errs, 2000)
        if "title" in block:
            _text(block["title"], f"{ptr}/title", errs, 2000, plain_only=True)
    elif btype == "data_visualization":  # Slack's chart block: a title of at most 50 characters
        _max_str(block.get("title"), f"{ptr}/title", errs, 50)
        if not isinstance(block.get("chart"), dict):
            errs.add(ptr, "missing required field: chart")
    elif btype in ("divider", "rich_text", "video", "file", "markdown", "table", "context_actions"):
        pass
    elif btype is None:
        errs.add(ptr, "missing required field: type")
    else:
        errs.add(f"{ptr}/type", f"unsupported block type: {btype}")


def _check_blocks(blocks: Any, surface: str, ptr: str, errs: _Errors) -> None:
    limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    if not isinstance(blocks, list):
        errs.add(ptr, "must provide an array")
        return
    if len(blocks) > limit:
        errs.add(ptr, f"no more than {limit} items allowed")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        _check_block(block, surface, f"{ptr}/{i}", errs)
        if isinstance(block, dict) and isinstance(block.get("block_id"), str):
            bid = block["block_id"]
            if bid in seen:
                errs.add(f"{ptr}/{i}/block_id", f"block_id must be unique: {bid!r}")
            seen.add(bid)


def _check_view(view: Any, ptr: str, errs: _Errors) -> None:
    if not isinstance(view, dict):
        errs.add(ptr, "must provide an object")
        return
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        errs.add(f"{ptr}/type", "must be one of ['modal', 'home']")
        return
    if vtype == "modal":
        if "title" not in view:
            errs.add(ptr, "missing required field: title")
        else:
            _text(view["title"], f"{ptr}/title", errs, 24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _text(view[key], f"{ptr}/{key}", errs, 24, plain_only=True)
        blocks = view.get("blocks")
        if isinstance(blocks, list) and view.get("submit") is None:
            if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks):
                errs.add(ptr, "missing required field: submit")
    _max_str(view.get("private_metadata"), f"{ptr}/private_metadata", errs, 3000)
    _max_str(view.get("callback_id"), f"{ptr}/callback_id", errs, 255)
    _max_str(view.get("external_id"), f"{ptr}/external_id", errs, 255)
    if "blocks" not in view:
        errs.add(ptr, "missing required field: blocks")
    else:
        _check_blocks(view["blocks"], vtype, f"{ptr}/blocks", errs)


# ---------------------------------------------------------------------- ids
def _element_ids(el: Any) -> None:
    if isinstance(el, dict) and el.get("type") not in (None, "plain_text", "mrkdwn", "image"):
        el.setdefault("action_id", short_id(5))


def fill_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``blocks`` with the block_id / action_id Slack generates when absent."""
    out = copy.deepcopy(blocks)
    for block in out:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", short_id(4))
        if block.get("type") == "actions":
            for el in block.get("elements", []):
                _element_ids(el)
        elif block.get("type") == "input":
            _element_ids(block.get("element"))
        elif block.get("type") == "section" and "accessory" in block:
            _element_ids(block["accessory"])
    return out


def view_size_ok(view: Any) -> bool:
    return len(json.dumps(view)) <= MAX_VIEW_BYTES
