"""What Slack would have shown, as one HTML page: Block Kit drawn close to Slack's client.

Everything that comes from the bot or from people's answers is escaped before it reaches
the page: mrkdwn is parsed from Slack's own escaping (``&lt;`` ``&gt;`` ``&amp;``) into
text, then written with ``html.escape``; link targets are kept only for http(s) and mailto.
The page has no script.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.demo.slack import Shown

if TYPE_CHECKING:  # pragma: no cover
    from bot.demo.run import Demo, DemoResult

_TOKEN = re.compile(r"<([^<>]+)>")
_INLINE = [
    (re.compile(r"```(.+?)```", re.S), r"<pre>\1</pre>"),
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])"), r"<i>\1</i>"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])"), r"<s>\1</s>"),
]


def _unslack(text: str) -> str:
    """Slack's three entities back to characters (mrkdwn arrives escaped)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _safe_href(url: str) -> str | None:
    return url if re.match(r"^(https?://|mailto:)", url, re.I) else None


EMOJI = {
    "white_check_mark": "✅", "heavy_check_mark": "✔", "warning": "⚠", "no_entry": "⛔", "x": "✖",
    "chart_with_upwards_trend": "📈", "chart_with_downwards_trend": "📉", "bar_chart": "📊",
    "wave": "👋", "tada": "🎉", "bulb": "💡", "hourglass": "⌛", "bell": "🔔", "lock": "🔒",
    "arrow_up": "↑", "arrow_down": "↓", "arrow_right": "→", "small_red_triangle": "▲",
    "small_red_triangle_down": "▼", "star": "★", "memo": "📝", "mag": "🔍", "calendar": "📅",
}
_DOTS = {"large_green_circle": "green", "large_orange_circle": "orange", "red_circle": "red",
         "large_yellow_circle": "yellow", "large_blue_circle": "blue", "white_circle": "white"}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def _emoji(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _DOTS:
        return f'<span class="dot {_DOTS[name]}" title=":{name}:"></span>'
    return EMOJI.get(name, match.group(0))


def mrkdwn(text: str, names: dict[str, str] | None = None) -> str:
    """Slack mrkdwn as HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, links, mentions,
    ``<!date^...|fallback>`` as its fallback, ``>`` quotes and line breaks."""
    names = names or {}
    tokens: list[str] = []

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("!date^"):
            out = esc(_unslack(label or target))
        elif target.startswith("@"):
            out = f'<span class="mention">@{esc(label or names.get(target[1:], target[1:]))}</span>'
        elif target.startswith("#"):
            out = f'<span class="mention">#{esc(label or names.get(target[1:], target[1:]))}</span>'
        elif target.startswith("!"):
            out = f'<span class="mention">@{esc(label or target[1:].split("^")[0])}</span>'
        else:
            href = _safe_href(_unslack(target))
            shown = esc(_unslack(label or target))
            out = f'<a href="{esc(href)}" rel="noopener noreferrer">{shown}</a>' if href else shown
        tokens.append(out)
        return f"\x00{len(tokens) - 1}\x00"

    text = _TOKEN.sub(token, text or "")
    body = esc(_unslack(text))
    for pattern, replacement in _INLINE:
        body = pattern.sub(replacement, body)
    lines = []
    for line in body.split("\n"):
        if line.startswith("&gt; "):
            line = f'<span class="quote">{line[5:]}</span>'
        lines.append(line)
    body = _SHORTCODE.sub(_emoji, "<br>".join(lines))
    return re.sub("\x00(\\d+)\x00", lambda m: tokens[int(m.group(1))], body)


def text_obj(obj: dict[str, Any] | None, names: dict[str, str] | None = None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj.get("text", ""), names)
    return esc(obj.get("text", "")).replace("\n", "<br>")


# -- elements ----------------------------------------------------------------------------------
def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _entered(el: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any]:
    """``el`` with what a person entered (its ``state.values`` entry) as its initial value."""
    if not state:
        return el
    el = dict(el)
    for key in ("initial_option", "initial_options", "initial_value", "initial_date", "initial_users"):
        el.pop(key, None)
    if state.get("selected_option"):
        el["initial_option"] = state["selected_option"]
    if state.get("selected_options"):
        el["initial_options"] = state["selected_options"]
    if state.get("value") not in (None, ""):
        el["initial_value"] = state["value"]
    if state.get("selected_date"):
        el["initial_date"] = state["selected_date"]
    if state.get("selected_users"):
        el["initial_users"] = state["selected_users"]
    return el


def element(el: dict[str, Any], names: dict[str, str], state: dict[str, Any] | None = None) -> str:
    el = _entered(el, state)
    kind = el.get("type")
    if kind == "button":
        style = el.get("style") or "default"
        return f'<span class="btn btn-{esc(style)}">{text_obj(el.get("text"))}</span>'
    if kind == "image":
        return _image(el.get("image_url"), el.get("alt_text"), small=True)
    if kind in ("radio_buttons", "checkboxes"):
        initial = [el["initial_option"]] if el.get("initial_option") else el.get("initial_options") or []
        chosen = {o.get("value") for o in initial}
        mark = "radio" if kind == "radio_buttons" else "check"
        rows = "".join(
            f'<label class="opt"><span class="{mark}{" on" if o.get("value") in chosen else ""}"></span>'
            f'{text_obj(o.get("text"), names)}'
            + (f'<span class="desc">{text_obj(o.get("description"))}</span>' if o.get("description") else "")
            + "</label>" for o in _options(el))
        return f'<div class="choices">{rows}</div>'
    if kind in ("static_select", "multi_static_select", "external_select", "overflow"):
        initial = [el["initial_option"]] if el.get("initial_option") else el.get("initial_options") or []
        shown = ", ".join(esc(o["text"]["text"]) for o in initial) if initial else \
            f'<span class="ph">{text_obj(el.get("placeholder")) or "Select an option"}</span>'
        opts = " · ".join(esc(o["text"]["text"]) for o in _options(el))
        return (f'<div class="select">{shown}<span class="caret">▾</span></div>'
                + (f'<div class="optlist">Options: {opts}</div>' if opts else ""))
    if el.get("initial_users"):
        chosen = ", ".join(f'<span class="mention">@{esc(names.get(u, u))}</span>' for u in el["initial_users"])
        return f'<div class="select">{chosen}<span class="caret">▾</span></div>'
    if kind in ("users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
                "channels_select", "multi_channels_select"):
        return f'<div class="select"><span class="ph">{text_obj(el.get("placeholder")) or "Choose"}</span><span class="caret">▾</span></div>'
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = el.get("initial_value")
        inner = esc(value) if value not in (None, "") else f'<span class="ph">{text_obj(el.get("placeholder"))}</span>'
        cls = "textarea" if el.get("multiline") else "textinput"
        return f'<div class="{cls}">{inner}</div>'
    if kind == "datepicker":
        value = el.get("initial_date")
        return f'<div class="select">{esc(_date(value)) if value else text_obj(el.get("placeholder"))}</div>'
    if kind == "timepicker":
        return f'<div class="select">🕘 {esc(el.get("initial_time") or "")}</div>'
    return f'<div class="unknown">[{esc(kind)}]</div>'


def _date(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%a %d %b %Y")
    except ValueError:
        return value


def _image(url: Any, alt: Any, small: bool = False, slack_file: Any = None) -> str:
    if slack_file:
        return f'<div class="file-img">🖼 {esc(alt)} <span class="ph">(uploaded image {esc(slack_file.get("id") or "")})</span></div>'
    href = _safe_href(str(url or ""))
    if not href:
        return f'<span class="ph">[image: {esc(alt)}]</span>'
    return f'<img class="{"thumb" if small else "image"}" src="{esc(href)}" alt="{esc(alt)}">'


# -- charts ------------------------------------------------------------------------------------
def chart(block: dict[str, Any]) -> str:
    spec = block.get("chart") or {}
    series = spec.get("series") or []
    axis = spec.get("axis_config") or {}
    title = f'<div class="chart-title">{esc(block.get("title"))}</div>'
    if not series:
        return title
    data = series[0].get("data") or []
    values = [float(d.get("value") or 0) for d in data]
    top = max([*values, 1.0]) if spec.get("type") != "bar" or max(values or [0]) > 1 else 1.0
    if spec.get("type") == "line":
        width, height, pad = 560, 180, 50
        top = 100.0 if max(values or [0]) <= 100 else max(values)  # a score: drawn on 0-100
        n = max(len(values) - 1, 1)
        points = [(pad + i * (width - 2 * pad) / n, height - pad - v / top * (height - 2 * pad))
                  for i, v in enumerate(values)]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4"/><text x="{x:.1f}" y="{y - 8:.1f}" '
                       f'text-anchor="middle">{v:g}</text>' for (x, y), v in zip(points, values, strict=True))
        labels = "".join(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="lab">{esc(d.get("label"))}</text>'
                         for (x, _), d in zip(points, data, strict=True))
        svg = (f'<svg class="line" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
               f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
               f'<polyline points="{line}"/>{dots}{labels}</svg>')
        return f'{title}{svg}<div class="axis-label">{esc(axis.get("y_label"))}</div>'
    rows = "".join(
        f'<div class="bar-row"><span class="bar-name">{esc(d.get("label"))}</span>'
        f'<span class="bar-track"><span class="bar" style="width:{max(0.0, min(1.0, v / top)) * 100:.1f}%"></span></span>'
        f'<span class="bar-val">{v:g}</span></div>' for d, v in zip(data, values, strict=True))
    return f'{title}<div class="bars">{rows}</div><div class="axis-label">{esc(axis.get("y_label"))}</div>'


# -- blocks ------------------------------------------------------------------------------------
def block(b: dict[str, Any], names: dict[str, str], state: dict[str, Any] | None = None) -> str:
    kind = b.get("type")
    if kind == "header":
        return f'<h3 class="header">{text_obj(b.get("text"))}</h3>'
    if kind == "divider":
        return "<hr>"
    if kind == "section":
        parts = [f'<div class="text">{text_obj(b.get("text"), names)}</div>'] if b.get("text") else []
        if b.get("fields"):
            parts.append('<div class="fields">' + "".join(
                f'<div class="field">{text_obj(f, names)}</div>' for f in b["fields"]) + "</div>")
        body = "".join(parts)
        if isinstance(b.get("accessory"), dict):
            return f'<div class="section with-acc"><div>{body}</div><div class="acc">{element(b["accessory"], names)}</div></div>'
        return f'<div class="section">{body}</div>'
    if kind == "context":
        items = "".join(
            _image(e.get("image_url"), e.get("alt_text"), small=True) if e.get("type") == "image"
            else f"<span>{text_obj(e, names)}</span>" for e in b.get("elements", []))
        return f'<div class="context">{items}</div>'
    if kind == "actions":
        return '<div class="actions">' + "".join(element(e, names) for e in b.get("elements", [])) + "</div>"
    if kind == "input":
        optional = ' <span class="optional">(optional)</span>' if b.get("optional") else ""
        hint = f'<div class="hint">{text_obj(b.get("hint"))}</div>' if b.get("hint") else ""
        return (f'<div class="input"><div class="label">{text_obj(b.get("label"))}{optional}</div>'
                f'{element(b.get("element") or {}, names, _state_of(b, state))}{hint}</div>')
    if kind == "image":
        caption = f'<div class="caption">{text_obj(b.get("title"))}</div>' if b.get("title") else ""
        return f'<div class="imgblock">{caption}{_image(b.get("image_url"), b.get("alt_text"), slack_file=b.get("slack_file"))}</div>'
    if kind == "data_visualization":
        return f'<div class="chart">{chart(b)}</div>'
    if kind == "rich_text":
        return f'<div class="section"><div class="text">{esc(_rich_text(b))}</div></div>'
    return f'<div class="unknown">[{esc(kind)} block]</div>'


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        return str(node.get("text", "")) + "".join(_rich_text(e) for e in node.get("elements", []))
    if isinstance(node, list):
        return "".join(_rich_text(e) for e in node)
    return ""


def _state_of(b: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any] | None:
    element = b.get("element") or {}
    return ((state or {}).get(b.get("block_id") or "") or {}).get(element.get("action_id") or "")


def blocks_html(blocks: list[dict[str, Any]] | None, names: dict[str, str],
                state: dict[str, Any] | None = None) -> str:
    return "".join(block(b, names, state) for b in blocks or [])


# -- the page ----------------------------------------------------------------------------------
METHOD_LABEL = {
    "chat.postMessage": "message", "chat.update": "message updated", "chat.postEphemeral": "only visible to you",
    "response_url": "reply to a command", "views.open": "modal opened", "views.push": "modal pushed",
    "views.update": "modal updated", "view_ack_update": "modal, next step", "view_ack_push": "modal pushed",
    "views.publish": "App Home", "files.completeUploadExternal": "file shared",
}


def payload_name(shown: Shown) -> str:
    return f"{shown.seq:03d}-{shown.method}.json"


def _where(shown: Shown, names: dict[str, str], channels: dict[str, str]) -> str:
    where = shown.where
    if shown.method.startswith("view") and where in names:
        return f"{names[where]}'s screen"
    if where.startswith("D") and where[1:] in names:
        return f"DM with {names[where[1:]]}"
    if where in channels:
        return f"#{channels[where]}"
    return where


def entry(shown: Shown, names: dict[str, str], channels: dict[str, str]) -> str:
    p = shown.payload
    label = METHOD_LABEL.get(shown.method, shown.method)
    meta = (f'<div class="meta"><span class="where">{esc(_where(shown, names, channels))}</span> · '
            f'{esc(label)} · <a href="payloads/{esc(payload_name(shown))}">{esc(shown.method)} JSON</a></div>')
    if shown.method.startswith("view") or shown.method == "views.publish":
        view = json.loads(p["view"]) if isinstance(p.get("view"), str) else p.get("view", p)
        if view.get("type") == "home":
            return f'<div class="entry">{meta}<div class="home"><div class="home-tab">Home</div>{blocks_html(view.get("blocks"), names)}</div></div>'
        title = text_obj(view.get("title"))
        submitted = shown.result.get("submitted")
        if submitted:
            meta = meta.replace("</div>", ' · <span class="filled">filled in and submitted</span></div>', 1)
        buttons = "".join(
            f'<span class="btn btn-{cls}">{text_obj(view.get(key))}</span>'
            for key, cls in (("close", "default"), ("submit", "primary")) if view.get(key))
        return (f'<div class="entry">{meta}<div class="modal"><div class="modal-title">{title}</div>'
                f'<div class="modal-body">{blocks_html(view.get("blocks"), names, submitted)}</div>'
                f'<div class="modal-foot">{buttons}</div></div></div>')
    if shown.method == "files.completeUploadExternal":
        files = ", ".join(esc(f.get("title") or f.get("name")) for f in shown.result.get("files", []))
        body = f'<div class="text">{esc(p.get("initial_comment") or "")}</div><div class="file">📎 {files}</div>'
    else:
        blocks = p.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        body = blocks_html(blocks, names) if blocks else f'<div class="text">{mrkdwn(p.get("text") or "", names)}</div>'
    ephemeral = shown.method == "chat.postEphemeral" or (
        shown.method == "response_url" and p.get("response_type") != "in_channel")
    edited = ' <span class="edited">(edited)</span>' if shown.method == "chat.update" or p.get("replace_original") else ""
    note = '<div class="eph">👁 Only visible to you</div>' if ephemeral else ""
    return (f'<div class="entry">{meta}<div class="msg{" ephemeral" if ephemeral else ""}">{note}'
            f'<div class="avatar">ICP</div><div class="msg-body"><div class="sender">ICP Align '
            f'<span class="app">APP</span>{edited}</div>{body}</div></div></div>')


CSS = """
body{font-family:-apple-system,'Segoe UI',Lato,Helvetica,Arial,sans-serif;font-size:15px;color:#1d1c1d;background:#f4f4f5;margin:0}
main{max-width:760px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px} .lede{color:#616061;margin:0 0 20px}
h2.chapter{font-size:17px;margin:32px 0 8px;padding-top:12px;border-top:2px solid #ddd;color:#4a154b}
.entry{margin:10px 0 18px} .meta{font-size:12px;color:#868686;margin-bottom:4px} .meta a{color:#1264a3}
.msg{display:grid;grid-template-columns:40px 1fr;gap:10px;background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:12px}
.msg.ephemeral{background:#fbfbf6} .eph{grid-column:1/3;font-size:12px;color:#616061}
.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;font-size:11px;font-weight:700;display:flex;align-items:center;justify-content:center}
.sender{font-weight:900;margin-bottom:2px} .app{font-size:10px;background:#e8e8e8;color:#616061;border-radius:2px;padding:1px 3px;font-weight:700}
.edited{color:#868686;font-weight:400;font-size:12px}
.modal{background:#fff;border-radius:8px;box-shadow:0 4px 18px rgba(0,0,0,.18);max-width:520px}
.modal-title{font-weight:900;font-size:20px;padding:16px 20px;border-bottom:1px solid #e2e2e2}
.modal-body{padding:12px 20px} .modal-foot{padding:12px 20px;border-top:1px solid #e2e2e2;text-align:right}
.home{background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:12px 20px} .home-tab{font-size:12px;font-weight:700;color:#1264a3;border-bottom:2px solid #1264a3;display:inline-block;margin-bottom:8px}
.header{font-size:18px;font-weight:900;margin:8px 0} hr{border:0;border-top:1px solid #e2e2e2;margin:10px 0}
.section{margin:6px 0;line-height:1.45} .with-acc{display:flex;justify-content:space-between;gap:12px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin-top:6px}
.context{font-size:12px;color:#616061;margin:6px 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.actions{margin:8px 0;display:flex;gap:8px;flex-wrap:wrap}
.btn{display:inline-block;border:1px solid #c8c8c8;border-radius:4px;padding:4px 12px;font-weight:700;font-size:14px;background:#fff}
.btn-primary{background:#007a5a;border-color:#007a5a;color:#fff} .btn-danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.modal-foot .btn{margin-left:8px}
.input{margin:12px 0} .label{font-weight:700;margin-bottom:4px} .optional{color:#868686;font-weight:400}
.hint{font-size:12px;color:#616061;margin-top:4px}
.select,.textinput,.textarea{border:1px solid #bbb;border-radius:4px;padding:6px 10px;background:#fff;min-height:20px;position:relative}
.textarea{min-height:48px} .caret{position:absolute;right:10px;color:#616061} .ph{color:#999}
.optlist{font-size:12px;color:#616061;margin-top:3px}
.choices .opt{display:flex;align-items:flex-start;gap:8px;margin:4px 0}
.radio,.check{width:14px;height:14px;border:1px solid #888;display:inline-block;margin-top:3px;flex:none}
.radio{border-radius:50%} .radio.on{background:radial-gradient(#1264a3 45%,#fff 50%);border-color:#1264a3}
.check{border-radius:3px} .check.on{background:#1264a3;border-color:#1264a3}
.filled{color:#007a5a;font-weight:700}
.dot{display:inline-block;width:12px;height:12px;border-radius:50%;vertical-align:-1px}
.dot.green{background:#2eb67d}.dot.orange{background:#f2952f}.dot.red{background:#e01e5a}.dot.yellow{background:#ecb22e}.dot.blue{background:#36c5f0}.dot.white{background:#fff;border:1px solid #999}
.desc{display:block;font-size:12px;color:#616061}
code{font-family:Monaco,Menlo,monospace;font-size:12px;color:#e01e5a;background:#f6f6f6;border:1px solid #e2e2e2;border-radius:3px;padding:1px 3px}
pre{font-family:Monaco,Menlo,monospace;font-size:12px;background:#f6f6f6;border:1px solid #e2e2e2;padding:8px;border-radius:4px;white-space:pre-wrap}
.quote{border-left:4px solid #ddd;padding-left:8px;display:inline-block}
.mention{color:#1264a3;background:#e8f5fa;border-radius:3px;padding:0 2px}
.chart{border:1px solid #e2e2e2;border-radius:6px;padding:10px;margin:8px 0}
.chart-title{font-weight:700;margin-bottom:6px} .bars{display:grid;gap:3px}
.bar-row{display:grid;grid-template-columns:150px 1fr 44px;gap:8px;align-items:center;font-size:12px}
.bar-track{background:#f0f0f0;height:12px;border-radius:2px} .bar{display:block;height:12px;background:#1264a3;border-radius:2px}
.axis-label{font-size:11px;color:#868686;margin-top:4px}
svg.line polyline{fill:none;stroke:#1565c0;stroke-width:2} svg.line circle{fill:#1565c0} svg.line text{font-size:11px;fill:#333}
svg.line .axis{stroke:#ccc}
.image{max-width:100%;border:1px solid #e2e2e2;border-radius:6px} .thumb{width:20px;height:20px}
.file,.file-img{border:1px solid #e2e2e2;border-radius:6px;padding:8px;margin-top:6px;background:#fafafa}
.png{max-width:100%;border:1px solid #ddd;border-radius:6px;background:#fff}
details.fold{margin:8px 0 16px;background:#fff;border:1px dashed #c8c8c8;border-radius:8px;padding:8px 12px}
details.fold summary{cursor:pointer;color:#1264a3;font-size:14px}
nav.toc{font-size:13px;background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:8px 16px}
"""


def _same_kind(a: Shown, b: Shown) -> bool:
    """The same message to someone else (an invitation, a reminder): folded on the page."""
    if a.method != b.method or a.method != "chat.postMessage" or a.where == b.where:
        return False
    strip = ("channel", "metadata")
    return ({k: v for k, v in a.payload.items() if k not in strip}
            == {k: v for k, v in b.payload.items() if k not in strip})


def page(shown: list[Shown], names: dict[str, str], channels: dict[str, str], *, title: str, lede: str,
         chart_png: str | None) -> str:
    chapters: list[str] = []
    body: list[str] = []
    open_fold = False
    n = 0
    while n < len(shown):
        item = shown[n]
        if item.note:
            if open_fold:
                body.append("</details>")
                open_fold = False
            chapters.append(item.note)
            body.append(f'<h2 class="chapter" id="c{len(chapters)}">{esc(item.note)}</h2>')
            if chart_png and item.note.startswith("The digest"):
                body.append(f'<div class="entry"><div class="meta">The digest\'s chart as a PNG '
                            f'(bot.charts.digest_chart)</div><img class="png" src="{esc(chart_png)}" '
                            f'alt="Agreement per trait and the score over rounds"></div>')
            if item.folded:
                count = next((k for k, s in enumerate(shown[n + 1:], 1) if s.note), len(shown) - n)
                body.append(f'<details class="fold"><summary>Show these {count} messages and views</summary>')
                open_fold = True
        body.append(entry(item, names, channels))
        same = 0
        while n + same + 1 < len(shown) and not shown[n + same + 1].note \
                and _same_kind(item, shown[n + same + 1]):
            same += 1
        if same:
            to = ", ".join(_where(s, names, channels).removeprefix("DM with ") for s in shown[n + 1:n + 1 + same])
            body.append(f'<details class="fold"><summary>The same message to {same} more: {esc(to)}</summary>'
                        + "".join(entry(s, names, channels) for s in shown[n + 1:n + 1 + same]) + "</details>")
        n += same + 1
    if open_fold:
        body.append("</details>")
    toc = "".join(f'<li><a href="#c{k}">{esc(c)}</a></li>' for k, c in enumerate(chapters, 1))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src \'self\' file: data: https: http:; style-src \'unsafe-inline\'">'
            f"<style>{CSS}</style></head><body><main><h1>{esc(title)}</h1><p class=\"lede\">{esc(lede)}</p>"
            f'<nav class="toc"><ol>{toc}</ol></nav>{"".join(body)}</main></body></html>')


def digest_png(db: Any, team_id: str) -> bytes | None:
    """The digest's chart (``bot.charts.digest_chart``) for what ``digest now`` posted: the
    digest is rebuilt from the database the way ``bot.services.digest.compose`` builds it."""
    from bot.charts import digest_chart
    from bot.services.digest import TREND_ROUNDS
    from bot.services.profiles import load_icp
    from storage import answers, rounds, templates, workspaces
    from survey.digest import DigestRound, Participation, build_digest
    from survey.report import build_report

    with db.session(read_only=True) as session:
        min_group = workspaces.settings_of(session, team_id).min_group_size
        recent = list(reversed(rounds.list_rounds(session, team_id, limit=TREND_ROUNDS)))
        if not recent:
            return None
        digest_rounds, responses, template = [], [], None
        for rnd in recent:
            template = templates.get_template(session, rnd.template_id)
            responses = answers.responses_for_round(session, rnd.id, template)
            report = build_report(template, responses, min_group_size=min_group, bootstrap=0)
            digest_rounds.append(DigestRound(title=rnd.title, date=rnd.opened_at.date(), report=report))
        counts = rounds.participation(session, recent[-1].id)
        loaded = load_icp(session, team_id)
    profile = loaded[0] if loaded and template is not None and loaded[1].template.id == template.id else None
    built = build_digest(digest_rounds, Participation(invited=counts.invited, finished=counts.completed),
                         responses=responses, profile=profile, template=template)
    image = digest_chart(built)
    return image.png if image else None


def write_outputs(demo: Demo, result: DemoResult) -> Path | None:
    """index.html, payloads/NNN-<method>.json and digest-chart.png into ``result.out``."""
    out = result.out
    payloads = out / "payloads"
    payloads.mkdir(parents=True, exist_ok=True)
    for item in result.shown:
        (payloads / payload_name(item)).write_text(
            json.dumps(item.payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    chart_path = None
    if result.chart:
        chart_path = out / "digest-chart.png"
        chart_path.write_bytes(result.chart)
    channels = {cid: c["name"] for cid, c in demo.slack.channels.items()}
    names = {**channels, **{p.id: p.real_name for p in demo.slack.people.values()}}
    lede = (f"What Slack showed during one ICP Align demo: {len(demo.members)} people in sales, support and "
            f"success, {demo.rounds} round(s), seed {demo.seed}. {len(result.shown)} messages, modals and "
            "App Home views, in order; each links to its Block Kit JSON.")
    (out / "index.html").write_text(
        page(result.shown, names, channels, title="ICP Align: a whole round, as Slack showed it", lede=lede,
             chart_png=chart_path.name if chart_path else None), encoding="utf-8")
    return chart_path
