"""Small display objects for ``%orc runs | sql | models | show | load | --dry-run``.

Each renders as an HTML table in JupyterLab and as aligned text anywhere else (papermill,
a terminal), and keeps its data: ``t = %orc sql SELECT ...`` then ``t.rows``, ``t.to_dicts()``,
``t.to_pandas()``.
"""
from __future__ import annotations

import datetime as dt
import html

from ..report.markup import records_table

STYLE = ("<style>.orc-table{border-collapse:collapse;font-size:12px;margin:4px 0}"
         ".orc-table th,.orc-table td{border:1px solid var(--jp-border-color2,#ddd);padding:3px 8px;"
         "text-align:left;vertical-align:top}.orc-table th{background:var(--jp-layout-color2,#f5f5f5)}"
         ".orc-more{font-size:11px;opacity:.7}</style>")


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def text_table(columns, rows, limit: int = 200) -> str:
    shown = [tuple(fmt(v).replace("\n", " ")[:80] for v in r) for r in rows[:limit]]
    widths = [max([len(str(c))] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*columns), line.format(*("-" * w for w in widths))] + [line.format(*r) for r in shown]
    if len(rows) > limit:
        out.append(f"… {len(rows) - limit} more rows")
    return "\n".join(s.rstrip() for s in out)


class Table:
    def __init__(self, columns, rows, title: str | None = None, empty: str = "(no rows)"):
        self.columns = list(columns)
        self.rows = [tuple(r) for r in rows]
        self.title, self.empty = title, empty

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.to_dicts())

    def __getitem__(self, i):
        return self.to_dicts()[i]

    def to_dicts(self) -> list[dict]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def to_pandas(self):
        import pandas
        return pandas.DataFrame(self.rows, columns=self.columns)

    def __repr__(self) -> str:
        head = f"{self.title}\n" if self.title else ""
        if not self.rows:
            return head + self.empty
        return head + text_table(self.columns, self.rows)

    def _repr_html_(self) -> str:
        title = f"<div><b>{html.escape(self.title)}</b></div>" if self.title else ""
        if not self.rows:
            return f"{STYLE}{title}<div>{html.escape(self.empty)}</div>"
        shown = [tuple(fmt(v) if isinstance(v, (dt.datetime, float)) else v for v in r) for r in self.rows]
        return f"{STYLE}{title}{records_table(shown, self.columns, limit=200)}"


class Sections:
    """A titled sequence of parts (text, Table, or raw HTML) - ``%orc show``, ``--dry-run``."""

    def __init__(self, parts: list, data=None):
        self.parts = parts    # (kind, value): ("h", text) ("p", text) ("table", Table) ("html", (html, text))
        self.data = data

    def __repr__(self) -> str:
        out = []
        for kind, value in self.parts:
            if kind == "table":
                if value.rows:
                    out.append(repr(value))
            elif kind == "html":
                if value[1]:
                    out.append(value[1])
            else:
                out.append(str(value))
        return "\n\n".join(out)

    def _repr_html_(self) -> str:
        out = [STYLE]
        for kind, value in self.parts:
            if kind == "h":
                out.append(f"<div style='font-size:13px;margin:2px 0'><b>{html.escape(value)}</b></div>")
            elif kind == "p":
                out.append(f"<div style='font-size:12px;margin:2px 0'>{html.escape(value)}</div>")
            elif kind == "table":
                if value.rows:
                    out.append(value._repr_html_())
            elif kind == "html":
                out.append(value[0])
        return "".join(out)
