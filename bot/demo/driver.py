"""Slack's side of the conversation: what a person's Slack client sends to the bot.

Every request is built in Slack's payload shapes (a slash command's form body, a
``block_actions`` or ``view_submission`` in a ``payload=`` field, an ``event_callback``),
signed with the app's signing secret and POSTed to the bot's Request URL, as Slack does.
A form is filled the way a person fills it: from the input blocks of the view the bot
opened, choosing option values that the view offers.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.demo.slack import LoopbackSlack

TEXT_INPUTS = ("plain_text_input", "number_input", "email_text_input", "url_text_input")


class DemoError(RuntimeError):
    """The bot did not answer as the demo expected (the message says what it got)."""


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """``state.values[block][action]`` for ``element`` holding ``value`` (None: its initial value)."""
    kind = element.get("type")
    state: dict[str, Any] = {"type": kind}
    by_value = {o["value"]: o for o in options_of(element)}
    if kind in TEXT_INPUTS:
        state["value"] = element.get("initial_value") if value is None else str(value)
    elif kind in ("static_select", "radio_buttons", "external_select"):
        state["selected_option"] = (copy.deepcopy(element.get("initial_option")) if value is None
                                    else copy.deepcopy(by_value[str(value)]))
    elif kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        state["selected_options"] = (copy.deepcopy(element.get("initial_options") or []) if value is None
                                     else [copy.deepcopy(by_value[str(v)]) for v in value])
    elif kind == "datepicker":
        state["selected_date"] = element.get("initial_date") if value is None else value
    elif kind == "users_select":
        state["selected_user"] = element.get("initial_user") if value is None else value
    elif kind == "multi_users_select":
        state["selected_users"] = list(element.get("initial_users") or []) if value is None else list(value)
    elif kind == "conversations_select":
        state["selected_conversation"] = element.get("initial_conversation") if value is None else value
    elif kind in ("multi_conversations_select", "multi_channels_select"):
        key = "selected_conversations" if kind.startswith("multi_conv") else "selected_channels"
        state[key] = list(element.get("initial_" + key.split("_")[1]) or []) if value is None else list(value)
    elif kind == "channels_select":
        state["selected_channel"] = element.get("initial_channel") if value is None else value
    elif kind == "timepicker":
        state["selected_time"] = element.get("initial_time") if value is None else value
    else:
        raise DemoError(f"the demo cannot fill a {kind!r} element")
    return state


def fill(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``state.values`` of every input block in ``view``: ``values[block_id]`` where given,
    the block's initial value otherwise (what Slack sends for a field left as it was)."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        state[block["block_id"]] = {element["action_id"]: element_state(element, values.get(block["block_id"]))}
    return state


class Driver:
    """Signed requests to the bot at ``bot_url``, as people in ``slack``'s workspace."""

    def __init__(self, slack: LoopbackSlack, bot_url: str, signing_secret: str, command: str = "/icp-check"):
        self.slack, self.bot_url, self.command = slack, bot_url, command
        self.verifier = SignatureVerifier(signing_secret)
        self.requests = 0

    def _post(self, body: str, content_type: str) -> tuple[int, str]:
        ts = str(int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body)}
        request = urllib.request.Request(self.bot_url, data=body.encode(), headers=headers, method="POST")
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            raise DemoError(f"the bot answered HTTP {exc.code}: {exc.read()[:300]!r}") from exc

    def _interactive(self, payload: dict[str, Any]) -> dict[str, Any]:
        _, body = self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return json.loads(body) if body.strip() else {}

    def _who(self, user: str) -> dict[str, Any]:
        person = self.slack.people[user]
        return {"id": user, "username": person.name, "name": person.name, "team_id": self.slack.team_id}

    # -- what a person does ------------------------------------------------------------------
    def slash(self, user: str, text: str, channel: str | None = None) -> list[dict[str, Any]]:
        """``/icp-check text`` typed by ``user``; what the bot posted to its response_url."""
        channel = channel or self.slack.dm_of(user)
        url = self.slack.new_response_url("commands", channel, user)
        form = {"token": "demo", "team_id": self.slack.team_id, "team_domain": "demo",
                "channel_id": channel, "channel_name": "directmessage" if channel.startswith("D") else
                self.slack.channels.get(channel, {}).get("name", channel), "user_id": user,
                "user_name": self.slack.people[user].name, "command": self.command, "text": text,
                "api_app_id": self.slack.app_id, "is_enterprise_install": "false", "response_url": url,
                "trigger_id": self.slack.new_trigger(user)}
        status, _ = self._post(urlencode(form), "application/x-www-form-urlencoded")
        if status != 200:
            raise DemoError(f"{self.command} {text}: HTTP {status}")
        return self.slack.responses[url]

    def click(self, user: str, message: dict[str, Any], channel: str, action_id: str) -> dict[str, Any]:
        """``user`` clicks the button ``action_id`` of a message in ``channel``."""
        block, button = _find(message.get("blocks") or [], action_id)
        payload = {
            "type": "block_actions", "user": self._who(user), "api_app_id": self.slack.app_id,
            "token": "demo", "trigger_id": self.slack.new_trigger(user),
            "team": {"id": self.slack.team_id, "domain": "demo"}, "enterprise": None,
            "is_enterprise_install": False,
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                          "is_ephemeral": False},
            "channel": {"id": channel, "name": "directmessage"}, "message": message,
            "state": {"values": {}},
            "response_url": self.slack.new_response_url("actions", channel, user, message["ts"]),
            "actions": [{"type": "button", "action_id": action_id, "block_id": block["block_id"],
                         "text": button.get("text"), "value": button.get("value"),
                         "action_ts": f"{time.time():.6f}"}],
        }
        return self._interactive(payload)

    def submit(self, user: str, values: dict[str, Any]) -> dict[str, Any]:
        """``user`` fills their open modal with ``values`` (block_id -> value) and submits it;
        the ack is applied as Slack applies it (update, push, clear, errors, or close)."""
        record = self.slack.current_view(user)
        if record is None:
            raise DemoError(f"{user} has no open modal to submit")
        record["state"] = fill(record["view"], values)
        self.slack.submitted(record["id"], record["state"])
        payload = {"type": "view_submission", "team": {"id": self.slack.team_id, "domain": "demo"},
                   "user": self._who(user), "api_app_id": self.slack.app_id, "token": "demo",
                   "trigger_id": self.slack.new_trigger(user), "view": self.slack.view_api(record),
                   "response_urls": [], "is_enterprise_install": False, "enterprise": None}
        ack = self._interactive(payload)
        action = ack.get("response_action")
        with self.slack.lock:
            if action == "update":
                self.slack.replace_view(record, ack["view"])
                self.slack.record("view_ack_update", user, ack["view"], view_id=record["id"])
            elif action == "push":
                pushed = self.slack.new_view(user, ack["view"])
                self.slack.stacks[user].append(pushed["id"])
                self.slack.record("view_ack_push", user, ack["view"], view_id=pushed["id"])
            elif action == "errors":
                raise DemoError(f"the form {record['view'].get('callback_id')!r} was refused: {ack.get('errors')}")
            elif action == "clear":
                self.slack.stacks[user] = []
            else:
                self.slack.close_modals(user, record["id"])
        return ack

    def close(self, user: str) -> None:
        """``user`` closes their modals (none of the demo's modals asks to be told)."""
        with self.slack.lock:
            self.slack.stacks[user] = []

    def home_opened(self, user: str) -> None:
        event = {"type": "app_home_opened", "user": user, "channel": self.slack.dm_of(user), "tab": "home",
                 "event_ts": f"{time.time():.6f}"}
        payload = {"token": "demo", "team_id": self.slack.team_id, "api_app_id": self.slack.app_id,
                   "event": event, "type": "event_callback", "event_id": f"Ev{self.requests:08d}",
                   "event_time": int(time.time()),
                   "authorizations": [{"enterprise_id": None, "team_id": self.slack.team_id,
                                       "user_id": self.slack.bot_user_id, "is_bot": True,
                                       "is_enterprise_install": False}]}
        self._post(json.dumps(payload), "application/json")


def _find(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else (
            [block["accessory"]] if isinstance(block.get("accessory"), dict) else [])
        for element in elements:
            if element.get("action_id") == action_id:
                return block, element
    raise DemoError(f"no button {action_id!r} in the message")


def buttons(message: dict[str, Any]) -> list[str]:
    """The action ids of a message's buttons, in order."""
    found = []
    for block in message.get("blocks") or []:
        if block.get("type") == "actions":
            found += [e.get("action_id") for e in block.get("elements", []) if e.get("type") == "button"]
        elif isinstance(block.get("accessory"), dict) and block["accessory"].get("type") == "button":
            found.append(block["accessory"].get("action_id"))
    return found
