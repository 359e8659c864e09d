"""What the sidebar and the run view show, read from the store in one short connection each.

Built on ``store.queries`` (``list_runs``, ``run_detail``); the extra reads here shape rows for a
UI: each run's steps as a compact strip (including steps not started yet, from the run's spec),
and, for one run, a step timeline with every attempt, tokens and cost per step.
"""
from __future__ import annotations

import datetime as dt
import functools
import os

from ..store.queries import list_runs, run_detail

STATUSES = ("pending", "running", "succeeded", "failed", "skipped", "waiting", "cancelled", "budget_exceeded")
ACTIVE = ("running", "waiting", "pending")
MAX_EVENTS = 500


def runs_page(store, *, status=None, pipeline=None, top_level=False, limit=50, offset=0) -> dict:
    """A page of runs, newest first, each with a strip of step states, and the total count."""
    if not store.exists():
        return {"runs": [], "total": 0, "limit": limit, "offset": offset}
    with store.connect() as con:  # one lock and one journal merge for the whole page
        runs = list_runs(store, limit=limit, offset=offset, status=status, pipeline=pipeline, top_level=top_level)
        total = _count(con, status, pipeline, top_level)
        ids = [r["run_id"] for r in runs]
        rows = _step_rows(con, ids)
        specs = dict(con.execute(f"SELECT run_id, spec_yaml FROM runs WHERE run_id IN ({_marks(ids)})",
                                 ids).fetchall()) if ids else {}
    now = _utcnow()
    for r in runs:
        r["duration_s"] = duration(r["started_at"], r["ended_at"], r["status"], now)
        r["steps"] = step_strip(plan(specs.get(r["run_id"])), rows.get(r["run_id"], []))
    return {"runs": runs, "total": total, "limit": limit, "offset": offset}


def run_view(store, ref: str, root_dir: str | None = None) -> dict:
    """One run with its step timeline (every attempt and item), LLM calls, approvals, artifacts."""
    detail = run_detail(store, ref)
    for a in detail["pending"]:  # this run's approvals and its sub-pipelines'
        a["live"] = a.get("run_status") == "running"
    run = detail["run"]
    now = _utcnow()
    run["duration_s"] = duration(run["started_at"], run["ended_at"], run["status"], now)
    run["notebook_open_path"] = _under(run.get("notebook_path"), root_dir)
    steps_plan = plan(run.get("spec_yaml"))
    detail["plan"] = steps_plan
    detail["timeline"] = timeline(steps_plan, detail["steps"], detail.get("llm_calls", []), now)
    for c in detail["children"]:
        c["duration_s"] = duration(c["started_at"], c["ended_at"], c["status"], now)
    for a in detail["artifacts"]:
        a["open_path"] = _under(a.get("path"), root_dir)
    events = detail["events"]
    detail["events_total"] = len(events)
    detail["events"] = events[-MAX_EVENTS:]
    return detail


# -- shaping ------------------------------------------------------------------------------------

def step_strip(planned: list[dict], rows: list[dict]) -> list[dict]:
    """[{id, status, attempt, items_done, items_total}] in plan order; unplanned steps follow."""
    by_step: dict[str, dict] = {}
    for r in rows:  # rows: the latest whole-step attempt and item counts per step
        by_step[r["step_id"]] = {"id": r["step_id"], "status": r["status"] or "pending", "attempt": r["attempt"],
                                 "items_done": r["items_done"], "items_total": r["items_total"]}
    out = []
    for p in planned:
        out.append(by_step.pop(p["id"], None) or {"id": p["id"], "status": "pending", "attempt": 0,
                                                   "items_done": 0, "items_total": 0})
    out.extend(by_step.values())
    return out


def timeline(planned: list[dict], steps: list[dict], calls: list[dict], now: dt.datetime) -> list[dict]:
    """Per step: latest status, every attempt (whole step and items), tokens, cost, LLM call count."""
    kinds = {p["id"]: p["kind"] for p in planned}
    order = [p["id"] for p in planned] + sorted({s["step_id"] for s in steps} - set(kinds))
    out = []
    for sid in order:
        rows = [s for s in steps if s["step_id"] == sid]
        whole = [s for s in rows if s["item_index"] == -1]
        latest = max(whole, key=lambda s: s["attempt"]) if whole else None
        status = latest["status"] if latest else ("running" if rows else "pending")
        step_calls = [c for c in calls if c["step_id"] == sid]
        started = [s["started_at"] for s in rows if s["started_at"] is not None]
        ended = [s["ended_at"] for s in rows if s["ended_at"] is not None]
        out.append({
            "id": sid, "kind": kinds.get(sid, "step"), "status": status,
            "started_at": min(started) if started else None,
            "ended_at": max(ended) if ended and status not in ACTIVE else None,
            "output": latest["output"] if latest else None,
            "error": latest["error"] if latest else None,
            "model": next((s["model"] for s in reversed(rows) if s.get("model")), None),
            "cached": bool(latest and latest["cached"]),
            "attempts": [{"attempt": s["attempt"], "item_index": s["item_index"], "status": s["status"],
                          "started_at": s["started_at"], "ended_at": s["ended_at"],
                          "duration_s": duration(s["started_at"], s["ended_at"], s["status"], now),
                          "model": s["model"], "cached": s["cached"], "error": s["error"],
                          "output": s["output"] if s["item_index"] >= 0 else None}
                         for s in rows],
            "items_total": len({s["item_index"] for s in rows if s["item_index"] >= 0}),
            "calls": len(step_calls),
            "tokens_in": sum(c["tokens_in"] or 0 for c in step_calls),
            "tokens_out": sum(c["tokens_out"] or 0 for c in step_calls),
            "cost_usd": round(sum(c["cost_usd"] or 0.0 for c in step_calls), 10),
        })
    return out


def plan(spec_yaml: str | None) -> list[dict]:
    """The steps a run's spec declares, in order: [{id, kind, needs}] ([] if it cannot be read)."""
    return [{"id": sid, "kind": kind, "needs": list(needs)} for sid, kind, needs in _plan_cached(spec_yaml or "")]


@functools.lru_cache(maxsize=256)
def _plan_cached(spec_yaml: str) -> tuple:
    from ..errors import OrcError
    from ..spec.format import ACTION_KEYS as ACTIONS
    from ..spec.yamlio import load_yaml
    try:  # within the YAML limits: a stored spec is text someone else may have written
        data = load_yaml(spec_yaml)[0] if spec_yaml else None
    except OrcError:
        return ()
    if isinstance(data, dict) and isinstance(data.get("steps"), list):
        steps = data["steps"]
    elif isinstance(data, list):
        steps = data  # a %%orc cell holding a list of steps
    elif isinstance(data, dict) and "id" in data:
        steps = [data]  # one step
    else:
        return ()
    out = []
    for s in steps:
        if not isinstance(s, dict) or not isinstance(s.get("id"), str):
            continue
        kind = next((k for k in ACTIONS if k in s), None) or str(s.get("action") or s.get("tool") or "step")
        needs = s.get("needs") or s.get("dependencies") or s.get("depends_on") or []
        needs = tuple(str(n) for n in needs) if isinstance(needs, list) else (str(needs),)
        out.append((s["id"], kind, needs))
    return tuple(out)


def duration(started, ended, status: str | None, now: dt.datetime) -> float | None:
    if started is None:
        return None
    end = ended if ended is not None else (now if status in ACTIVE else None)
    if end is None:
        return None
    return round(max((end - started).total_seconds(), 0.0), 3)


# -- reads ----------------------------------------------------------------------------------------

def _count(con, status, pipeline, top_level) -> int:
    from ..store.queries import run_filter
    where, params = run_filter(status, pipeline, top_level)
    return con.execute(f"SELECT count(*) FROM runs {where}", params).fetchall()[0][0]


def _step_rows(con, run_ids: list[str]) -> dict[str, list[dict]]:
    if not run_ids:
        return {}
    cur = con.execute(f"""
        WITH whole AS (
            SELECT run_id, step_id, status, attempt, started_at,
                   row_number() OVER (PARTITION BY run_id, step_id ORDER BY attempt DESC) AS n
            FROM steps WHERE run_id IN ({_marks(run_ids)}) AND item_index = -1),
        items AS (
            SELECT run_id, step_id, count(DISTINCT item_index) AS total,
                   count(DISTINCT item_index) FILTER (WHERE status = 'succeeded') AS done,
                   min(started_at) AS started_at
            FROM steps WHERE run_id IN ({_marks(run_ids)}) AND item_index >= 0 GROUP BY run_id, step_id)
        SELECT coalesce(w.run_id, i.run_id) AS run_id, coalesce(w.step_id, i.step_id) AS step_id,
               coalesce(w.status, 'running') AS status, coalesce(w.attempt, 1) AS attempt,
               coalesce(i.done, 0) AS items_done, coalesce(i.total, 0) AS items_total
        FROM (SELECT * FROM whole WHERE n = 1) w
        FULL OUTER JOIN items i ON w.run_id = i.run_id AND w.step_id = i.step_id
        ORDER BY coalesce(w.started_at, i.started_at) NULLS LAST
    """, run_ids + run_ids)
    cols = [d[0] for d in cur.description]
    out: dict[str, list[dict]] = {}
    for row in cur.fetchall():
        r = dict(zip(cols, row))
        out.setdefault(r["run_id"], []).append(r)
    return out


def _marks(values) -> str:
    return ", ".join("?" for _ in values)


def _under(path: str | None, root_dir: str | None) -> str | None:
    """``path`` relative to the server root (to open it in JupyterLab), or None if outside it."""
    if not path or not root_dir:
        return None
    root = os.path.realpath(os.path.expanduser(root_dir))
    full = os.path.realpath(path)
    if full == root or not full.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return os.path.relpath(full, root).replace(os.sep, "/")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
