"""`sql:` steps: DuckDB (a fresh in-memory database per step) over files and upstream outputs.

Values go in as bound parameters, never pasted into the SQL: `params: {n: ...}` -> `$n`, and every
`{{ ... }}` in the query is bound the same way (``core.sqlquery``). Upstream outputs that are lists
of records can be queried as tables named after their step: ``SELECT * FROM steps_stories``.

Confined by default: the step reads and writes files only inside the run's output directory
(hidden files and folders excepted: `.env`, `.orc/`, `.git/`) and the files its `files:` names;
no ATTACH, no extensions installed or loaded, no settings changed. `sql_access: full` gives the
step all of DuckDB (for pipelines you trust: any file, other databases, extensions).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ...errors import SpecError
from ..serialize import to_jsonable

# what a confined step may run; the rest (ATTACH, DETACH, INSTALL/LOAD, SET, PRAGMA, EXPORT, IMPORT,
# CALL...) reaches outside the step's own in-memory database
ALLOWED_STATEMENTS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "COPY",
                                "EXPLAIN", "TRANSACTION", "ANALYZE"})


def run_sql(query, params, ctx):
    import shutil
    import tempfile

    import duckdb
    if isinstance(query, dict):  # templates in the query: their values are bound too
        text, bound = query["text"], dict(query["values"])
    else:
        text, bound = query, {}
    bound.update(params or {})
    step = ctx.step
    full = step.sql_access == "full"
    scratch = tempfile.mkdtemp(prefix="orc-sql-")
    try:
        con = connect(ctx.outdir, _files(ctx), scratch, full)
        try:
            if not full:
                refuse_outside(con, text)
            outputs = ctx.outputs
            for dep in step.deps:
                if re.search(rf"\bsteps_{re.escape(dep)}\b", text):
                    _expose(con, dep, outputs.get(dep), scratch)
            try:
                cur = con.execute(text, {k: _bindable(v) for k, v in bound.items()} if bound else None)
            except duckdb.PermissionException as e:
                raise PermissionError(f"{str(e).splitlines()[0]} (a confined sql step reaches only the output "
                                      "directory and its `files:`; `sql_access: full` lifts this)") from None
            if cur.description is None:
                return None
            columns = [d[0] for d in cur.description]
            return [dict(zip(columns, (to_jsonable(v) for v in row))) for row in cur.fetchall()]
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def connect(outdir, files: list[str], scratch: str, full: bool = False):
    """An in-memory DuckDB; confined: files only in ``outdir`` (not hidden ones), ``files`` and
    ``scratch``, settings locked so the query cannot undo it."""
    import duckdb
    con = duckdb.connect(":memory:")
    if full:
        return con
    dirs, paths = [scratch], list(files)
    root = Path(outdir).resolve()
    try:
        for entry in os.scandir(root):
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            (dirs if entry.is_dir() else paths).append(entry.path)
    except OSError:
        pass
    con.execute("SET allowed_directories = ?", [[d.rstrip("/") + "/" for d in dirs]])
    con.execute("SET allowed_paths = ?", [paths])
    for setting in ("enable_external_access = false", "autoinstall_known_extensions = false",
                    "autoload_known_extensions = false", "lock_configuration = true"):
        con.execute("SET " + setting)
    return con


def refuse_outside(con, text: str) -> None:
    for st in con.extract_statements(text):
        kind = str(st.type).rsplit(".", 1)[-1]
        if kind not in ALLOWED_STATEMENTS:
            raise PermissionError(f"{kind} is not allowed in a confined sql step "
                                  "(it reaches outside the step's own database; `sql_access: full` allows it)")


def _files(ctx) -> list[str]:
    """The step's `files:` as absolute paths: relative ones are under the output directory."""
    names = ctx.render(ctx.step.files) if ctx.step.files else []
    out = []
    root = Path(ctx.outdir).resolve()
    for name in names:
        if not isinstance(name, str) or not name:
            raise SpecError(f"files: {name!r} is not a file path")
        p = Path(name)
        out.append(str(p if p.is_absolute() else (root / p).resolve()))
    return out


def _bindable(value):
    if isinstance(value, (dict, list)):
        return json.dumps(to_jsonable(value))
    return value


def _expose(con, sid: str, rows, scratch: str) -> None:
    """Make a list-of-records output queryable as ``steps_<sid>``."""
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        rows = [{"value": rows}]
    rows = [r if isinstance(r, dict) else {"value": r} for r in rows]
    path = os.path.join(scratch, f"{sid}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(rows), f)
    con.execute(f"CREATE OR REPLACE TEMP TABLE steps_{sid} AS SELECT * FROM read_json_auto(?)", [path])
