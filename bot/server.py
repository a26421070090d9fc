"""How the bot meets Slack: Socket Mode, or HTTP behind a production ASGI server.

HTTP mode serves bolt under uvicorn. bolt's own ASGI adapter calls the (synchronous) app on
the event loop, which would serialise every request; ``ThreadedSlackRequestHandler`` runs
each dispatch in a worker thread instead, so a slow database call never holds up the ack of
another request. The process keeps no state between requests (everything is in the
database), so replicas can sit behind a load balancer.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """bolt's ASGI handler, with each request dispatched off the event loop."""

    async def _in_thread(self, fn, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(body=await request.get_raw_body(), query=request.query_string,
                                   headers=request.get_headers())
        return await asyncio.to_thread(fn, bolt_request)

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        return await self._in_thread(self.app.dispatch, request)

    async def handle_installation(self, request: AsgiHttpRequest) -> BoltResponse:
        return await self._in_thread(self.app.oauth_flow.handle_installation, request)  # type: ignore[union-attr]

    async def handle_callback(self, request: AsgiHttpRequest) -> BoltResponse:
        return await self._in_thread(self.app.oauth_flow.handle_callback, request)  # type: ignore[union-attr]


def asgi_app(app: App) -> ThreadedSlackRequestHandler:
    return ThreadedSlackRequestHandler(app, path=EVENTS_PATH)


def run_http(app: App, host: str, port: int, log_level: str = "info") -> None:
    import uvicorn

    log.info("ICP Align listening on http://%s:%d%s", host, port, EVENTS_PATH)
    uvicorn.run(asgi_app(app), host=host, port=port, log_level=log_level.lower(), access_log=False)


def run_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("ICP Align connecting in Socket Mode")
    SocketModeHandler(app, app_token).start()
