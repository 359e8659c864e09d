"""Helpers for the provider tests (imported as `provkit`): store queries, an event collector."""
from __future__ import annotations

import time


def llm_calls(run_id: str | None = None) -> list[dict]:
    """Rows of llm_calls (of one run, or all), oldest first."""
    from orchestrator_nb.api import sql
    where = f"WHERE run_id = '{run_id}'" if run_id else ""
    cols, rows = sql(f"SELECT * FROM llm_calls {where} ORDER BY created_at, call_id", limit=None)
    return [dict(zip(cols, r)) for r in rows]


class Collector:
    """A run-event subscriber that keeps every event with the moment it arrived."""

    def __init__(self):
        self.events = []

    def handle(self, ev) -> None:
        self.events.append((time.perf_counter(), ev))

    def of(self, kind: str):
        return [(t, ev) for t, ev in self.events if ev.kind == kind]
