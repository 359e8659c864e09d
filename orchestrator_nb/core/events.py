"""Run events. The executor emits them; the store, console progress and widgets subscribe.

Kinds and their ``data``:
  run_started     {pipeline (name), spec (the Pipeline), inputs, source, outdir, parent_run_id, ...}
  step_started    {model?}                         step_id, item, attempt set
  step_finished   {status, output, error, cached, model, started}
  step_retry      {error, delay}
  check_failed    {message}
  step_waiting    {question, show, round}          an approval is pending
  approval        {decision, comment, decided_by, mode, round}
  llm_call        {the llm_calls row}
  token           {text}                           streamed model output (not stored)
  artifact        {path, sha256, media_type, bytes}
  log             {level, message}
  run_finished    {status, error, cost_usd, tokens_in, tokens_out}

A subscriber is any object with ``handle(event)``; it must be quick (one with a
``step_succeeded(run_id, step_id, attempt, output, started, ended, cached, model)`` method gets a
step's success that way, without an Event: ``Bus.step_succeeded``). A failing view is reported
once and detached, never allowed to break the run; a subscriber marked ``critical = True`` (the
store's journal) stops the run instead, because losing records silently is worse.
"""
from __future__ import annotations

import sys
import time


class Event:
    __slots__ = ("kind", "run_id", "step_id", "item", "attempt", "ts", "data")

    def __init__(self, kind: str, run_id: str, step_id: str | None = None, item: int = -1,
                 attempt: int = 0, data: dict | None = None, ts: float | None = None):
        self.kind, self.run_id, self.step_id, self.item, self.attempt = kind, run_id, step_id, item, attempt
        self.ts = time.time() if ts is None else ts
        self.data = data if data is not None else {}

    def __repr__(self) -> str:
        where = f" {self.step_id}[{self.item}]#{self.attempt}" if self.step_id else ""
        return f"<Event {self.kind}{where} {self.data}>"


class Bus:
    """Fans events out to subscribers. ``active`` is False when nobody listens (fast path)."""

    __slots__ = ("subscribers", "held")

    def __init__(self, subscribers=()):
        self.subscribers = [s for s in subscribers if s is not None]
        self.held: list[tuple] = []  # events waiting for release(), as Event's arguments

    def hold(self, kind: str, run_id: str, step_id: str | None = None, item: int = -1, attempt: int = 0,
             data: dict | None = None) -> None:
        """Emit this event (timed now) at the next ``release()``, or before the next ``emit()``
        (order is kept). The executor holds the starts of a burst of parallel steps until all of
        them wait; the Event itself is made then too."""
        self.held.append((kind, run_id, step_id, item, attempt, data, time.time()))

    def release(self) -> None:
        held, self.held = self.held, []
        for args in held:
            self.emit(Event(*args))

    @property
    def active(self) -> bool:
        return bool(self.subscribers)

    def subscribe(self, subscriber) -> None:
        if subscriber is not None and subscriber not in self.subscribers:
            self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        if self.held:
            self.release()
        broken = None
        for s in self.subscribers:
            try:
                s.handle(event)
            except Exception as e:  # a broken view must never break a run
                if getattr(s, "critical", False):
                    raise
                broken = (broken or []) + [(s, e)]
        if broken:
            self._detach(broken)

    def step_succeeded(self, run_id: str, step_id: str, attempt: int, output, started: float, ended: float,
                       cached: bool = False, model: str | None = None) -> None:
        """``emit`` of a step's success (``step_finished``, status succeeded, the step as a whole),
        the commonest event: a subscriber with a ``step_succeeded`` method of its own (the journal)
        gets these fields as they are, the others the Event."""
        if self.held:
            self.release()
        event = broken = None
        for s in self.subscribers:
            try:
                direct = getattr(s, "step_succeeded", None)
                if direct is not None:
                    direct(run_id, step_id, attempt, output, started, ended, cached, model)
                    continue
                if event is None:
                    event = Event("step_finished", run_id, step_id, -1, attempt, {
                        "status": "succeeded", "output": output, "error": None, "started": started,
                        "cached": cached, "model": model}, ended)
                s.handle(event)
            except Exception as e:  # (as in emit)
                if getattr(s, "critical", False):
                    raise
                broken = (broken or []) + [(s, e)]
        if broken:
            self._detach(broken)

    def _detach(self, broken: list) -> None:
        for s, e in broken:
            if s in self.subscribers:
                self.subscribers.remove(s)
            print(f"orchestrator-nb: progress subscriber {type(s).__name__} failed and was "
                  f"detached: {type(e).__name__}: {e}", file=sys.stderr)
