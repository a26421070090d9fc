"""Web API calls over kept-alive connections: the outbox's transport.

slack_sdk's ``WebClient`` opens a connection per call (``urllib.request.urlopen``, which also
builds a new opener each time); against Slack that is a TCP and TLS handshake per message of a
fan-out. ``KeepAliveWebClient`` sends the same requests (slack_sdk builds them, checks the
answers and raises as before) over one HTTP/1.1 connection per worker thread and host, kept
between calls, with urlopen's contract: a non-2xx answer raises ``HTTPError``, a fault raises
``OSError`` / ``http.client.HTTPException``.

A kept connection the server has closed meanwhile is noticed before it is reused (it reads as
ready: EOF) or after ``MAX_IDLE`` seconds idle, and replaced. What remains is the server closing
it at the very moment a request goes out: that call fails as a lost connection, which the
outbox treats as uncertain (``bot.outbox`` looks the post up before sending it again), never
as a reason to repeat it here.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import threading
import time
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

MAX_IDLE = 30.0  # seconds a kept connection may sit unused before it is replaced

_local = threading.local()  # this thread's {(scheme, host, port): (connection, last used)}


def _connections() -> dict[tuple[str, str, int], tuple[http.client.HTTPConnection, float]]:
    kept = getattr(_local, "connections", None)
    if kept is None:
        kept = _local.connections = {}
    return kept


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle kept connection that reads as ready was closed (or broken) by the server."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connect(host: str, port: int, https: bool, timeout: float, context: Any) -> http.client.HTTPConnection:
    """A new connection with Nagle's algorithm off (as urllib3 sets it): http.client writes a
    request's headers and body apart, and on a kept connection the body would wait for the
    delayed ACK of the headers (40 ms on Linux) on every call."""
    conn = (http.client.HTTPSConnection(host, port, timeout=timeout, context=context) if https
            else http.client.HTTPConnection(host, port, timeout=timeout))
    conn.connect()
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def close_kept_connections() -> None:
    """Close this thread's kept connections (a worker thread that ends, tests)."""
    for conn, _ in _connections().values():
        conn.close()
    _connections().clear()


class KeepAliveWebClient(WebClient):
    """``WebClient`` whose calls reuse this thread's connection to the API host (no proxy: a
    client with ``proxy`` set goes through slack_sdk's own urllib path)."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        key = (parts.scheme, parts.hostname or "", port)
        kept = _connections()
        conn, last_used = kept.pop(key, (None, 0.0))
        if conn is not None and (time.monotonic() - last_used > MAX_IDLE or _closed_by_peer(conn)):
            conn.close()
            conn = None
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {**req.headers, **req.unredirected_hdrs}
        try:
            if conn is None:
                conn = _connect(key[1], port, https, self.timeout, self.ssl)
            conn.request("POST", path or "/", body=req.data, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            kept[key] = (conn, time.monotonic())
        if not 200 <= resp.status < 300:
            raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(body))
        if resp.msg.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.msg, "body": body}
        return {"status": resp.status, "headers": resp.msg,
                "body": body.decode(resp.msg.get_content_charset() or "utf-8")}
