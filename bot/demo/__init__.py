"""``icp-bot demo``: see the bot work with no Slack app, from a plain ``pip install``.

A loopback Slack (``bot.demo.slack``), the real bot in HTTP mode against it, and a simulated
team (``bot.demo.team``) driven through a whole loop (``bot.demo.run``); what Slack would
have shown is written as one HTML page and Block Kit JSON (``bot.demo.render``). Nothing here
imports ``tests/``: the package ships in the wheel.
"""

from bot.demo.run import Demo, DemoResult

__all__ = ["Demo", "DemoResult", "main"]


def main(out: str, *, seed: int, team_size: int, rounds: int) -> int:
    from bot.demo.terminal import run_in_terminal

    return run_in_terminal(out, seed=seed, team_size=team_size, rounds=rounds)
