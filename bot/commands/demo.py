"""``icp-bot demo``: the real bot against a loopback Slack, written out as an HTML page."""

from __future__ import annotations

import argparse


def demo(args: argparse.Namespace) -> int:
    from bot.demo import main as demo_main

    return demo_main(args.out, seed=args.seed, team_size=args.team_size, rounds=args.rounds)
