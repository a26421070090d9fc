"""The load generator of ``benchmarks.survey_steps``, run as its own process so that its CPU
is not the bot's: one thread per client (a person in the modal), each on its own keep-alive
HTTP connection, submitting signed ``view_submission`` payloads built from the modal it
holds (``tests.fakeslack.fill_view``), the way Slack's client does, and following the
acks' ``response_action: update`` to the next step.

Usage: ``python -m benchmarks._loadgen``, then one job per line on stdin (JSON: the port,
the clients with user, team and first view, the steps per client), one result per line on
stdout (every request's latency and status and, per user, the sections whose submission
was acked). The process stays up between jobs, so its start-up is paid once.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

from tests.fakeslack import fill_view, sign
from tests.fakeslack.blockkit import fill_ids

PATH = "/slack/events"


def pick_answers(view: dict[str, Any], user: str) -> dict[str, Any]:
    """An answer for every input of ``view``, the same each time for the same user and block."""
    answers: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el, bid = block.get("element") or {}, block["block_id"]
        rng = random.Random(f"{user}:{bid}")
        etype = el.get("type")
        options = [o["value"] for o in el.get("options") or []]
        for group in el.get("option_groups") or []:
            options += [o["value"] for o in group.get("options") or []]
        if etype in ("static_select", "radio_buttons") and options:
            answers[bid] = rng.choice(options)
        elif etype in ("multi_static_select", "checkboxes") and options:
            most = min(int(el.get("max_selected_items") or 3), len(options))
            answers[bid] = rng.sample(options, rng.randint(1, most))
        elif etype == "number_input":
            low = float(el.get("min_value", 1))
            high = float(el.get("max_value", max(low, 1) * 1000))
            answers[bid] = str(rng.randint(int(low), int(high)))
        elif etype in ("plain_text_input", "rich_text_input"):
            answers[bid] = "Mid-size software companies that want to grow revenue."[: int(el.get("max_length", 200))]
    return answers


def section_of(view: dict[str, Any]) -> int | None:
    try:
        return int(json.loads(view.get("private_metadata") or "{}").get("section"))
    except (TypeError, ValueError):
        return None


def submission_body(view: dict[str, Any], user: str, team: str, app_id: str) -> str:
    values = fill_view(view, pick_answers(view, user))
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "fake-team"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": app_id,
        "token": "verification-token",
        "trigger_id": f"{time.time_ns()}.1.{user}",
        "view": {**view, "state": {"values": values}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


class Client(threading.Thread):
    def __init__(self, job: dict[str, Any], spec: dict[str, Any], start: threading.Barrier):
        super().__init__(daemon=True)
        self.job, self.spec, self.start_barrier = job, spec, start
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.actions: dict[str, int] = {}
        self.acked_sections: set[int] = set()
        self.finished = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        # a client's own port: the replicas benchmark spreads the clients over several servers
        port = self.spec.get("port") or self.job["port"]
        return http.client.HTTPConnection("127.0.0.1", port, timeout=self.job.get("timeout", 30))

    def run(self) -> None:
        user, team, first = self.spec["user"], self.spec["team"], self.spec["view"]
        view = first
        conn = self._connection()
        self.start_barrier.wait()
        deadline = time.monotonic() + self.job.get("deadline", 300)
        for _ in range(self.job["steps"]):
            if time.monotonic() > deadline:
                break
            body = submission_body(view, user, team, self.job.get("app_id", "A0FAKEAPP"))
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(self.job["secret"], body)}
            began = time.monotonic()
            try:
                conn.request("POST", PATH, body=body.encode(), headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status, data = type(exc).__name__, b""
                conn.close()
                conn = self._connection()
            self.latencies.append(time.monotonic() - began)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != "200":
                continue
            ack = json.loads(data) if data.strip() else {}
            action = ack.get("response_action") or "empty"
            self.actions[action] = self.actions.get(action, 0) + 1
            if action != "errors" and section_of(view) is not None:
                self.acked_sections.add(section_of(view))
            if action == "update" and ack["view"].get("callback_id") == first.get("callback_id"):
                updated = {**ack["view"], "blocks": fill_ids(ack["view"].get("blocks", []))}
                view = {**view, **updated, "hash": f"{time.time_ns()}.h"}
            elif action in ("update", "clear"):
                view = first  # the thank-you view: this person starts editing from the top again
        conn.close()
        self.finished = time.monotonic()


def run(job: dict[str, Any]) -> dict[str, Any]:
    barrier = threading.Barrier(len(job["clients"]) + 1)
    clients = [Client(job, spec, barrier) for spec in job["clients"]]
    for c in clients:
        c.start()
    barrier.wait()
    began = time.monotonic()
    for c in clients:
        c.join(job.get("deadline", 300) + 60)
    statuses: dict[str, int] = {}
    actions: dict[str, int] = {}
    for c in clients:
        for k, v in c.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in c.actions.items():
            actions[k] = actions.get(k, 0) + v
    return {
        "wall": max((c.finished for c in clients), default=began) - began,
        "latencies": [x for c in clients for x in c.latencies],
        "statuses": statuses,
        "actions": actions,
        "acked_sections": {c.spec["user"]: sorted(c.acked_sections) for c in clients},
    }


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
