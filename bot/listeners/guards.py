"""What a listener declares once instead of writing into its body.

``leaders_only(what)``: the listener runs for leaders only. A click is acknowledged first
and anyone else is told "Only ICP Align leaders can <what>." where they clicked (the
message's response_url, else a DM: a click in App Home or a modal has no response_url, and a
view is never overwritten for someone who is not its owner); a form submission from anyone
else gets that notice in the modal, and nothing is saved.

``open_view(client, trigger_id, view, what)``: a modal opened from a click or a command; a
trigger Slack refuses is one log line, never an exception after the ack.

``form_submission(title)``: a view submission is acknowledged exactly once: if the listener
fails before it acknowledged, the person sees "Something went wrong on our side" in the
modal rather than Slack's connection error.

Both read the listener's own arguments, so a guarded listener must take the ones they use
(``ack``, ``body``, ``requester``, ``client``, and ``respond`` for clicks); that is checked
when the module is imported.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views.notices import notice_view

log = logging.getLogger(__name__)


def open_view(client: WebClient, trigger_id: str, view: Any, what: str) -> str | None:
    """``views.open``; Slack's error code, logged in one line, when it refuses the trigger (expired,
    used already, or never Slack's: a replayed or hand-made click), else None."""
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown")
        log.warning("views.open failed for %s: %s", what, error)
        return error
    return None

Listener = Callable[..., None]


def _require(fn: Listener, names: tuple[str, ...]) -> None:
    params = inspect.signature(inspect.unwrap(fn)).parameters
    missing = [n for n in names if n not in params]
    if missing:
        raise TypeError(f"{fn.__name__} must take {', '.join(missing)} to be guarded")


def leaders_only(what: str, *, title: str = "ICP Align") -> Callable[[Listener], Listener]:
    def decorate(fn: Listener) -> Listener:
        _require(fn, ("ack", "body", "requester", "client"))

        @functools.wraps(fn)
        def guarded(**kwargs: Any) -> None:
            ack, body, requester = kwargs["ack"], kwargs["body"], kwargs["requester"]
            refusal = f"Only ICP Align leaders can {what}."
            if body.get("type") == "view_submission":
                if not requester.is_leader:
                    log.warning("refused a leader form (%s) from %s", what, requester.user_id)
                    ack(response_action="update", view=notice_view(title, refusal + " Nothing was saved."))
                    return
                fn(**kwargs)
                return
            ack()
            if requester.is_leader:
                fn(**kwargs)
                return
            log.warning("refused a leader button (%s) from %s", what, requester.user_id)
            respond = kwargs.get("respond")
            if body.get("response_url") and respond is not None:
                respond(response_type="ephemeral", replace_original=False, text=refusal)
            else:
                kwargs["client"].chat_postMessage(channel=requester.user_id, text=refusal)

        return guarded

    return decorate


def form_submission(title: str) -> Callable[[Listener], Listener]:
    def decorate(fn: Listener) -> Listener:
        _require(fn, ("ack",))

        @functools.wraps(fn)
        def guarded(**kwargs: Any) -> None:
            ack = kwargs["ack"]
            try:
                fn(**kwargs)
            except Exception:
                log.exception("the %s form failed", title)
                if ack.response is None:
                    ack(response_action="update", view=notice_view(
                        title, "Something went wrong on our side and nothing was saved. Please try again."))
                return
            if ack.response is None:  # a listener that forgot to answer: close the modal cleanly
                ack()

        return guarded

    return decorate
