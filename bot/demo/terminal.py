"""The demo in the terminal: progress while it runs (rich), then the report and the digest
as readable text, and where the page is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.emoji import Emoji
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from bot.demo.driver import DemoError

_CIRCLES = {":large_green_circle:": "🟢", ":large_orange_circle:": "🟠", ":large_yellow_circle:": "🟡",
            ":large_blue_circle:": "🔵", ":red_circle:": "🔴", ":white_circle:": "⚪"}
_TOKEN = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_mrkdwn(text: str) -> str:
    """mrkdwn as terminal text: links and dates by their label, entities back, markers off."""
    text = _TOKEN.sub(lambda m: m.group(2) or m.group(1).lstrip("@#!"), text or "")
    for code, glyph in _CIRCLES.items():
        text = text.replace(code, glyph)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Block Kit as lines of text: headers upper-cased, sections, fields, context."""
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind == "header":
            lines += ["", block["text"]["text"].upper()]
        elif kind == "section":
            if block.get("text"):
                lines.append(plain_mrkdwn(block["text"].get("text", "")))
            for field in block.get("fields") or []:
                lines.append("  " + plain_mrkdwn(field.get("text", "")).replace("\n", "  "))
        elif kind == "context":
            lines.append("  " + " · ".join(plain_mrkdwn(e.get("text", "")) for e in block.get("elements", [])
                                            if e.get("type") != "image"))
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "data_visualization":
            series = (block.get("chart") or {}).get("series") or [{}]
            lines.append(block.get("title", ""))
            for point in series[0].get("data") or []:
                value = float(point.get("value") or 0)
                bar = "█" * int(round(value * 20 if value <= 1 else value / 5))
                lines.append(f"  {point.get('label', ''):<20} {bar} {value:g}")
    return "\n".join(lines).strip()


def run_in_terminal(out: str, *, seed: int, team_size: int, rounds: int,
                    console: Console | None = None) -> int:
    from bot.demo.run import Demo

    console = console or Console()
    try:
        demo = Demo(Path(out), seed=seed, team_size=team_size, rounds=rounds)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    console.print(f"[bold]ICP Align demo[/bold]: {team_size} people in sales, support and success, "
                  f"{rounds} round(s), seed {seed}; a loopback Slack on 127.0.0.1, the real bot over HTTP.")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("Starting the bot", total=None)

        def step(what: str) -> None:
            progress.update(task, description=what)
            progress.console.print(Text.assemble(("  ✓ ", "green"), what))

        try:
            result = demo.run(step)
        except DemoError as exc:
            progress.stop()
            console.print(f"[red]The demo stopped:[/red] {exc}")
            return 1
        progress.update(task, description="Done", total=1, completed=1)
    # Text, not markup: people's answers are printed as they are ("[b]" stays "[b]")
    console.print(Panel(Text(Emoji.replace(blocks_text(result.report))), title="The report (/icp-check report)",
                        expand=False))
    digest = blocks_text(result.digest.get("blocks") or []) or plain_mrkdwn(result.digest.get("text", ""))
    console.print(Panel(Text(Emoji.replace(digest)), title="The weekly digest in #leadership", expand=False))
    for line in result.errors:
        console.print(Text("bot error: " + line, style="yellow"))
    page = (result.out / "index.html").resolve()
    console.print(f"{len(result.shown)} messages, modals and App Home views from {result.requests} signed "
                  f"requests in {result.seconds:.1f} s.")
    console.print(f"Open [bold]{page}[/bold] in a browser (the chart: {result.chart_png}, the Block Kit JSON: "
                  f"{result.out / 'payloads'}/).")
    return 0
