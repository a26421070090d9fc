"""The floor server: a bare bolt App whose listeners only ack, served exactly as
``icp-bot run --http`` serves ICP Align (``bot.server.run_http``: uvicorn, one process,
``ThreadedSlackRequestHandler``). Reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and
SLACK_API_URL like the bot, and verifies every request's signature like it."""

from __future__ import annotations

import argparse
import os
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.server import run_http


def build_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @app.view(re.compile(".*"))
    def on_view(ack: Ack) -> None:
        ack()

    @app.command(re.compile(".*"))
    def on_command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def on_action(ack: Ack) -> None:
        ack()

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    run_http(build_app(), "127.0.0.1", args.port, "warning")


if __name__ == "__main__":
    main()
