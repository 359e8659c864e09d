"""Step outputs as HTML: markdown rendered, JSON as a collapsible tree, records as tables.

Everything user-supplied is escaped; markdown goes through mistune (a dependency of nbconvert,
so always present with Jupyter) with raw HTML escaped, and falls back to preformatted text.
Sizes are capped so one huge output cannot freeze the browser.
"""
from __future__ import annotations

import html
import json

MAX_TEXT = 20_000
MAX_ROWS = 50
MAX_ITEMS = 200
MAX_DEPTH = 8

_e = html.escape


def markdown_html(text: str) -> str:
    text = _cap(text)
    try:
        import mistune
        md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
        return f'<div class="orc-md">{md(text)}</div>'
    except Exception:  # no mistune or a plugin missing: readable anyway
        return pre(text)


def pre(text: str) -> str:
    return (f'<pre style="white-space:pre-wrap;margin:0;font-size:12px;max-height:28em;overflow:auto">'
            f'{_e(_cap(text))}</pre>')


def _cap(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT:,} more characters)"


def records_table(rows: list, columns: list[str] | None = None, limit: int = MAX_ROWS) -> str:
    """A list of dicts (or of tuples with ``columns``) -> an HTML table."""
    if columns is None:
        columns = []
        for r in rows[:limit]:
            for k in r:
                if k not in columns:
                    columns.append(k)
        cells = [[r.get(c) for c in columns] for r in rows[:limit]]
    else:
        cells = [list(r) for r in rows[:limit]]
    head = "".join(f"<th>{_e(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in cells)
    more = (f'<div class="orc-more">… {len(rows) - limit:,} more rows</div>' if len(rows) > limit else "")
    return (f'<table class="orc-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}')


def _cell(value) -> str:
    if value is None:
        return '<span style="opacity:.5">null</span>'
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    if len(text) > 300:
        text = text[:297] + "…"
    return _e(text)


def is_records(value) -> bool:
    """A non-empty list of flat dicts sharing most keys: show it as a table."""
    if not isinstance(value, list) or not value or not all(isinstance(r, dict) and r for r in value):
        return False
    keys = set(value[0])
    return all(not isinstance(v, (dict, list)) or len(json.dumps(v, default=str)) < 120
               for r in value[:MAX_ROWS] for v in r.values()) and all(len(keys & set(r)) >= len(keys) / 2
                                                                      for r in value[:MAX_ROWS])


def json_tree(value, *, open_levels: int = 1) -> str:
    return f'<div class="orc-json" style="font-family:var(--jp-code-font-family,monospace);font-size:12px">' \
           f'{_node(value, 0, open_levels, [0])}</div>'


def _node(value, depth: int, open_levels: int, budget: list) -> str:
    budget[0] += 1
    if isinstance(value, (dict, list)) and value:
        if depth >= MAX_DEPTH or budget[0] > MAX_ITEMS * 5:
            return _e(_short(value))
        is_dict = isinstance(value, dict)
        items = list(value.items()) if is_dict else list(enumerate(value))
        shown = items[:MAX_ITEMS]
        summary = f"{{…}} {len(items)} keys" if is_dict else f"[…] {len(items)} items"
        rows = []
        for k, v in shown:
            label = f'<span style="color:#8250df">{_e(str(k))}</span>: ' if is_dict else \
                f'<span style="opacity:.55">{k}</span>: '
            rows.append(f'<div style="margin-left:1.2em">{label}{_node(v, depth + 1, open_levels, budget)}</div>')
        if len(items) > len(shown):
            rows.append(f'<div style="margin-left:1.2em;opacity:.6">… {len(items) - len(shown)} more</div>')
        attr = " open" if depth < open_levels else ""
        return (f'<details{attr} style="display:inline-block;vertical-align:top"><summary style="cursor:pointer;'
                f'opacity:.75">{summary}</summary>{"".join(rows)}</details>')
    return _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 2000 else value[:2000] + "…"
        return f'<span style="color:#0a3069;white-space:pre-wrap">"{_e(text)}"</span>'
    if isinstance(value, bool) or value is None:
        return f'<span style="color:#cf222e">{_e(json.dumps(value))}</span>'
    if isinstance(value, (int, float)):
        return f'<span style="color:#0550ae">{_e(repr(value))}</span>'
    if isinstance(value, (dict, list)):
        return _e(json.dumps(value))
    return _e(_short(value))


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= 200 else text[:197] + "…"


def output_html(value, fmt=None) -> str:
    """One step's output, by its declared format and its shape."""
    if value is None:
        return '<span style="opacity:.5">(no output)</span>'
    if isinstance(value, str):
        if fmt == "markdown" or (fmt in (None, "text") and _looks_markdown(value)):
            return markdown_html(value)
        return pre(value)
    if is_records(value):
        return records_table(value)
    if isinstance(value, (dict, list)):
        return json_tree(value)
    return pre(repr(value))


def _looks_markdown(text: str) -> bool:
    lines = text.lstrip().splitlines()[:40]
    marks = sum(1 for ln in lines if ln.startswith(("#", "- ", "* ", "1. ", "> ", "|", "```")))
    return marks >= 2 or (bool(lines) and lines[0].startswith("#"))


def shown_html(text: str) -> str:
    """What an approval card shows (the rendered ``show`` of the step): JSON as a tree, else markdown."""
    stripped = (text or "").strip()
    if stripped[:1] in "[{":
        try:
            return output_html(json.loads(stripped), "json")
        except ValueError:
            pass
    return markdown_html(text or "")
