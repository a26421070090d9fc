"""The digest's chart as a PNG: per-trait agreement (bars) and the score over rounds (a line).

matplotlib is imported inside ``digest_chart`` so that the bot's start-up never pays for it,
and only its object API is used (``Figure`` on an Agg canvas, no pyplot): no global figure
state, so two listener threads can draw at once. The output is deterministic for tests and
caches: a fixed size and dpi, a fixed font, no "Software" or date metadata in the PNG.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.views.digest_blocks import index_value
from bot.views.text import truncate
from survey.digest import Digest

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 7.0, 100
WIDTH_PX, HEIGHT_PX = int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI)
ALT_TEXT_MAX = 2000
MAX_BARS = 20
NAME_CHARS = 28
AGREED_COLOUR, SPLIT_COLOUR, LINE_COLOUR = "#2e7d32", "#ef6c00", "#1565c0"


@dataclass(frozen=True)
class ChartImage:
    png: bytes
    alt_text: str
    width: int = WIDTH_PX
    height: int = HEIGHT_PX
    filename: str = "icp-alignment.png"


def alt_text(digest: Digest) -> str:
    """What the chart shows, in words: the bars' values, the threshold, the scores."""
    traits = digest.traits[:MAX_BARS]
    bars = "; ".join(f"{t.name} {index_value(t.agreement):.2f}" for t in traits)
    text = (f"Bar chart of agreement per trait, {digest.agreement_threshold:.2f} marks agreement: "
            f"{bars or 'no trait shown'}.")
    points = [p for p in digest.trend if p.score is not None]
    if points:
        text += " Line chart of the alignment score over rounds: " + "; ".join(
            f"{p.date.isoformat()} {p.score:.0f}" for p in points
        ) + "."
    return truncate(text, ALT_TEXT_MAX)


def digest_chart(digest: Digest) -> ChartImage | None:
    """The PNG of the digest's two charts, or None for a hidden digest (nothing to draw)."""
    if digest.hidden or not digest.traits:
        return None
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    bars_ax, line_ax = fig.subplots(2, 1, height_ratios=[3, 2])

    traits = digest.traits[:MAX_BARS]
    names = [truncate(t.name, NAME_CHARS) for t in traits]
    values = [t.agreement for t in traits]
    colours = [AGREED_COLOUR if t.agreed else SPLIT_COLOUR for t in traits]
    rows = list(range(len(traits)))
    bars_ax.barh(rows, values, color=colours)
    for row, value in zip(rows, values, strict=True):  # a 0.00 bar is still read
        inside = value > 0.9
        bars_ax.text(value - 0.01 if inside else value + 0.01, row, f"{index_value(value):.2f}", va="center",
                     ha="right" if inside else "left", fontsize=8, color="white" if inside else "#222222")
    bars_ax.set_yticks(rows, labels=names, fontsize=9)
    bars_ax.invert_yaxis()  # template order, top to bottom
    bars_ax.set_xlim(0, 1)
    threshold = digest.agreement_threshold
    bars_ax.axvline(threshold, color="#555555", linestyle="--", linewidth=1)
    bars_ax.text(threshold, -0.7, f" {threshold:.2f} = agreed", fontsize=8, color="#555555", va="bottom")
    bars_ax.set_xlabel("Agreement (1 = everyone gave the same answer)", fontsize=9)
    bars_ax.set_title(truncate(f"ICP alignment: {digest.title}", 80), fontsize=12, loc="left")

    points = [p for p in digest.trend if p.score is not None]
    xs = list(range(len(points)))
    line_ax.plot(xs, [p.score for p in points], marker="o", color=LINE_COLOUR)
    for x, p in zip(xs, points, strict=True):
        line_ax.annotate(f"{p.score:.0f}", (x, p.score), textcoords="offset points", xytext=(0, 6),
                         ha="center", fontsize=8)
    line_ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    crowded = len(points) > 8  # ten-character dates overlap beyond that at this width
    line_ax.set_xticks(xs, labels=[p.date.isoformat() for p in points], fontsize=8,
                       rotation=40 if crowded else 0, ha="right" if crowded else "center")
    line_ax.set_ylim(0, 100)
    line_ax.set_ylabel("Score (0-100)", fontsize=9)
    line_ax.set_title("Alignment score over rounds", fontsize=10, loc="left")
    line_ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return ChartImage(png=buffer.getvalue(), alt_text=alt_text(digest))
