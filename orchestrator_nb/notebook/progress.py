"""The live progress view of one run (ipywidgets): an event subscriber.

Overall bar, one row per step (state, attempt, model, tokens, cost, elapsed), the streaming
text of the active LLM step, approval cards, and a Stop button. A ``for_each`` step is one row
with a counter. Events only change plain Python state; the widgets are redrawn at most every
``interval`` seconds (and once a second while something runs, for the clocks), so a 1,000-step
run sends a few messages per second, not thousands. Only the rows worth seeing are drawn.
"""
from __future__ import annotations

import asyncio
import html
import time

from ..report.html import SYMBOL
from ..report.graph import STATUS_COLORS

_e = html.escape
MAX_ROWS = 30
STREAM_CHARS = 1500
FINAL = ("succeeded", "failed", "skipped", "cancelled")


class StepRow:
    __slots__ = ("sid", "kind", "status", "attempt", "model", "tokens", "cost", "started", "ended", "note",
                 "items", "item_status", "seq")

    def __init__(self, sid: str, kind: str = "", seq: int = 0):
        self.sid, self.kind, self.seq = sid, kind, seq
        self.status, self.attempt, self.model = "pending", 0, None
        self.tokens, self.cost = 0, 0.0
        self.started = self.ended = None
        self.note = ""
        self.items = 0
        self.item_status: dict[int, str] = {}

    def counts(self) -> tuple[int, int, int]:
        done = failed = running = 0
        for s in self.item_status.values():
            if s == "succeeded":
                done += 1
            elif s == "running":
                running += 1
            elif s in ("failed", "cancelled"):
                failed += 1
        return done, failed, running

    def progress(self) -> float:
        if self.status in FINAL:
            return 1.0
        if self.items:
            return min(1.0, self.counts()[0] / self.items)
        return 0.0


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class RunView:
    """Subscribe it to a run (``subscribers=[view]``) and display ``view.widget``."""

    def __init__(self, pipeline=None, *, interval: float = 0.25, on_stop=None, title: str | None = None):
        import ipywidgets as w

        self.interval = interval
        self.rows: dict[str, StepRow] = {}
        if pipeline is not None:
            for i, (sid, s) in enumerate(pipeline.steps.items()):
                row = self.rows[sid] = StepRow(sid, s.kind, i)
                if s.kind == "prompt" and isinstance(s.model, str) and ":" in s.model:
                    row.model = s.model      # known before the first call; aliases show once called
        self.title = title or (pipeline.name if pipeline is not None else "run")
        self.run_id = None
        self.status = "running"
        self.error = None
        self.started = time.time()
        self.ended = None
        self.tokens, self.cost = 0, 0.0
        self.stream_sid, self.stream_text, self.stream_done = None, "", False
        self.draws = 0
        self._handle = None
        self._closed = False
        self.on_stop = on_stop

        self.header = w.HTML()
        self.bar = w.FloatProgress(value=0, min=0, max=max(1, len(self.rows)), bar_style="info",
                                   layout=w.Layout(width="99%", height="14px"))
        self.table = w.HTML()
        self.stream = w.HTML()
        self.cards = w.VBox([])
        self.card_list: list = []
        self.stop_button = w.Button(description="Stop", icon="stop", tooltip="cancel this run (recorded as cancelled)",
                                    layout=w.Layout(width="auto"))
        self.stop_button.on_click(self._stop_clicked)
        self.widget = w.VBox([self.header, self.bar, self.table, self.stream, self.cards,
                              w.HBox([self.stop_button])],
                             layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px",
                                             margin="2px 0"))
        self.widget.add_class("orc-run")
        self._render()

    # events ---------------------------------------------------------------------------------
    def handle(self, ev) -> None:
        kind = ev.kind
        if self.run_id is None and kind == "run_started":
            self.run_id = ev.run_id
            self.title = ev.data.get("pipeline") or self.title
            self.started = ev.ts
            self._soon()
            return
        if ev.run_id != self.run_id:
            return  # a sub-pipeline's own events: its step shows in our row
        if kind == "run_finished":
            self.status = ev.data.get("status") or "succeeded"
            self.error = ev.data.get("error")
            self.ended = ev.ts
            self.tokens = (ev.data.get("tokens_in") or 0) + (ev.data.get("tokens_out") or 0)
            self.cost = ev.data.get("cost_usd") or self.cost
            self.flush()
            return
        sid = ev.step_id
        if sid is None:
            return
        row = self.rows.get(sid)
        if row is None:
            row = self.rows[sid] = StepRow(sid, seq=len(self.rows))
            self.bar.max = max(1, len(self.rows))
        d = ev.data
        if kind == "step_started":
            if ev.item < 0:
                row.status, row.attempt, row.ended = "running", max(row.attempt, ev.attempt), None
                row.started = row.started or ev.ts
                if "items" in d:
                    row.items = d["items"] or 0
                    row.note = ""
            else:
                row.item_status[ev.item] = "running"
                row.started = row.started or ev.ts
                row.attempt = max(row.attempt, ev.attempt)
        elif kind == "step_finished":
            status = d.get("status") or "succeeded"
            if ev.item >= 0:
                row.item_status[ev.item] = status
            else:
                row.status, row.ended = status, ev.ts
                row.started = row.started or d.get("started") or ev.ts
                row.model = d.get("model") or row.model
                row.note = (d.get("error") or "") if status != "succeeded" else ("cached" if d.get("cached") else "")
                if sid == self.stream_sid:
                    self.stream_done = True
        elif kind == "step_retry":
            row.note = f"retry in {d.get('delay') or 0:.1f}s: {d.get('error')}"
        elif kind == "check_failed":
            row.note = f"check failed: {d.get('message')}"
        elif kind == "step_waiting":
            row.status, row.note = "waiting", f"waiting for approval: {d.get('question') or ''}"
            self.flush()
            return
        elif kind == "approval":
            row.note = f"{d.get('decision')} by {d.get('decided_by') or d.get('mode')}"
        elif kind == "llm_call":
            t = (d.get("tokens_in") or 0) + (d.get("tokens_out") or 0)
            row.tokens += t
            row.cost += d.get("cost_usd") or 0.0
            self.tokens += t
            self.cost += d.get("cost_usd") or 0.0
            if d.get("provider"):
                row.model = f"{d.get('provider')}:{d.get('model')}"
        elif kind == "token":
            if sid != self.stream_sid or self.stream_done:
                self.stream_sid, self.stream_text, self.stream_done = sid, "", False
            self.stream_text = (self.stream_text + (d.get("text") or ""))[-STREAM_CHARS * 2:]
        elif kind == "tool_call":
            row.note = f"tool {d.get('tool')}" + (f": error: {d.get('error')}"[:160] if d.get("error") else
                                                   " (cached)" if d.get("cached") else "")
        elif kind == "log":
            row.note = str(d.get("message") or "")[:200]
        self._soon()

    # drawing --------------------------------------------------------------------------------
    def _soon(self, delay: float | None = None) -> None:
        if self._handle is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._handle = loop.call_later(self.interval if delay is None else delay, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self.flush()
        if self.ended is None:
            states = {r.status for r in self.rows.values()}
            if "running" in states:
                self._soon(1.0)      # keep the clocks moving
            elif "waiting" in states:
                self._soon(5.0)      # a run waiting for a person: a slow clock is enough

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._closed:
            return
        self._render()

    def _render(self) -> None:
        self.draws += 1
        rows = list(self.rows.values())
        finished = sum(r.progress() for r in rows)
        bar_style = {"succeeded": "success", "failed": "danger", "budget_exceeded": "danger",
                     "cancelled": "warning", "waiting": "warning"}.get(self.status if self.ended else "", "info")
        _set(self.bar, "value", finished if self.ended is None or self.status != "succeeded" else self.bar.max)
        _set(self.bar, "bar_style", bar_style)
        _set(self.header, "value", self._header_html(rows))
        _set(self.table, "value", self._table_html(rows))
        _set(self.stream, "value", self._stream_html())
        visible = "none" if self.ended is not None else None
        if self.stop_button.layout.display != visible:
            self.stop_button.layout.display = visible

    def _header_html(self, rows) -> str:
        now = self.ended or time.time()
        done = sum(1 for r in rows if r.status in FINAL)
        status = self.status if self.ended else ("waiting" if any(r.status == "waiting" for r in rows) else "running")
        fill, stroke = STATUS_COLORS.get(status, STATUS_COLORS["running"])
        rid = f" · run <code>{_e(self.run_id)}</code>" if self.run_id else ""
        err = f"<div style='color:#d93025'>{_e(str(self.error))}</div>" if self.error and self.ended else ""
        return (f"<div style='font-size:13px'><span style='background:{fill};color:{stroke};border:1px solid {stroke};"
                f"border-radius:9px;padding:0 7px' class='orc-status' data-status='{_e(status)}'>"
                f"{SYMBOL.get(status, '')} {_e(status)}</span> <b>{_e(self.title)}</b>{rid} · {done}/{len(rows)} steps"
                f" · {_clock(max(0.0, now - self.started))} · {self.tokens:,} tokens · ${self.cost:.4f}</div>{err}")

    def _pick(self, rows):
        if len(rows) <= MAX_ROWS:
            return rows, ""
        rank = {"running": 0, "waiting": 0, "failed": 1, "cancelled": 2}
        chosen = sorted(rows, key=lambda r: (rank.get(r.status, 3), -(r.ended or 0) if r.status in FINAL else r.seq))
        keep = {r.sid for r in chosen[:MAX_ROWS]}
        hidden = [r for r in rows if r.sid not in keep]
        by: dict[str, int] = {}
        for r in hidden:
            by[r.status] = by.get(r.status, 0) + 1
        more = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
        return [r for r in rows if r.sid in keep], f"… {len(hidden)} more steps ({more})"

    def _table_html(self, rows) -> str:
        shown, more = self._pick(rows)
        now = time.time()
        out = []
        for r in shown:
            fill, stroke = STATUS_COLORS.get(r.status, STATUS_COLORS["pending"])
            took = _clock(((r.ended or now) - r.started)) if r.started else ""
            note = _e(r.note[:160])
            if r.items:
                done, failed, running = r.counts()
                pct = 100 * done / r.items
                note = (f"<span class='orc-fanout'>{done}/{r.items}" + (f" · {failed} ✘" if failed else "")
                        + (f" · {running} ▶" if running else "") + "</span> <span style='display:inline-block;"
                        f"width:80px;height:6px;background:#eee;vertical-align:middle'><span style='display:block;"
                        f"height:6px;width:{pct:.0f}%;background:{stroke}'></span></span> " + note)
            out.append(f"<tr data-step='{_e(r.sid)}' data-status='{_e(r.status)}'><td style='color:{stroke}'>"
                       f"{SYMBOL.get(r.status, '?')}</td><td><b>{_e(r.sid)}</b></td><td>{_e(r.status)}</td>"
                       f"<td>{('#%d' % r.attempt) if r.attempt > 1 else ''}</td><td>{_e(r.model or '')}</td>"
                       f"<td>{r.tokens or ''}</td><td>{'$%.4f' % r.cost if r.cost else ''}</td><td>{took}</td>"
                       f"<td style='max-width:30em;overflow:hidden;text-overflow:ellipsis'>{note}</td></tr>")
        more_html = f"<div style='font-size:11px;opacity:.7'>{_e(more)}</div>" if more else ""
        return ("<table class='orc-progress' style='border-collapse:collapse;font-size:12px;width:100%'>"
                "<thead><tr style='text-align:left;opacity:.7'><th></th><th>step</th><th>state</th><th>try</th>"
                "<th>model</th><th>tokens</th><th>cost</th><th>time</th><th></th></tr></thead>"
                f"<tbody>{''.join(out)}</tbody></table>{more_html}")

    def _stream_html(self) -> str:
        if not self.stream_sid or self.ended is not None or self.stream_done:
            return ""
        text = self.stream_text[-STREAM_CHARS:]
        return (f"<div class='orc-stream' style='font-size:11px;opacity:.75;margin-top:4px'><b>{_e(self.stream_sid)}"
                f"</b> streaming…</div><pre style='white-space:pre-wrap;margin:0;max-height:9em;overflow:auto;"
                f"font-size:12px;background:var(--jp-layout-color2,#f7f7f7);padding:4px 6px'>{_e(text)}</pre>")

    # cards and control ----------------------------------------------------------------------
    def add_card(self, card) -> None:
        """An approval card (``card.widget``; ``card.snapshot_html()`` for the static copy)."""
        self.card_list.append(card)
        self.cards.children = tuple(self.cards.children) + (card.widget,)

    def snapshot_html(self, compact: bool = False) -> str:
        """The view as static HTML: what stays in the saved notebook after the run (widget
        outputs of a finished kernel would only show "model not found")."""
        self.flush()
        rows = list(self.rows.values())
        color = {"success": "#1e8e3e", "danger": "#d93025", "warning": "#e37400"}.get(self.bar.bar_style, "#1a73e8")
        pct = 100 * self.bar.value / max(1, self.bar.max)
        bar = (f"<div style='height:8px;background:var(--jp-layout-color2,#eee);margin:4px 0'><div style='height:8px;"
               f"width:{pct:.0f}%;background:{color}'></div></div>")
        table = "" if compact else self._table_html(rows)
        cards = "".join(c.snapshot_html() for c in self.card_list)
        return (f"<div class='orc-run orc-snapshot' style='border:1px solid var(--jp-border-color2,#ddd);"
                f"padding:4px 8px;margin:2px 0'>{self._header_html(rows)}{bar}{table}{cards}</div>")

    def _stop_clicked(self, _button) -> None:
        if self.on_stop is not None and self.ended is None:
            self.stop_button.disabled = True
            self.stop_button.description = "Stopping…"
            self.on_stop()

    def detach(self) -> None:
        """Stop drawing (the run went on as text, or the view was closed)."""
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _set(widget, name: str, value) -> None:
    if getattr(widget, name) != value:  # unchanged values send nothing
        setattr(widget, name, value)
