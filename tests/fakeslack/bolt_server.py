"""Serve a bolt ``App`` over HTTP on 127.0.0.1 for tests (stdlib wsgiref, threaded).

The app is the real one: requests go through bolt's signature check, ack handling and
listeners exactly as they would behind Slack's Request URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def serve_bolt_app(app: Any, path: str = "/slack/events") -> Iterator[str]:
    """Run ``app`` (a ``slack_bolt.App``) and yield its URL, e.g.
    ``http://127.0.0.1:PORT/slack/events``."""
    handler = SlackRequestHandler(app, path=path)
    server = make_server(
        "127.0.0.1", 0, handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bolt-wsgi", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
