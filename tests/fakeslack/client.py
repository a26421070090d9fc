"""Slack's side of the conversation: build real payloads, sign them, deliver them to the bot.

Delivery is one of:

- in process: ``SlackClientSim(fake, app=app, signing_secret=secret)`` signs each request as
  Slack does and hands it to bolt's ``App.dispatch`` (see ``transport.py``); with the app's
  listeners on an ``InlineExecutor`` the bot is done when a call returns;
- HTTP: ``SlackClientSim(fake, "http://127.0.0.1:PORT/slack/events", secret)``, signed
  requests to a real server's Request URL;
- Socket Mode: ``SlackClientSim(fake, socket_mode=True)``, envelopes over the fake's websocket.

``sim.expect(predicate)`` reads what the bot did: at once when it ran in process, else
waiting (bounded) on the fake for a real server to get there.

Payload shapes follow Slack's reference payloads (slash command form body, block_actions /
view_submission / view_closed in a ``payload=`` form field, event_callback JSON); compare
shared/slack-reference/payloads.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .server import FakeSlack
from .transport import BoltDispatch, HttpTransport, SimResponse
from .workspace import Message, ViewRecord

Answers = dict[Any, Any]


class AckBody(dict):
    """Parsed ack of a view_submission; ``.status``, ``.view`` (after applying it), ``.errors``."""

    status: int = 200
    view: ViewRecord | None = None

    @property
    def response_action(self) -> str | None:
        return self.get("response_action")

    @property
    def errors(self) -> dict[str, str]:
        return self.get("errors") or {}


class ViewSubmissionBlocked(AssertionError):
    """Slack's client would not send the submission (required input empty, bad number...)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(f"Slack would block this submission: {problems}")
        self.problems = problems


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Request-Timestamp / X-Slack-Signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


# ------------------------------------------------------------------------------ fill_view
def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    opts = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        opts.extend(group.get("options") or [])
    return opts


def _find_option(element: dict[str, Any], value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        value = value.get("value")
    for opt in _options(element):
        if opt.get("value") == value:
            return copy.deepcopy(opt)
    raise ValueError(f"{where}: no option with value {value!r}")


def _rich_text(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    return {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": str(value)}]}
        ],
    }


def element_state(
    element: dict[str, Any], value: Any = None, answered: bool = True
) -> dict[str, Any]:
    """One ``state.values[block_id][action_id]`` entry, in Slack's shape per element type."""
    etype = element.get("type")
    where = f"{etype} {element.get('action_id')!r}"
    state: dict[str, Any] = {"type": etype}
    if etype in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        if not answered:
            value = element.get("initial_value")
        state["value"] = None if value is None else str(value)
    elif etype in ("static_select", "external_select", "radio_buttons"):
        if not answered:
            state["selected_option"] = copy.deepcopy(element.get("initial_option"))
        else:
            state["selected_option"] = (
                None if value is None else _find_option(element, value, where)
            )
    elif etype in ("multi_static_select", "multi_external_select", "checkboxes"):
        if not answered:
            state["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
        else:
            values = (
                []
                if value is None
                else (value if isinstance(value, list | tuple | set) else [value])
            )
            state["selected_options"] = [_find_option(element, v, where) for v in values]
    elif etype == "users_select":
        state["selected_user"] = element.get("initial_user") if not answered else value
    elif etype == "multi_users_select":
        state["selected_users"] = (
            list(element.get("initial_users") or []) if not answered else list(value or [])
        )
    elif etype == "conversations_select":
        state["selected_conversation"] = (
            element.get("initial_conversation") if not answered else value
        )
    elif etype == "multi_conversations_select":
        state["selected_conversations"] = (
            list(element.get("initial_conversations") or []) if not answered else list(value or [])
        )
    elif etype == "channels_select":
        state["selected_channel"] = element.get("initial_channel") if not answered else value
    elif etype == "multi_channels_select":
        state["selected_channels"] = (
            list(element.get("initial_channels") or []) if not answered else list(value or [])
        )
    elif etype == "datepicker":
        state["selected_date"] = element.get("initial_date") if not answered else value
    elif etype == "timepicker":
        state["selected_time"] = element.get("initial_time") if not answered else value
        if element.get("timezone"):
            state["timezone"] = element["timezone"]
    elif etype == "datetimepicker":
        chosen = element.get("initial_date_time") if not answered else value
        state["selected_date_time"] = None if chosen is None else int(chosen)
    elif etype == "rich_text_input":
        chosen = element.get("initial_value") if not answered else value
        state["rich_text_value"] = None if chosen is None else _rich_text(chosen)
    elif etype == "file_input":
        state["files"] = list(value or []) if answered else []
    else:
        raise ValueError(f"no state shape for element type {etype!r}")
    return state


def _stateful_elements(view: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every element that can hold state, input blocks first."""
    out = []
    for block in view.get("blocks", []):
        btype = block.get("type")
        if btype == "input" and isinstance(block.get("element"), dict):
            out.append((block, block["element"]))
        elif btype == "actions":
            out.extend(
                (block, el) for el in block.get("elements", []) if el.get("type") != "button"
            )
        elif btype == "section" and isinstance(block.get("accessory"), dict):
            if block["accessory"].get("type") not in ("button", "image", "overflow"):
                out.append((block, block["accessory"]))
    return out


def _match(
    answers: Answers, block: dict[str, Any], element: dict[str, Any], counts: dict[str, int]
) -> tuple[bool, Any]:
    bid, aid = block.get("block_id"), element.get("action_id")
    for key in ((bid, aid), f"{bid}/{aid}", bid):
        if key in answers:
            return True, answers[key]
    if aid in answers:
        if counts.get(aid, 0) > 1:
            raise ValueError(
                f"action_id {aid!r} is used by several blocks: key the answer by block_id"
            )
        return True, answers[aid]
    return False, None


def fill_view(view: dict[str, Any] | ViewRecord, answers: Answers) -> dict[str, Any]:
    """``state.values`` for ``view`` as Slack would send it after the user typed ``answers``.

    ``answers`` is keyed by action_id, block_id, ``"block_id/action_id"`` or
    ``(block_id, action_id)``; values are the plain thing the user picked: text for inputs,
    option *values* for selects / radio buttons (a list for multi-selects and checkboxes),
    user / conversation ids, "YYYY-MM-DD" dates, "HH:MM" times. Every input block appears
    in the result (unanswered ones with their initial value or null), as in Slack's payload;
    elements outside input blocks appear only when answered.
    """
    definition = view.definition if isinstance(view, ViewRecord) else view
    pairs = _stateful_elements(definition)
    counts: dict[str, int] = {}
    for _, el in pairs:
        counts[el.get("action_id")] = counts.get(el.get("action_id"), 0) + 1
    values: dict[str, Any] = {}
    used: set[Any] = set()
    for block, element in pairs:
        answered, value = _match(answers, block, element, counts)
        if not answered and block.get("type") != "input":
            continue
        if answered:
            for key in (
                (block.get("block_id"), element.get("action_id")),
                f"{block.get('block_id')}/{element.get('action_id')}",
                block.get("block_id"),
                element.get("action_id"),
            ):
                used.add(key)
        values.setdefault(block["block_id"], {})[element["action_id"]] = element_state(
            element, value, answered
        )
    unknown = [k for k in answers if k not in used]
    if unknown:
        raise ValueError(f"answers for unknown block_id/action_id: {unknown!r}")
    return values


def _is_empty(state: dict[str, Any]) -> bool:
    for key, val in state.items():
        if key in ("type", "timezone"):
            continue
        if val not in (None, "", []):
            return False
    return True


def client_side_problems(view: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """What Slack's own client refuses before sending a view_submission."""
    problems: dict[str, str] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el = block.get("element", {})
        state = values.get(block["block_id"], {}).get(el.get("action_id"), {})
        if _is_empty(state):
            if not block.get("optional", False):
                problems[block["block_id"]] = "This field is required."
            continue
        if el.get("type") == "plain_text_input":
            text = state.get("value") or ""
            if "max_length" in el and len(text) > el["max_length"]:
                problems[block["block_id"]] = f"Must be {el['max_length']} characters or fewer."
            if "min_length" in el and len(text) < el["min_length"]:
                problems[block["block_id"]] = f"Must be at least {el['min_length']} characters."
        elif el.get("type") == "number_input":
            try:
                number = float(state["value"])
            except (TypeError, ValueError):
                problems[block["block_id"]] = "Enter a number."
                continue
            if not el.get("is_decimal_allowed") and not float(number).is_integer():
                problems[block["block_id"]] = "Enter a whole number."
            if "min_value" in el and number < float(el["min_value"]):
                problems[block["block_id"]] = f"Enter a number of {el['min_value']} or more."
            if "max_value" in el and number > float(el["max_value"]):
                problems[block["block_id"]] = f"Enter a number of {el['max_value']} or less."
        elif el.get("type") in (
            "multi_static_select",
            "multi_users_select",
            "multi_conversations_select",
            "multi_channels_select",
        ):
            chosen = next((v for k, v in state.items() if k.startswith("selected_")), [])
            if "max_selected_items" in el and len(chosen) > el["max_selected_items"]:
                problems[block["block_id"]] = f"Select up to {el['max_selected_items']} items."
    return problems


# ------------------------------------------------------------------------------ the simulator
class SlackClientSim:
    """Drives a bolt app the way Slack does (see module docstring)."""

    def __init__(
        self,
        fake: FakeSlack,
        bot_url: str | None = None,
        signing_secret: str = "",
        socket_mode: bool = False,
        timeout: float = 10.0,
        command: str = "/icp",
        app: Any = None,
    ) -> None:
        if sum((bool(bot_url), socket_mode, app is not None)) != 1:
            raise ValueError("give one of bot_url (HTTP), app (in process) or socket_mode=True")
        self.fake = fake
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.socket_mode = socket_mode
        self.timeout = timeout
        self.command = command
        self.transport: Callable[[str, dict[str, str]], SimResponse] | None = None
        if app is not None:
            self.transport = BoltDispatch(app)
        elif bot_url:
            self.transport = HttpTransport(bot_url, timeout)

    @property
    def synchronous(self) -> bool:
        """True when a delivery returns only after the bot has done all it does for it."""
        return bool(getattr(self.transport, "synchronous", False))

    def expect(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        """``predicate()``'s truthy result: checked once when the bot runs in process (it is
        done by now), awaited up to ``timeout`` from a real server or over Socket Mode."""
        if self.synchronous:
            result = predicate()
            assert result, "the bot had not done it when its request returned"
            return result
        return self.fake.wait_for(predicate, timeout=self.timeout if timeout is None else timeout)

    # ------------------------------------------------------------------ transport
    def send_raw(self, body: str, headers: dict[str, str]) -> SimResponse:
        """``body`` with exactly ``headers`` (no signature added): for forged requests."""
        if self.transport is None:
            raise RuntimeError("Socket Mode has no HTTP requests")
        return self.transport(body, headers)

    def _post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> SimResponse:
        all_headers = {
            "Content-Type": content_type,
            **sign(self.signing_secret, body),
            **(headers or {}),
        }
        return self.send_raw(body, all_headers)

    def _envelope(self, kind: str, payload: dict[str, Any], **extra: Any) -> SimResponse:
        ack = self.fake.socket_send(
            {
                "envelope_id": str(uuid.uuid4()),
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                **extra,
            },
            timeout=self.timeout,
        )
        body = ack.get("payload")
        return SimResponse(200, json.dumps(body) if body is not None else "", {})

    def send_interactive(self, payload: dict[str, Any]) -> SimResponse:
        if self.socket_mode:
            return self._envelope("interactive", payload)
        body = urlencode({"payload": json.dumps(payload)})
        return self._post(body, "application/x-www-form-urlencoded")

    def send_event(self, event: dict[str, Any], retry_num: int | None = None) -> SimResponse:
        payload = {
            "token": "verification-token",
            "team_id": self.fake.team_id,
            "api_app_id": self.fake.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.fake.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }
        if self.socket_mode:
            extra = {
                "retry_attempt": retry_num or 0,
                "retry_reason": "timeout" if retry_num else "",
            }
            return self._envelope("events_api", payload, **extra)
        headers = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._post(json.dumps(payload), "application/json", headers)

    # ------------------------------------------------------------------ payload parts
    def _user_obj(self, user_id: str) -> dict[str, Any]:
        user = self.fake.users.get(user_id)
        name = user.name if user else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.fake.team_id}

    def _team_obj(self) -> dict[str, Any]:
        return {"id": self.fake.team_id, "domain": self.fake.team_domain}

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channels.get(channel_id)
        if channel is None or channel.is_im:
            return "directmessage"
        return channel.name

    # ------------------------------------------------------------------ slash commands
    def slash(
        self, user: str, text: str = "", channel: str | None = None, command: str | None = None
    ) -> SimResponse:
        """A slash command (form-encoded; in Socket Mode a ``slash_commands`` envelope).

        ``.response_url`` on the result is the url the bot may ``respond()`` to.
        """
        channel = channel or "D" + user
        if channel.startswith("D") and channel[1:] in self.fake.users:
            with self.fake.lock:
                self.fake.ensure_dm(channel[1:])
        response_url = self.fake.new_response_url("commands", channel, user)
        form = {
            "token": "verification-token",
            "team_id": self.fake.team_id,
            "team_domain": self.fake.team_domain,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self._user_obj(user)["name"],
            "command": command or self.command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.fake.new_trigger_id(user),
        }
        if self.socket_mode:
            result = self._envelope("slash_commands", form)
        else:
            result = self._post(urlencode(form), "application/x-www-form-urlencoded")
        result.response_url = response_url
        return result

    # ------------------------------------------------------------------ block_actions
    def _find_action(
        self, blocks: list[dict[str, Any]], action_id: str, block_id: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        for block in blocks:
            if block_id and block.get("block_id") != block_id:
                continue
            candidates = []
            if block.get("type") == "actions":
                candidates = block.get("elements", [])
            elif block.get("type") == "section" and block.get("accessory"):
                candidates = [block["accessory"]]
            elif block.get("type") == "input" and block.get("element"):
                candidates = [block["element"]]
            for el in candidates:
                if el.get("action_id") == action_id:
                    return block, el
        raise ValueError(f"no element with action_id {action_id!r} in these blocks")

    def _action(self, block: dict[str, Any], element: dict[str, Any], value: Any) -> dict[str, Any]:
        etype = element.get("type")
        action: dict[str, Any] = {
            "type": etype,
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "action_ts": f"{time.time():.6f}",
        }
        if etype == "button":
            action["text"] = element.get("text")
            if "value" in element:
                action["value"] = element["value"] if value is None else value
            elif value is not None:
                action["value"] = value
            if "style" in element:
                action["style"] = element["style"]
        elif etype == "overflow":
            action["selected_option"] = _find_option(element, value, etype)
        else:
            action.update({k: v for k, v in element_state(element, value).items() if k != "type"})
            if "placeholder" in element:
                action["placeholder"] = element["placeholder"]
        return action

    def click(
        self,
        user: str,
        where: Message | ViewRecord | dict[str, Any] | str,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
    ) -> SimResponse:
        """A block_actions payload for an element in a message or a view.

        ``where``: a ``Message`` from ``fake.messages()``, a ``ViewRecord`` (modal or home),
        a view id, or a message dict with ``channel`` and ``ts``. ``value`` overrides a
        button's value, or is the option value / user id / date chosen in a select.
        """
        if isinstance(where, str):
            record = self.fake.views.get(where)
            if record is None:
                raise ValueError(f"no open view {where!r}")
            where = record
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": self.fake.app_id,
            "token": "verification-token",
            "trigger_id": self.fake.new_trigger_id(user),
            "team": self._team_obj(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if isinstance(where, ViewRecord):
            block, element = self._find_action(where.blocks, action_id, block_id)
            action = self._action(block, element, value)
            if element.get("type") != "button" and block.get("type") == "input":
                where.state_values.setdefault(block["block_id"], {})[element["action_id"]] = (
                    element_state(element, value)
                )
            payload["container"] = {"type": "view", "view_id": where.id}
            payload["view"] = where.to_api()
            payload["actions"] = [action]
            payload["state"] = {"values": where.state_values}
        else:
            message = where
            channel_id = message["channel"]
            ts = message["ts"]
            current = self.fake.message(channel_id, ts)
            eph = None
            if current is None:
                eph = next((e for e in self.fake.ephemerals(user) if e.ts == ts), None)
                if eph is None:
                    raise ValueError(f"no message {ts} in {channel_id}")
            blocks = (current or eph).blocks or []  # type: ignore[union-attr]
            block, element = self._find_action(blocks, action_id, block_id)
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": eph is not None,
            }
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            if current is not None:
                payload["message"] = current.to_api(self.fake.team_id)
            payload["state"] = {"values": {}}
            payload["response_url"] = self.fake.new_response_url(
                "actions", channel_id, user, message_ts=ts, is_ephemeral=eph is not None
            )
            payload["actions"] = [self._action(block, element, value)]
        return self.send_interactive(payload)

    # ------------------------------------------------------------------ views
    def _view_for(self, user: str, view_id: str | None) -> ViewRecord:
        if view_id is None:
            record = self.fake.current_view(user)
            if record is None:
                raise ValueError(f"{user} has no open modal")
            return record
        record = self.fake.views.get(view_id)
        if record is None:
            raise ValueError(f"no open view {view_id!r}")
        return record

    def submit(
        self,
        user: str,
        view_id: str | None = None,
        values: Answers | None = None,
        check_client_side: bool = True,
    ) -> AckBody:
        """Submit the user's current modal (or ``view_id``) with ``values`` (see ``fill_view``).

        Reads the view as the bot last opened/updated/pushed it, posts a view_submission,
        then applies the ack like Slack: ``update`` replaces the view, ``push`` stacks a new
        one, ``clear`` closes all, ``errors`` keeps the view (``record.errors``), and an
        empty ack closes the submitted view.
        """
        record = self._view_for(user, view_id)
        state = fill_view(record, values or {})
        merged = {**record.state_values, **state}
        if check_client_side:
            problems = client_side_problems(record.definition, merged)
            if problems:
                raise ViewSubmissionBlocked(problems)
        record.state_values = merged
        view_payload = record.to_api()
        payload = {
            "type": "view_submission",
            "team": self._team_obj(),
            "user": self._user_obj(user),
            "api_app_id": self.fake.app_id,
            "token": "verification-token",
            "trigger_id": self.fake.new_trigger_id(user),
            "view": view_payload,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        response = self.send_interactive(payload)
        ack = AckBody(response.json() or {})
        ack.status = response.status
        if response.status != 200:
            return ack
        ack.view = self.fake.apply_submission_ack(user, record, ack)
        return ack

    def close_view(self, user: str, view_id: str | None = None) -> SimResponse | None:
        """The user clicks Close: ``view_closed`` is sent only if the view has notify_on_close."""
        record = self._view_for(user, view_id)
        clear = self.fake.close_modal(user, record)
        if not record.definition.get("notify_on_close"):
            return None
        payload = {
            "type": "view_closed",
            "team": self._team_obj(),
            "user": self._user_obj(user),
            "api_app_id": self.fake.app_id,
            "token": "verification-token",
            "view": record.to_api(),
            "is_cleared": clear,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.send_interactive(payload)

    # ------------------------------------------------------------------ events
    def home_opened(self, user: str) -> SimResponse:
        """``app_home_opened`` (tab "home"), with the current Home view if one was published."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user,
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.fake.home_views.get(user)
        if home is not None:
            event["view"] = home.to_api()
        return self.send_event(event)

    def message_event(self, user: str, text: str, channel: str | None = None) -> SimResponse:
        """A ``message`` event (e.g. a DM to the bot, ``channel_type`` "im")."""
        channel = channel or "D" + user
        return self.send_event(
            {
                "type": "message",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
                "channel": channel,
                "event_ts": f"{time.time():.6f}",
                "channel_type": "im" if channel.startswith("D") else "channel",
            }
        )
