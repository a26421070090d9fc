"""The fake's HTTP side: Slack's Web API wire format (form or JSON bodies, Bearer or Basic
auth, Slack's charset warnings) on 127.0.0.1, plus response_urls and file upload URLs."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from .ratelimit import DroppedConnection

if TYPE_CHECKING:
    from .server import FakeSlack


class FakeSlackHandler(BaseHTTPRequestHandler):
    """Routes /api/<method>, response_urls and upload URLs to ``fake`` (set per server)."""

    fake: FakeSlack
    server_version = "FakeSlack/1.0"
    # Slack keeps connections alive: a client that asks for it (no "Connection: close", as
    # urllib sends) makes its next calls on the same connection. Every answer has its length.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are written apart: no delayed-ACK wait between

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: str | bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.fake
        parsed = urlparse(self.path)
        raw = self._read_body()
        path = parsed.path
        if path.startswith("/upload/v1/"):
            status, text = fake.handle_upload(path.rsplit("/", 1)[-1], raw)
            self._send(status, text, "text/plain; charset=utf-8")
            return
        if path.startswith(("/commands/", "/actions/")):
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            status, text = fake.handle_response_url(fake.base_url + path, payload)
            self._send(status, text, "text/html")
            return
        if not path.startswith("/api/"):
            self._send(404, "not found", "text/plain")
            return

        method = path[len("/api/") :]
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        content_type = (self.headers.get("Content-Type") or "").lower()
        warnings: list[str] = []
        if raw:
            if content_type.startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(
                        200,
                        json.dumps({"ok": False, "error": "invalid_json"}),
                        "application/json; charset=utf-8",
                    )
                    return
                if isinstance(body, dict):
                    params.update(body)
                if "charset" not in content_type:
                    warnings.append("missing_charset")
            else:
                params.update(
                    {
                        k: v[0]
                        for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()
                    }
                )
                # slack_sdk dropped "; charset=utf-8" from form posts because Slack
                # answered it with this warning (python-slack-sdk#692).
                if (
                    content_type.startswith("application/x-www-form-urlencoded")
                    and "charset" in content_type
                ):
                    warnings.append("superfluous_charset")
        token = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif auth.lower().startswith("basic ") and method == "oauth.v2.access":
            # client credentials, as slack_sdk sends them (HTTP Basic, Slack's recommendation)
            client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            params.setdefault("client_id", client_id)
            params.setdefault("client_secret", client_secret)
        token = token or params.get("token")
        recorded = {k: v for k, v in params.items() if k != "token"}
        try:
            status, headers, body = fake.dispatch(method, recorded, token)
        except DroppedConnection as dropped:
            fake.record_call(method, recorded, {"ok": False, "error": "connection_dropped",
                                                "done": dropped.response})
            fake.hold(dropped.hold)
            self.close_connection = True  # closed without a response: the client's answer is lost
            return
        fake.hold(fake.limiter.delay_for(method))  # slow(): done already, answered late
        if warnings and body.get("ok"):
            body["warning"] = ",".join(warnings)
            body.setdefault("response_metadata", {})["warnings"] = warnings
        fake.record_call(method, recorded, body)
        self._send(status, json.dumps(body), "application/json; charset=utf-8", headers)
