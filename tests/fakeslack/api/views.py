"""views.open, views.push, views.update, views.publish; trigger ids; the modal stacks, and how
Slack applies a view_submission's ack (``response_action``) and a Close click.

Limits follow the views.* reference pages: a trigger_id lives 3 s and works once, at most 3
views in a modal stack, 250 kB per view.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from ..blockkit import fill_ids, view_size_ok
from ..workspace import ViewRecord, slack_id
from .base import SlackApiFailure, json_param, web_api

TRIGGER_TTL_SECONDS = 3.0  # "a trigger_id lives 3 s and works once"
MAX_VIEW_STACK = 3  # views.push: push_limit_reached, "Currently the limit is 3"


class ViewsApi:
    """Modals and Home tabs (``FakeSlack`` holds ``views``, ``_stacks``, ``home_views``)."""

    def modal_stack(self, user_id: str) -> list[ViewRecord]:
        """The user's open modal views, root first (empty when none is open)."""
        with self.lock:
            return [self.views[v] for v in self._stacks.get(user_id, [])]

    def current_view(self, user_id: str) -> ViewRecord | None:
        stack = self.modal_stack(user_id)
        return stack[-1] if stack else None

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger_id as an interaction would carry (valid once, for ``trigger_ttl`` s)."""
        with self.lock:
            self._trigger_counter += 1
            tid = f"{self._trigger_counter}.{abs(hash(self.team_id)) % 10**11}.{secrets.token_hex(16)}"
            self._triggers[tid] = (user_id, self.clock(), False)
        return tid

    # ------------------------------------------------------------------ methods
    @web_api("views.open")
    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(params, ("modal",))
        user = self._use_trigger(params)
        for old in self._stacks.pop(user, []):
            self.closed_views[old] = self.views.pop(old)
        record = self.new_view(user, view, None, None)
        self._stacks[user] = [record.id]
        return {"ok": True, "view": record.to_api()}

    @web_api("views.push")
    def views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(params, ("modal",))
        user = self._use_trigger(params)
        stack = self._stacks.get(user)
        if not stack:
            raise SlackApiFailure("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackApiFailure("push_limit_reached")
        record = self.new_view(user, view, stack[0], stack[-1])
        stack.append(record.id)
        return {"ok": True, "view": record.to_api()}

    @web_api("views.update")
    def views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup_view(params)
        if params.get("hash") and params["hash"] != record.hash:
            raise SlackApiFailure("hash_conflict")
        view = self._view_arg({**params, "view_id": record.id}, (record.type,))
        self.apply_view_update(record, view)
        return {"ok": True, "view": record.to_api()}

    @web_api("views.publish")
    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackApiFailure("invalid_arguments", ["invalid `user_id`"])
        current = self.home_views.get(user_id)
        if params.get("hash") and (current is None or params["hash"] != current.hash):
            raise SlackApiFailure("hash_conflict")
        view = self._view_arg(params, ("home",))
        if current is None:
            current = self.new_view(user_id, view, None, None)
            self.home_views[user_id] = current
        else:
            self.apply_view_update(current, view)
        return {"ok": True, "view": current.to_api()}

    # ------------------------------------------------------------------ Slack's client side
    def apply_submission_ack(self, user: str, record: ViewRecord, ack: dict[str, Any]) -> ViewRecord | None:
        """Apply a view_submission's ack to the user's modals, as Slack does; the view now on
        top (None when the modal closed). ``update`` replaces the view, ``push`` stacks a new
        one, ``clear`` closes all, ``errors`` keeps it (``record.errors``), an empty ack closes
        the submitted view. An ack Slack would refuse fails the test."""
        action = ack.get("response_action")
        with self.lock:
            stack = self._stacks.get(user, [])
            if action == "errors":
                record.errors = dict(ack.get("errors") or {})
                block_ids = {b.get("block_id") for b in record.blocks if b.get("type") == "input"}
                unknown = set(record.errors) - block_ids
                if unknown:
                    raise AssertionError(f"response_action=errors names no input block: {sorted(unknown)}")
                return record
            if action in ("update", "push"):
                view = ack.get("view") or {}
                errors = self.validator.validate_view(view)
                if errors:
                    raise AssertionError(f"Slack would reject the {action} view: {errors}")
                if action == "update":
                    self.apply_view_update(record, view)
                    return record
                if len(stack) >= MAX_VIEW_STACK:
                    raise AssertionError("push_limit_reached")
                pushed = self.new_view(user, view, stack[0] if stack else record.id, record.id)
                stack.append(pushed.id)
                return pushed
            if action == "clear":
                for vid in list(stack):
                    self.closed_views[vid] = self.views.pop(vid)
                stack.clear()
                return None
            # empty ack: the submitted view closes; a pushed view reveals the previous one
            if record.id in stack:
                idx = stack.index(record.id)
                for vid in stack[idx:]:
                    self.closed_views[vid] = self.views.pop(vid)
                del stack[idx:]
            return self.views.get(stack[-1]) if stack else None

    def close_modal(self, user: str, record: ViewRecord) -> bool:
        """The user clicks Close on ``record``: it and the views above it close (the whole
        stack with ``clear_on_close``); True when the stack was cleared."""
        with self.lock:
            stack = self._stacks.get(user, [])
            clear = bool(record.definition.get("clear_on_close"))
            idx = stack.index(record.id) if record.id in stack else 0
            for vid in list(stack) if clear else stack[idx:]:
                self.closed_views[vid] = self.views.pop(vid)
                stack.remove(vid)
        return clear

    # ------------------------------------------------------------------ shared
    def _view_arg(self, params: dict[str, Any], expected: tuple[str, ...]) -> dict[str, Any]:
        if "view" not in params:
            raise SlackApiFailure("invalid_arguments", ["[ERROR] missing required field: view"])
        view = json_param(params["view"], "view")
        if not isinstance(view, dict):
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] must provide an object [json-pointer:/view]"]
            )
        if not view_size_ok(view):
            raise SlackApiFailure("view_too_large")
        errors = self.validator.validate_view(view)
        if not errors and view.get("type") not in expected:
            errors = [f"[ERROR] must be one of {list(expected)!r} [json-pointer:/view/type]"]
        if errors:
            raise SlackApiFailure("invalid_arguments", errors)
        ext = view.get("external_id")
        if ext:
            for other in self.views.values():
                if other.external_id == ext and other.id != params.get("view_id"):
                    if params.get("external_id") != ext:
                        raise SlackApiFailure("duplicate_external_id")
        return view

    def _use_trigger(self, params: dict[str, Any]) -> str:
        tid = params.get("trigger_id") or params.get("interactivity_pointer")
        if not tid:
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] missing required field: trigger_id"]
            )
        entry = self._triggers.get(tid)
        if entry is None:
            raise SlackApiFailure("invalid_trigger_id")
        user, issued, used = entry
        if used:
            raise SlackApiFailure("exchanged_trigger_id")
        if self.clock() - issued > self.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        self._triggers[tid] = (user, issued, True)
        return user

    def new_view(
        self, user: str, view: dict[str, Any], root: str | None, previous: str | None
    ) -> ViewRecord:
        definition = copy.deepcopy(view)
        definition["blocks"] = fill_ids(definition.get("blocks", []))
        view_id = slack_id("V", 10)
        record = ViewRecord(
            id=view_id,
            user=user,
            type=definition["type"],
            definition=definition,
            hash=self.new_hash(),
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = record
        return record

    def _lookup_view(self, params: dict[str, Any]) -> ViewRecord:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] exactly one of view_id or external_id is required"]
            )
        if view_id:
            record = self.views.get(view_id)
        else:
            record = next((v for v in self.views.values() if v.external_id == external_id), None)
        if record is None:
            raise SlackApiFailure("not_found")
        return record

    def apply_view_update(self, record: ViewRecord, view: dict[str, Any]) -> None:
        definition = copy.deepcopy(view)
        definition["blocks"] = fill_ids(definition.get("blocks", []))
        # "Data entered or selected in input blocks can be preserved ... with identical
        # block_id and action_id values" (views.update usage info).
        kept: dict[str, Any] = {}
        for block in definition["blocks"]:
            el = block.get("element") if block.get("type") == "input" else None
            old = record.state_values.get(block.get("block_id"), {})
            if el and el.get("action_id") in old:
                kept[block["block_id"]] = {el["action_id"]: old[el["action_id"]]}
        record.definition = definition
        record.state_values = kept
        record.errors = {}
        record.hash = self.new_hash()

    def new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"
