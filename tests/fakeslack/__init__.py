"""A loopback fake of Slack for the end-to-end tests.

- ``FakeSlack``: Web API (one mixin per family in ``api/``) + response_url + file upload URLs
  + Socket Mode server.
- ``SlackClientSim``: Slack's side of interactions (signed requests handed to the bolt app in
  process or over HTTP, or Socket Mode envelopes).
- ``InlineExecutor``: the app's listener executor in tests, so a dispatch returns when done.
- ``fill_view``: state.values for any modal, the way Slack's client builds it.
- ``serve_bolt_app``: run a bolt App over HTTP for the simulator to call.
"""

from .blockkit import BlockKitValidator, default_schema_path
from .bolt_server import serve_bolt_app
from .client import (
    AckBody,
    SlackClientSim,
    ViewSubmissionBlocked,
    client_side_problems,
    element_state,
    fill_view,
    sign,
)
from .server import Call, FakeSlack, SlackApiFailure
from .socket_mode import SocketModeServer, SocketModeTimeout
from .transport import BoltDispatch, HttpTransport, InlineExecutor, SimResponse, close_socket_mode
from .workspace import Channel, Ephemeral, Message, User, Usergroup, ViewRecord

__all__ = [
    "AckBody",
    "BlockKitValidator",
    "BoltDispatch",
    "Call",
    "Channel",
    "Ephemeral",
    "FakeSlack",
    "HttpTransport",
    "InlineExecutor",
    "Message",
    "SimResponse",
    "SlackApiFailure",
    "SlackClientSim",
    "SocketModeServer",
    "SocketModeTimeout",
    "User",
    "Usergroup",
    "ViewRecord",
    "ViewSubmissionBlocked",
    "client_side_problems",
    "close_socket_mode",
    "default_schema_path",
    "element_state",
    "fill_view",
    "serve_bolt_app",
    "sign",
]
