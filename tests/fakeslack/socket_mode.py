"""Slack's Socket Mode side: the wss URL from apps.connections.open, served locally.

Uses ``websockets``' threaded (sync) server, which speaks RFC 6455 fully (masking,
fragmentation, ping/pong, close handshake), so it works with slack_sdk's builtin client
(its own socket-level implementation, the default for bolt's SocketModeHandler) as well as
the websockets/aiohttp based ones.

Protocol (docs.slack.dev/apis/events-api/using-socket-mode): on connect Slack sends
``{"type": "hello", ...}``; then envelopes
``{"envelope_id", "type": "slash_commands"|"interactive"|"events_api", "payload",
"accepts_response_payload"}``; the app answers each with ``{"envelope_id", "payload"?}``.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.sync.server import Server, ServerConnection, serve


class SocketModeTimeout(TimeoutError):
    pass


class SocketModeServer:
    def __init__(self, app_id: str, host: str = "127.0.0.1") -> None:
        self.app_id = app_id
        self.host = host
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._ack_cond = threading.Condition(self._lock)
        self.received: list[dict[str, Any]] = []  # every message the app sent us
        self.connect_count = 0
        self._server: Server = serve(
            self._handler,
            host,
            0,
            process_request=self._process_request,
            compression=None,
            ping_interval=20,
            ping_timeout=20,
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fakeslack-socket-mode", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle
    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def close(self) -> None:
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        parsed = urlparse(request.path)
        ticket = (parse_qs(parsed.query).get("ticket") or [""])[0]
        with self._lock:
            ok = parsed.path.rstrip("/") == "/link" and ticket in self._tickets
            if ok:
                self._tickets.discard(ticket)  # a wss URL works once, like Slack's
        if not ok:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
        return None

    def _handler(self, conn: ServerConnection) -> None:
        with self._lock:
            self._connections.append(conn)
            self.connect_count += 1
            num = len(self._connections)
            self._ack_cond.notify_all()
        try:
            conn.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": num,
                        "debug_info": {
                            "host": "applink-fakeslack",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            for raw in conn:
                try:
                    message = json.loads(raw)
                except (TypeError, ValueError):
                    continue
                with self._lock:
                    self.received.append(message)
                    envelope_id = message.get("envelope_id")
                    if envelope_id:
                        self._acks[envelope_id] = message
                        self._ack_cond.notify_all()
        except Exception:
            pass
        finally:
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._ack_cond.notify_all()

    # ------------------------------------------------------------------ test API
    @property
    def connected(self) -> int:
        with self._lock:
            return len(self._connections)

    def wait_connected(self, timeout: float = 5.0) -> None:
        with self._ack_cond:
            if not self._ack_cond.wait_for(lambda: self._connections, timeout=timeout):
                raise SocketModeTimeout("no Socket Mode client connected")

    def send(self, envelope: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send an envelope to the newest connection and wait for its ack."""
        envelope = dict(envelope)
        envelope.setdefault("envelope_id", str(uuid.uuid4()))
        envelope.setdefault("accepts_response_payload", envelope.get("type") != "events_api")
        self.wait_connected(timeout)
        with self._lock:
            conn = self._connections[-1]
        conn.send(json.dumps(envelope))
        envelope_id = envelope["envelope_id"]
        with self._ack_cond:
            if not self._ack_cond.wait_for(lambda: envelope_id in self._acks, timeout=timeout):
                raise SocketModeTimeout(f"no ack for envelope {envelope_id}")
            return self._acks.pop(envelope_id)

    def ping(self, timeout: float = 5.0) -> bool:
        """Ping the newest connection (an RFC 6455 control frame); True once it answered."""
        with self._lock:
            conn = self._connections[-1]
        return conn.ping().wait(timeout)

    def close_connections(self) -> None:
        """Close every connection from Slack's side (a close frame, as when Slack ends a
        session): the client's blocking read returns at once instead of at its timeout."""
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass
        with self._ack_cond:
            self._ack_cond.wait_for(lambda: not self._connections, timeout=5)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``{"type": "disconnect"}`` message (the client should reconnect)."""
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            conn.send(
                json.dumps(
                    {
                        "type": "disconnect",
                        "reason": reason,
                        "debug_info": {"host": "applink-fakeslack"},
                    }
                )
            )
