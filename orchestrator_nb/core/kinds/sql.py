"""`sql:` steps: DuckDB (in memory per run) over files and upstream outputs.

Values go in as bound parameters (``params: {n: ...}`` -> ``$n``), never pasted into the SQL.
Upstream outputs that are lists of records can be queried as tables named after their step:
``SELECT * FROM steps_stories`` (a view created on first use).
"""
from __future__ import annotations

import json
import os
import re

from ..serialize import to_jsonable


def run_sql(query, params, ctx):
    con = ctx.sql()
    outputs = ctx.outputs
    for dep in ctx.step.deps:
        if re.search(rf"\bsteps_{re.escape(dep)}\b", query):
            _expose(con, dep, outputs.get(dep))
    cur = con.execute(query, {k: _bindable(v) for k, v in params.items()} if params else None)
    if cur.description is None:
        return None
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, (to_jsonable(v) for v in row))) for row in cur.fetchall()]


def _bindable(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _expose(con, sid: str, rows) -> None:
    """Make a list-of-records output queryable as ``steps_<sid>``."""
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        rows = [{"value": rows}]
    rows = [r if isinstance(r, dict) else {"value": r} for r in rows]
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".json", prefix="orc-sql-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(rows), f)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE steps_{sid} AS SELECT * FROM read_json_auto(?)", [path])
    finally:
        os.unlink(path)
