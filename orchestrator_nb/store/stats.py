"""Cost and latency figures over ``llm_calls``, and what was spent since a moment (budgets).

Definitions (``orc stats``, ``%orc stats``, ``GET /orc/api/stats`` all read these):
- calls: every recorded model call, failed and cached ones included (``errors``, ``cached``);
- tokens_in / tokens_out / cost_usd: their sums (cached answers cost nothing);
- p50_ms / p95_ms: latency percentiles (linear interpolation) over calls that reached the model
  and got an answer (not cached, no error);
- retries: calls that repeated a failed call to the same model (``retry > 0``);
- fallbacks: calls made to a chain's next model because the one before failed.
Days are UTC days, like every time in the store. A call belongs to the pipeline of its own run.
"""
from __future__ import annotations

import datetime as dt

DIMENSIONS = {
    "model": "c.provider || ':' || c.model",
    "pipeline": "coalesce(r.pipeline, '(unknown)')",
    "day": "strftime(CAST(c.created_at AS DATE), '%Y-%m-%d')",
}
FIGURES = ("calls", "errors", "cached", "tokens_in", "tokens_out", "cost_usd", "p50_ms", "p95_ms", "retries",
           "fallbacks")

_ANSWERED = "NOT coalesce(c.cached, false) AND c.error IS NULL"
_SELECT = f"""count(*) AS calls,
  count(*) FILTER (WHERE c.error IS NOT NULL) AS errors,
  count(*) FILTER (WHERE coalesce(c.cached, false)) AS cached,
  coalesce(sum(c.tokens_in), 0) AS tokens_in,
  coalesce(sum(c.tokens_out), 0) AS tokens_out,
  coalesce(sum(c.cost_usd), 0) AS cost_usd,
  quantile_cont(c.latency_ms, 0.5) FILTER (WHERE {_ANSWERED}) AS p50_ms,
  quantile_cont(c.latency_ms, 0.95) FILTER (WHERE {_ANSWERED}) AS p95_ms,
  count(*) FILTER (WHERE coalesce(c.retry, 0) > 0) AS retries,
  count(*) FILTER (WHERE c.fallback_from IS NOT NULL) AS fallbacks"""


def _where(since, until, pipeline, model) -> tuple[str, list]:
    where, params = [], []
    if since is not None:
        where.append("c.created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("c.created_at < ?")
        params.append(until)
    if pipeline:
        where.append("r.pipeline = ?")
        params.append(pipeline)
    if model:
        where.append("(c.provider || ':' || c.model = ? OR c.model = ?)")
        params += [model, model]
    return ("WHERE " + " AND ".join(where)) if where else "", params


def stats(store, by=("model", "pipeline", "day"), since=None, until=None, pipeline: str | None = None,
          model: str | None = None) -> dict:
    """{"total": {figures}, "<dimension>": [{"key", figures...}, ...]} for each dimension in ``by``.
    ``since``/``until``: naive UTC datetimes."""
    where, params = _where(since, until, pipeline, model)
    base = f"FROM llm_calls c LEFT JOIN runs r ON r.run_id = c.run_id {where}"
    out: dict = {}
    with store.connect() as con:
        cur = con.execute(f"SELECT {_SELECT} {base}", params)
        out["total"] = _clean(dict(zip(FIGURES, cur.fetchall()[0])))
        for dim in by:
            key = DIMENSIONS[dim]
            order = "key" if dim == "day" else "cost_usd DESC, calls DESC, key"
            cur = con.execute(f"SELECT {key} AS key, {_SELECT} {base} GROUP BY key ORDER BY {order}", params)
            cols = [d[0] for d in cur.description]
            out[dim] = [_clean(dict(zip(cols, r))) for r in cur.fetchall()]
    return out


def _clean(row: dict) -> dict:
    for k in ("p50_ms", "p95_ms"):
        if row.get(k) is not None:
            row[k] = round(float(row[k]), 2)
    row["cost_usd"] = float(row["cost_usd"] or 0.0)
    return row


def day_start(now: float | None = None) -> dt.datetime:
    """The start of the current UTC day, as the store keeps times (naive UTC)."""
    t = dt.datetime.fromtimestamp(now if now is not None else dt.datetime.now(dt.timezone.utc).timestamp(),
                                  dt.timezone.utc)
    return t.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


# each run's outermost run: a sub-pipeline's calls count toward the pipeline (and notebook) that started it
_ROOTS = """WITH RECURSIVE tree(run_id, root) AS (
    SELECT run_id, run_id FROM runs WHERE parent_run_id IS NULL
    UNION ALL SELECT r.run_id, t.root FROM runs r JOIN tree t ON r.parent_run_id = t.run_id)"""


def spent_since(store, since: dt.datetime, pipeline: str | None = None, notebook: str | None = None) -> dict:
    """Dollars spent since ``since`` (naive UTC): {"all", "pipeline", "notebook"}; a run's sub-runs
    count toward its own pipeline and notebook."""
    sql = f"""{_ROOTS}
SELECT coalesce(sum(c.cost_usd), 0),
       coalesce(sum(c.cost_usd) FILTER (WHERE top.pipeline = ?), 0),
       coalesce(sum(c.cost_usd) FILTER (WHERE top.notebook_path = ?), 0)
FROM llm_calls c LEFT JOIN tree t ON t.run_id = c.run_id LEFT JOIN runs top ON top.run_id = coalesce(t.root, c.run_id)
WHERE c.created_at >= ?"""
    with store.connect() as con:
        row = con.execute(sql, [pipeline, notebook, since]).fetchall()[0]
    return {"all": float(row[0]), "pipeline": float(row[1]), "notebook": float(row[2])}


def spent_by_scope(store, since: dt.datetime) -> dict:
    """Dollars spent since ``since`` by outermost pipeline and by notebook: {"pipelines": {..},
    "notebooks": {..}, "all": x} (for ``orc budget``)."""
    sql = f"""{_ROOTS}
SELECT top.pipeline, top.notebook_path, coalesce(sum(c.cost_usd), 0)
FROM llm_calls c LEFT JOIN tree t ON t.run_id = c.run_id LEFT JOIN runs top ON top.run_id = coalesce(t.root, c.run_id)
WHERE c.created_at >= ? GROUP BY ALL"""
    with store.connect() as con:
        rows = con.execute(sql, [since]).fetchall()
    out = {"all": 0.0, "pipelines": {}, "notebooks": {}}
    for pipeline, notebook, usd in rows:
        out["all"] += usd
        if pipeline:
            out["pipelines"][pipeline] = out["pipelines"].get(pipeline, 0.0) + usd
        if notebook:
            out["notebooks"][notebook] = out["notebooks"].get(notebook, 0.0) + usd
    return out
