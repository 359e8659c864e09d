"""`orc export otlp`: runs already in the store, sent as OpenTelemetry traces.

A stored run is replayed as the events it emitted when it ran (rebuilt from the runs, steps,
llm_calls, approvals, events, artifacts and, when present, tool_calls tables, with their real
timestamps) through the same ``telemetry.spans.SpanBuilder`` a live run uses, so the trace has the
same shape and the same ids as one sent live. Sub-pipeline runs go with their parent.
"""
from __future__ import annotations

import datetime as dt
import json
import re

from ..core.events import Event
from ..errors import OrcError, UsageError

_EPOCH = dt.datetime(1970, 1, 1)
_ORDER = {"run_started": 0, "step_started": 1, "approval": 3, "llm_call": 3, "tool_call": 3, "log": 3,
          "artifact": 3, "step_waiting": 3, "check_failed": 4, "step_finished": 5, "step_retry": 6,
          "run_finished": 9}


def _us(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _event(kind, run_id, ts_us, step_id=None, item=-1, attempt=0, **data) -> Event:
    ev = Event(kind, run_id, step_id, item if item is not None else -1, attempt or 0, data)
    ev.ts = ts_us / 1e6
    return ev


def _rows(con, sql, params) -> list[dict]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def select_runs(store, run_ref: str | None = None, since: dt.datetime | None = None) -> list[str]:
    """Top-level run ids: the one named (a prefix will do), or those started since ``since``."""
    from ..store.queries import resolve_run_id
    with store.connect() as con:
        if run_ref:
            return [resolve_run_id(con, run_ref)]
        if since is None:
            raise UsageError("orc export otlp needs a run id or --since DATE")
        rows = con.execute("SELECT run_id FROM runs WHERE parent_run_id IS NULL AND started_at >= ? "
                           "ORDER BY started_at", [since]).fetchall()
    return [r[0] for r in rows]


def run_events(store, run_id: str) -> list[Event]:
    """The events of a stored run and its sub-runs, in the order they happened."""
    with store.connect() as con:
        runs = _rows(con, """WITH RECURSIVE tree(run_id) AS (SELECT ?::VARCHAR UNION ALL
                             SELECT r.run_id FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)
                             SELECT r.* FROM runs r JOIN tree USING (run_id)""", [run_id])
        ids = [r["run_id"] for r in runs]
        where = "run_id IN (SELECT unnest(?::VARCHAR[]))"
        steps = _rows(con, f"SELECT * FROM steps WHERE {where}", [ids])
        calls = _rows(con, f"SELECT * FROM llm_calls WHERE {where}", [ids])
        approvals = _rows(con, f"SELECT * FROM approvals WHERE {where}", [ids])
        logged = _rows(con, f"SELECT * FROM events WHERE {where} AND kind IN "
                            "('step_retry', 'check_failed', 'step_waiting', 'log')", [ids])
        artifacts = _rows(con, f"SELECT * FROM artifacts WHERE {where}", [ids])
        tools = []
        if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'tool_calls'").fetchall()[0][0]:
            tools = _rows(con, f"SELECT * FROM tool_calls WHERE {where}", [ids])
        root = _root_of(con, run_id)
    from ..telemetry.spans import trace_id_of
    out: list[Event] = []
    for r in runs:
        start = _us(r["started_at"])
        if start is None:
            continue
        out.append(_event("run_started", r["run_id"], start, pipeline=r["pipeline"], source=r["source"],
                          parent_run_id=r["parent_run_id"] if r["run_id"] != run_id else None,
                          started_us=start, trace_id=trace_id_of(root)))
        end = _us(r["ended_at"])
        if end is not None:
            out.append(_event("run_finished", r["run_id"], end, status=r["status"], error=r["error"],
                              cost_usd=r["cost_usd"], tokens_in=r["tokens_in"], tokens_out=r["tokens_out"]))
    for s in steps:
        start, end = _us(s["started_at"]), _us(s["ended_at"])
        key = (s["run_id"], s["step_id"], s["item_index"], s["attempt"])
        if start is not None:
            out.append(_event("step_started", key[0], start, key[1], key[2], key[3], model=s["model"]))
        if end is not None and s["status"] not in ("running", "waiting"):
            out.append(_event("step_finished", key[0], end, key[1], key[2], key[3], status=s["status"], error=s["error"],
                              cached=s["cached"], model=s["model"]))
    for c in calls:
        data = dict(c)
        data["request"] = _json(c.get("request"))
        out.append(_event("llm_call", c["run_id"], _us(c["created_at"]), c["step_id"], c["item_index"], c["attempt"],
                          **{k: v for k, v in data.items() if k not in ("run_id", "step_id", "item_index", "attempt",
                                                                          "created_at")}))
    for a in approvals:
        when = _us(a["decided_at"])
        attempt = _attempt_at(steps, a["run_id"], a["step_id"], when)
        out.append(_event("approval", a["run_id"], when, a["step_id"], -1, attempt, decision=a["decision"],
                          comment=a["comment"], decided_by=a["decided_by"], mode=a["mode"], round=a["round"]))
    for e in logged:
        out.append(_event(e["kind"], e["run_id"], _us(e["ts"]), e["step_id"], e["item_index"], e["attempt"],
                          **_logged_data(e)))
    for a in artifacts:
        out.append(_event("artifact", a["run_id"], _us(a["created_at"]), a["step_id"], path=a["path"],
                          rel_path=a["rel_path"], bytes=a["bytes"]))
    for t in tools:
        when = _us(t.get("created_at") or t.get("ended_at") or t.get("ts"))
        if when is not None:
            out.append(_event("tool_call", t["run_id"], when, t.get("step_id"), t.get("item_index"), t.get("attempt"),
                              **{k: _json(v) if k in ("arguments", "result") else v for k, v in t.items()
                                 if k not in ("run_id", "step_id", "item_index", "attempt", "created_at")}))
    out = [e for e in out if e.ts is not None]
    out.sort(key=lambda e: (e.ts, _ORDER.get(e.kind, 3), e.item >= 0 if e.kind == "step_started" else 0))
    return out


def _root_of(con, run_id: str) -> str:
    seen = set()
    while run_id not in seen:
        seen.add(run_id)
        row = con.execute("SELECT parent_run_id FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not row or not row[0][0]:
            return run_id
        run_id = row[0][0]
    return run_id


def _attempt_at(steps, run_id, step_id, when) -> int:
    """The attempt of a step that was running at ``when`` (an approval's round)."""
    best = 0
    for s in steps:
        if s["run_id"] == run_id and s["step_id"] == step_id and s["item_index"] == -1:
            start = _us(s["started_at"])
            if start is not None and when is not None and start <= when:
                best = max(best, s["attempt"])
    return best


_RETRY = re.compile(r"retrying in ([\d.]+) s after: (.*)", re.S)


def _logged_data(e: dict) -> dict:
    msg = e.get("message") or ""
    if e["kind"] == "step_retry":
        m = _RETRY.match(msg)
        return {"delay": float(m.group(1)), "error": m.group(2)} if m else {"error": msg}
    if e["kind"] == "check_failed":
        return {"message": msg.removeprefix("check failed: ")}
    if e["kind"] == "step_waiting":
        return {"question": msg}
    return {"level": e.get("level"), "message": msg}


def _json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _checked_url(endpoint) -> str:
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(endpoint)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except (ValueError, TypeError, AttributeError):  # not text, a bad port or IPv6 address
        ok = False
    if not ok:
        raise UsageError(f"endpoint {str(endpoint)[:100]!r} is not an http(s) URL with a host: give the collector's "
                         "base URL, e.g. --endpoint http://localhost:4318")
    return endpoint


def export_otlp(store, run_ref: str | None = None, since: dt.datetime | None = None, endpoint: str | None = None,
                timeout: float = 30.0) -> dict:
    """Send stored runs as traces. ``endpoint``: an OTLP/HTTP base URL (else the OTEL_ variables or
    the settings). Returns {"runs", "spans", "endpoint"}; raises OrcError when sending failed."""
    from ..spec.settings import load_settings
    from ..telemetry import available
    from ..telemetry.config import TelemetryConfig, resolve
    if not available():
        raise OrcError("orc export otlp needs the otel extra: pip install 'orchestrator-nb[otel]'")
    if endpoint:
        base = _checked_url(endpoint).rstrip("/")
        url = base if base.endswith("/v1/traces") else base + "/v1/traces"
        from_env = resolve({"telemetry": {"endpoint": base}})  # only for the capture-content choice
        config = TelemetryConfig(endpoint=url, shown=url, capture_content=bool(from_env and from_env.capture_content))
    else:
        config = resolve(load_settings(store.path))
        if config is None:
            raise UsageError("where to? give --endpoint URL, or set OTEL_EXPORTER_OTLP_ENDPOINT "
                             "(or telemetry.endpoint in .orc/settings.yaml)")
    run_ids = select_runs(store, run_ref, since)
    from ..telemetry.sender import Sender
    from ..telemetry.spans import SpanBuilder
    sender = Sender(config, batch=True, report=False)
    builder = SpanBuilder(sender.tracer, sender.ids, config.capture_content)
    for rid in run_ids:
        for ev in run_events(store, rid):
            builder.handle(ev)
        builder.close()
    sender.flush(timeout)
    sender.shutdown(5.0)
    exporter = sender.exporter
    if builder.spans and (exporter.failures or exporter.sent < builder.spans):
        raise OrcError(f"could not send {builder.spans - exporter.sent} of {builder.spans} spans to {config.shown} "
                       "(is the collector running?)")
    return {"runs": len(run_ids), "spans": builder.spans, "endpoint": config.shown}
