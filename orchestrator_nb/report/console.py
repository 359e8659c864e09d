"""Console progress: a live line per step on a terminal, plain log lines otherwise.

Also used headless in notebooks (papermill), where output is captured as text.
"""
from __future__ import annotations

import shutil
import sys
import time

SYMBOL = {"pending": "·", "running": "▶", "succeeded": "✔", "failed": "✘", "skipped": "↷", "waiting": "⏸",
          "cancelled": "■"}


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:5.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class _Row:
    __slots__ = ("sid", "status", "attempt", "started", "ended", "model", "tail", "items", "items_done", "note")

    def __init__(self, sid: str):
        self.sid, self.status, self.attempt = sid, "pending", 0
        self.started = self.ended = None
        self.model = self.note = None
        self.tail = ""
        self.items = self.items_done = 0


class ConsoleProgress:
    """Event subscriber. ``live=None`` picks live lines on a terminal, plain lines otherwise."""

    def __init__(self, stream=None, live: bool | None = None, show_tokens: bool = True):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.show_tokens = show_tokens
        self.rows: dict[str, _Row] = {}
        self.run_id = None
        self.drawn = 0
        self.last_draw = 0.0
        self._ticker = None
        self._second, self._stamp = None, ""
        self._out: list[str] = []  # plain lines not written yet (see _plain)
        self._soon = None  # the loop that will write them at its next turn

    # events -----------------------------------------------------------------------------------
    def handle(self, ev) -> None:
        kind = ev.kind
        if self.run_id is None and kind == "run_started":
            self.run_id = ev.run_id
            self._line(f"run {ev.run_id} · pipeline {ev.data.get('pipeline')}"
                       + (" (resumed)" if ev.data.get("resumed") else ""))
            self._start_ticker()
            return
        if ev.run_id != self.run_id:
            if kind == "run_started":  # a sub-pipeline
                self._line(f"  sub-run {ev.run_id} · pipeline {ev.data.get('pipeline')}")
            return
        if kind == "run_finished":
            self._stop_ticker()
            self._write()
            if self.live:
                self._draw(force=True)
            return
        sid = ev.step_id
        if sid is None:
            if kind == "log":
                self._line(f"  {ev.data.get('level', 'info')}: {ev.data.get('message')}")
            return
        row = self.rows.get(sid)
        if row is None:
            row = self.rows[sid] = _Row(sid)
        if kind == "step_started":
            if ev.item < 0:
                row.status, row.attempt, row.ended = "running", ev.attempt, None
                row.started = row.started or ev.ts
                if "items" in ev.data:
                    row.items = ev.data["items"]
                self._plain(row, f"running (attempt {ev.attempt})" if ev.attempt > 1 else "running")
        elif kind == "step_finished":
            status = ev.data.get("status")
            if ev.item >= 0:
                if status == "succeeded":
                    row.items_done += 1
                self._dirty()
                return
            row.status, row.ended = status, ev.ts
            row.started = row.started or ev.data.get("started") or ev.ts
            row.model = ev.data.get("model") or row.model
            row.note = ev.data.get("error") if status != "succeeded" else ("cached" if ev.data.get("cached") else None)
            took = _elapsed(row.ended - row.started)
            self._plain(row, f"{status} in {took.strip()}" + (f" — {row.note}" if row.note else ""))
        elif kind == "step_retry":
            self._plain(row, f"retry in {ev.data.get('delay', 0):.1f}s after: {ev.data.get('error')}")
        elif kind == "check_failed":
            self._plain(row, f"check failed: {ev.data.get('message')}")
        elif kind == "step_waiting":
            row.status = "waiting"
            self._plain(row, f"waiting for approval: {ev.data.get('question')}")
        elif kind == "token" and self.show_tokens:
            row.tail = (row.tail + ev.data.get("text", ""))[-200:]
        elif kind == "llm_call":
            row.model = f"{ev.data.get('provider')}:{ev.data.get('model')}"
            if ev.data.get("error"):
                self._plain(row, f"model {row.model} failed: {ev.data['error']}")
        elif kind == "tool_call":
            d = ev.data
            done = "error: " + str(d.get("error"))[:80] if d.get("error") else (
                "cached" if d.get("cached") else f"{d.get('duration_ms') or 0:.0f} ms")
            row.note = f"tool {d.get('tool')} ({done})"
            self._plain(row, f"tool {d.get('tool')} {_args(d.get('arguments'))} — {done}")
        elif kind == "log":
            self._plain(row, str(ev.data.get("message")))
        self._dirty()

    # output -----------------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        if self.live and self.drawn:
            self._clear()
        self._write()
        print(text, file=self.stream, flush=True)
        if self.live:
            self.drawn = 0

    def _plain(self, row: _Row, text: str) -> None:
        if not self.live:
            now = int(time.time())
            if now != self._second:  # the stamp changes once a second: format it then
                self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
            self._out.append(f"[{self._stamp}] {row.sid:<20} {text}\n")
            # a log tail sees each line as it happens; a step that ended well is written with the
            # next line (the next step's start: one write for both) or at the loop's next turn
            if row.status in ("succeeded", "skipped") and self._write_soon():
                return
            self._write()

    def _write_soon(self) -> bool:
        """Whether the lines waiting will be written at the loop's next turn (scheduled now if need be)."""
        if self._soon is None:
            try:
                import asyncio
                self._soon = asyncio.get_running_loop()
            except RuntimeError:
                return False
            self._soon.call_soon(self._write)
        return True

    def _write(self) -> None:
        self._soon = None
        if self._out:
            text, self._out = "".join(self._out), []
            self.stream.write(text)
            self.stream.flush()

    def _dirty(self) -> None:
        if self.live and time.monotonic() - self.last_draw > 0.1:
            self._draw()

    def _clear(self) -> None:
        self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
        self.drawn = 0

    def _draw(self, force: bool = False) -> None:
        self.last_draw = time.monotonic()
        width = shutil.get_terminal_size((100, 24)).columns
        height = max(5, shutil.get_terminal_size((100, 24)).lines - 4)
        rows = [r for r in self.rows.values() if r.status != "pending"]
        hidden = max(0, len(rows) - height)
        lines = [f"  … {hidden} more steps"] if hidden else []
        now = time.time()
        for r in rows[hidden:]:
            took = _elapsed(((r.ended or now) - r.started) if r.started else 0)
            att = f"#{r.attempt}" if r.attempt > 1 else "  "
            fan = f" {r.items_done}/{r.items}" if r.items else ""
            extra = r.note or (r.tail.replace("\n", " ")[-60:] if r.status == "running" and r.tail else "") or ""
            text = f"  {SYMBOL.get(r.status, '?')} {r.sid:<22} {r.status:<10} {att} {took}{fan}  {r.model or ''}  {extra}"
            lines.append(text[:width - 1])
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F")
        self.stream.write("".join(f"\x1b[2K{line}\n" for line in lines))
        self.stream.write("\x1b[J")
        self.stream.flush()
        self.drawn = len(lines)

    def _start_ticker(self) -> None:
        if not self.live:
            return
        try:
            import asyncio
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        async def tick():
            import asyncio
            while True:
                await asyncio.sleep(0.5)
                self._draw()
        self._ticker = loop.create_task(tick())

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None


SUMMARY_ROWS = 40  # rows of a long run's table: every failed, waiting or cancelled step, then the first others
_ROUTINE = ("succeeded", "skipped", "pending")


def summary_table(result) -> str:
    """The end-of-run table: one row per step, up to ``SUMMARY_ROWS`` (a step that failed, waits or
    was cancelled is always shown; a last line counts the succeeded, skipped... steps left out)."""
    header = ("step", "status", "tries", "model", "tokens", "cost", "time")
    steps = result.steps
    left_out: dict[str, int] = {}
    if len(steps) > SUMMARY_ROWS:
        room = max(0, SUMMARY_ROWS - sum(s["status"] not in _ROUTINE for s in steps))
        shown = []
        for s in steps:
            if s["status"] not in _ROUTINE:
                shown.append(s)
            elif room:
                room -= 1
                shown.append(s)
            else:
                left_out[s["status"]] = left_out.get(s["status"], 0) + 1
        steps = shown
    rows = []
    for s in steps:
        secs = f"{s['seconds']:.2f}s" if s["seconds"] is not None else ""
        tokens = s["tokens_in"] + s["tokens_out"]
        rows.append((s["id"], s["status"] + (" (cached)" if s["cached"] and s["status"] == "succeeded" else ""),
                     str(s["attempts"] or ""), s["model"] or "", str(tokens) if tokens else "",
                     f"${s['cost']:.4f}" if s["cost"] else "", secs))
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    if left_out:
        counts = ", ".join(f"{n} {status}" for status, n in left_out.items())
        out.append(f"… and {sum(left_out.values())} more steps ({counts}): `orc show {result.run_id}` lists every step")
    took = f"{result.seconds:.2f}s" if result.seconds is not None else "?"
    out.append(f"run {result.run_id}: {result.status} in {took} · {result.tokens} tokens · ${result.cost:.4f}"
               + (f"\n  {result.error}" if result.error and result.status != "succeeded" else ""))
    return "\n".join(out)


def _args(arguments, width: int = 60) -> str:
    import json
    text = json.dumps(arguments, ensure_ascii=False, default=str) if arguments is not None else ""
    return text if len(text) <= width else text[:width - 1] + "…"
