"""Journal records -> DuckDB rows, in bulk (one statement per table and batch)."""
from __future__ import annotations

import datetime as dt
import json

from ..core.serialize import dumps

_STEP_COLS = {"run_id": "VARCHAR", "step_id": "VARCHAR", "item_index": "INTEGER", "attempt": "INTEGER",
              "status": "VARCHAR", "model": "VARCHAR", "started_at": "DOUBLE", "ended_at": "DOUBLE",
              "output": "JSON", "error": "VARCHAR", "cached": "BOOLEAN"}
_CALL_COLS = {"call_id": "VARCHAR", "run_id": "VARCHAR", "step_id": "VARCHAR", "item_index": "INTEGER",
              "attempt": "INTEGER", "provider": "VARCHAR", "model": "VARCHAR", "request": "JSON",
              "response_text": "VARCHAR", "tokens_in": "BIGINT", "tokens_out": "BIGINT", "cost_usd": "DOUBLE",
              "latency_ms": "DOUBLE", "cached": "BOOLEAN", "request_hash": "VARCHAR", "error": "VARCHAR",
              "purpose": "VARCHAR", "created_at": "DOUBLE", "finish_reason": "VARCHAR",
              "response_model": "VARCHAR", "retry": "INTEGER", "fallback_from": "VARCHAR", "estimate_usd": "DOUBLE"}
_EVENT_COLS = {"run_id": "VARCHAR", "ts": "DOUBLE", "level": "VARCHAR", "step_id": "VARCHAR",
               "message": "VARCHAR", "kind": "VARCHAR", "item_index": "INTEGER", "attempt": "INTEGER"}
_APPROVAL_COLS = {"run_id": "VARCHAR", "step_id": "VARCHAR", "round": "INTEGER", "decision": "VARCHAR",
                  "comment": "VARCHAR", "decided_by": "VARCHAR", "mode": "VARCHAR", "decided_at": "DOUBLE",
                  "edited": "JSON", "input": "JSON"}
_TOOL_COLS = {"id": "VARCHAR", "run_id": "VARCHAR", "step_id": "VARCHAR", "item_index": "INTEGER",
              "attempt": "INTEGER", "turn": "INTEGER", "position": "INTEGER", "call_id": "VARCHAR",
              "tool": "VARCHAR", "ref": "VARCHAR",
              "arguments": "JSON", "result": "JSON", "error": "VARCHAR", "duration_ms": "DOUBLE",
              "decision": "VARCHAR", "cached": "BOOLEAN", "created_at": "DOUBLE"}
_ARTIFACT_COLS = {"run_id": "VARCHAR", "step_id": "VARCHAR", "path": "VARCHAR", "rel_path": "VARCHAR",
                  "sha256": "VARCHAR", "media_type": "VARCHAR", "bytes": "BIGINT", "created_at": "DOUBLE"}
_RUN_TIME_COLS = ("started_at", "ended_at")
_RUN_COLS = ("run_id", "pipeline", "status", "inputs", "spec_yaml", "spec_hash", "source", "notebook_path",
             "started_at", "ended_at", "cost_usd", "tokens_in", "tokens_out", "error", "parent_run_id",
             "spec_path", "outdir", "pid", "host", "approval_policy", "nb_run_id", "model_override", "isolate")


def ts(value):
    """Epoch seconds -> naive UTC datetime (DuckDB TIMESTAMP)."""
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)


def _select(cols: dict) -> str:
    parts = []
    for name, typ in cols.items():
        if typ == "DOUBLE" and name in ("started_at", "ended_at", "created_at", "ts", "decided_at"):
            parts.append(f"make_timestamp(CAST(round({name} * 1000000) AS BIGINT)) AS {name}")
        else:
            parts.append(name)
    return ", ".join(parts)


def _bulk(con, table: str, cols: dict, rows: list[dict], conflict: str) -> None:
    if not rows:
        return
    structure = json.dumps([{k: v for k, v in cols.items()}])
    payload = dumps([{k: r.get(k) for k in cols} for r in rows])
    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {_select(cols)} FROM "
                f"(SELECT unnest(from_json(?::JSON, '{structure}'), recursive := true)) {conflict}", [payload])


def apply(con, records: list[dict]) -> None:
    """Write a batch of journal records (caller holds the transaction)."""
    runs: dict[str, dict] = {}
    steps: dict[tuple, dict] = {}
    calls, events, approvals, artifacts, tool_calls = [], [], [], {}, []
    for r in records:
        t = r.get("t")
        if t == "run":
            prev = runs.get(r["run_id"])
            runs[r["run_id"]] = {**prev, **r} if prev else dict(r)
            events.append(_run_event(r))
        elif t == "step":
            key = (r["run_id"], r["step_id"], r["item_index"], r["attempt"])
            prev = steps.get(key)
            steps[key] = {**prev, **{k: v for k, v in r.items() if v is not None or k in ("output", "error")}} \
                if prev else dict(r)
            events.append(_step_event(r))
        elif t == "llm_call":
            calls.append(r)
        elif t == "tool_call":
            tool_calls.append(r)
        elif t == "event":
            events.append(r)
        elif t == "approval":
            approvals.append(r)
            events.append({"run_id": r["run_id"], "ts": r.get("decided_at"), "level": "info",
                           "step_id": r["step_id"], "kind": "approval", "item_index": -1, "attempt": r["round"],
                           "message": f"{r['decision']} by {r.get('decided_by') or r.get('mode')}"
                                      + (f": {r['comment']}" if r.get("comment") else "")})
        elif t == "artifact":
            artifacts[(r["run_id"], r["path"])] = r
    _upsert_runs(con, list(runs.values()))
    _bulk(con, "steps", _STEP_COLS, list(steps.values()),
          "ON CONFLICT (run_id, step_id, item_index, attempt) DO UPDATE SET status = excluded.status, "
          "model = coalesce(excluded.model, steps.model), started_at = coalesce(excluded.started_at, steps.started_at), "
          "ended_at = excluded.ended_at, output = excluded.output, error = excluded.error, cached = excluded.cached")
    stopped = [rid for rid, r in runs.items() if r.get("abandoned")]  # its journal failed (journal.finish_abandoned)
    if stopped:
        con.execute("UPDATE steps SET status = 'failed', error = 'interrupted: the run could not record more' "
                    f"WHERE status = 'running' AND run_id IN ({', '.join('?' for _ in stopped)})", stopped)
    _bulk(con, "llm_calls", _CALL_COLS, calls, "ON CONFLICT DO NOTHING")
    _bulk(con, "approvals", _APPROVAL_COLS, approvals, "ON CONFLICT DO NOTHING")
    _bulk(con, "tool_calls", _TOOL_COLS, tool_calls, "ON CONFLICT DO NOTHING")
    _bulk(con, "artifacts", _ARTIFACT_COLS, list(artifacts.values()),
          "ON CONFLICT (run_id, path) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes, "
          "created_at = excluded.created_at, step_id = excluded.step_id")
    _bulk(con, "events", _EVENT_COLS, [e for e in events if e is not None], "")


def _upsert_runs(con, records: list[dict]) -> None:
    """Runs with the same columns (a whole run; a run's end merged after its start) in one statement each."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    groups: dict[tuple, list[list]] = {}
    for r in records:
        cols = tuple(c for c in _RUN_COLS if c in r)
        values = [ts(r[c]) if c in _RUN_TIME_COLS else dumps(r[c]) if c == "inputs" else r[c] for c in cols]
        groups.setdefault(cols, []).append(values + [now])
    for cols, rows in groups.items():
        cols = cols + ("updated_at",)
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "run_id")
        one = "(" + ", ".join("?" for _ in cols) + ")"
        for i in range(0, len(rows), 200):
            chunk = rows[i:i + 200]
            con.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES {', '.join(one for _ in chunk)} "
                        f"ON CONFLICT (run_id) DO UPDATE SET {sets}", [v for row in chunk for v in row])


def _step_event(r: dict) -> dict:
    status = r.get("status")
    attempt = r.get("attempt")
    where = f" item {r['item_index']}" if r.get("item_index", -1) >= 0 else ""
    if status == "running":
        msg, level = f"started{where} (attempt {attempt})", "info"
    elif status == "succeeded":
        took = (r.get("ended_at") or 0) - (r.get("started_at") or 0)
        msg = f"succeeded{where} in {took * 1000:.0f} ms" + (" (cached)" if r.get("cached") else "")
        level = "info"
    elif status == "waiting":
        msg, level = f"waiting{where}: {r.get('error') or 'for approval'}", "info"
    else:
        msg = f"{status}{where}" + (f": {r['error']}" if r.get("error") else "")
        level = "error" if status == "failed" else "info"
    return {"run_id": r["run_id"], "ts": r.get("ended_at") or r.get("started_at"), "level": level,
            "step_id": r["step_id"], "message": msg, "kind": "step_" + str(status),
            "item_index": r.get("item_index"), "attempt": attempt}


def _run_event(r: dict) -> dict:
    status = r.get("status")
    if status == "running":
        msg = ("run resumed" if r.get("resumed") else "run started") + f": pipeline {r.get('pipeline')}"
        when = r.get("started_at")
    else:
        msg = f"run {status}" + (f": {r['error']}" if r.get("error") else "")
        when = r.get("ended_at")
    return {"run_id": r["run_id"], "ts": when, "level": "error" if status == "failed" else "info",
            "step_id": None, "message": msg, "kind": "run_" + str(status), "item_index": -1, "attempt": 0}
