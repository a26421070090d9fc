"""Slack's Web API by family, as mixins of ``FakeSlack`` (which holds the workspace's state).

Each handler is marked ``@web_api("family.method")`` and takes the call's params; it runs
under ``FakeSlack.lock`` and answers a body or raises ``SlackApiFailure``.
"""

from .auth import AuthApi
from .base import SlackApiFailure, web_api
from .chat import ChatApi
from .conversations import ConversationsApi
from .files import FilesApi
from .response_urls import ResponseUrls
from .usergroups import UsergroupsApi
from .users import UsersApi
from .views import ViewsApi

__all__ = [
    "AuthApi",
    "ChatApi",
    "ConversationsApi",
    "FilesApi",
    "ResponseUrls",
    "SlackApiFailure",
    "UsergroupsApi",
    "UsersApi",
    "ViewsApi",
    "web_api",
]
