"""Notebook runs in the store: the `notebook_runs` and `batches` rows, and what a notebook run's
pipeline runs say about its outcome.

A notebook run (``nb_run_id``) is one execution of a notebook by `orc notebook` or one item of
`orc batch`. Every pipeline run made inside it carries ``runs.nb_run_id`` (the kernel gets
``ORC_NB_RUN_ID``), so the link needs nothing from the notebook's code. Rows are written
directly with short ``store.connect()`` sessions: one when the notebook starts, one when it ends.
"""
from __future__ import annotations

import datetime as dt
import json
import os

from ..errors import RunNotFound, UsageError

FINAL = ("succeeded", "failed", "waiting", "budget_exceeded", "cancelled")


def new_id() -> str:
    """A notebook run or batch id: the shape of a run id (without importing the runtime)."""
    import uuid
    return uuid.uuid4().hex[:12]


def _now():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def start(store, nb_run_id: str, *, input_path: str, output_path: str | None, parameters: dict,
          kernel: str | None = None, cwd: str | None = None, status: str = "running",
          batch_id: str | None = None, item_index: int | None = None) -> None:
    """Insert the row of a notebook run (``queued`` for batch items not started yet)."""
    from ..core.serialize import dumps
    from ..store.journal import HOST
    with store.connect() as con:
        con.execute("INSERT INTO notebook_runs (nb_run_id, input_path, output_path, parameters, status, started_at, "
                    "batch_id, item_index, kernel, cwd, pid, host, attempts, resumes, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                    [nb_run_id, input_path, output_path, dumps(parameters), status,
                     _now() if status == "running" else None, batch_id, item_index, kernel, cwd, os.getpid(),
                     HOST, 1 if status == "running" else 0, _now()])


def restart(store, nb_run_id: str, *, resumed: bool) -> None:
    """The same notebook run executes again (`orc notebook --resume`)."""
    from ..store.journal import HOST
    with store.connect() as con:
        con.execute("UPDATE notebook_runs SET status = 'running', error = NULL, exit_code = NULL, ended_at = NULL, "
                    "pid = ?, host = ?, resumes = coalesce(resumes, 0) + ?, updated_at = ? WHERE nb_run_id = ?",
                    [os.getpid(), HOST, 1 if resumed else 0, _now(), nb_run_id])


def finish(store, nb_run_id: str, *, status: str, exit_code: int, error: str | None, duration_s: float | None,
           started: float | None = None, worker: str | None = None, attempts: int | None = None) -> dict:
    """Record the outcome; the cost is the sum of the notebook run's pipeline runs."""
    from ..store.merge import ts
    with store.connect() as con:
        cost = con.execute("SELECT coalesce(sum(cost_usd), 0) FROM runs WHERE nb_run_id = ?",
                           [nb_run_id]).fetchall()[0][0]
        con.execute("UPDATE notebook_runs SET status = ?, exit_code = ?, error = ?, duration_s = "
                    "coalesce(duration_s, 0) + coalesce(?, 0), ended_at = ?, cost_usd = ?, "
                    "started_at = coalesce(started_at, ?), worker = coalesce(?, worker), "
                    "attempts = coalesce(?, attempts), updated_at = ? WHERE nb_run_id = ?",
                    [status, exit_code, error, duration_s, _now(), cost, ts(started), worker, attempts, _now(),
                     nb_run_id])
    return {"cost_usd": cost}


def get(store, nb_run_id: str) -> dict | None:
    with store.connect() as con:
        rows = _rows(con, "SELECT * FROM notebook_runs WHERE nb_run_id = ?", [nb_run_id])
    if not rows:
        return None
    row = rows[0]
    row["parameters"] = json.loads(row["parameters"]) if row.get("parameters") else {}
    return row


def pipeline_runs(store, nb_run_id: str, con=None) -> list[dict]:
    """Top-level pipeline runs made by a notebook run, in the order they started."""
    sql = ("SELECT run_id, pipeline, status, error, cost_usd, tokens_in, tokens_out, spec_hash, started_at, ended_at "
           "FROM runs WHERE nb_run_id = ? AND parent_run_id IS NULL ORDER BY started_at, run_id")
    if con is not None:
        return _rows(con, sql, [nb_run_id])
    with store.connect() as con:
        return _rows(con, sql, [nb_run_id])


def waiting_steps(store, run_ids: list[str]) -> list[tuple[str, str]]:
    """(run_id, step_id) of approvals still waiting in these runs."""
    if not run_ids:
        return []
    from ..store.queries import pending_approvals
    return [(p["run_id"], p["step_id"]) for p in pending_approvals(store) if p["run_id"] in run_ids]


def outcome(cell_error: str | None, statuses: list[str], interrupted: bool = False) -> str:
    """One status for a notebook run. A pipeline's failure, budget stop or pending approval
    says more than a later cell's error (often caused by the missing output), so it wins."""
    if interrupted:
        return "cancelled"
    for s in ("failed", "budget_exceeded", "waiting"):
        if s in statuses:
            return s
    if cell_error:
        return "failed"
    if "running" in statuses:  # a run the kernel left unfinished (it ended without finishing it)
        return "failed"
    if "cancelled" in statuses:
        return "cancelled"
    return "succeeded"


def exit_code(status: str, cell_error_name: str | None = None) -> int:
    from ..errors import EXIT_CODES as EXIT
    if status == "failed" and cell_error_name in ("SpecError", "UsageError", "RunNotFound"):
        return 2  # the notebook gave a pipeline invalid input
    return EXIT.get(status, 1)


def resolve(store, ref: str) -> dict:
    """A notebook run id (or unique prefix), or the id of a pipeline run made inside one -> its row."""
    ref = (ref or "").strip()
    if not ref:
        raise UsageError("--resume needs a notebook run id or a pipeline run id (see `orc runs`)")
    like = ref.replace("%", "").replace("_", "\\_") + "%"
    with store.connect() as con:
        rows = con.execute("SELECT nb_run_id FROM notebook_runs WHERE nb_run_id LIKE ? LIMIT 3", [like]).fetchall()
        if not rows:
            rows = con.execute("SELECT DISTINCT nb_run_id FROM runs WHERE run_id LIKE ? AND nb_run_id IS NOT NULL "
                               "LIMIT 3", [like]).fetchall()
    ids = sorted({r[0] for r in rows})
    if not ids:
        raise RunNotFound(f"--resume {ref}: no notebook run and no notebook-made pipeline run with that id "
                          "(see `orc runs`; runs of `orc run` resume with `orc resume RUN`)")
    if len(ids) > 1 and ref not in ids:
        raise UsageError(f"--resume {ref}: ambiguous ({', '.join(ids)}); type more of the id")
    row = get(store, ref if ref in ids else ids[0])
    if row is None:
        raise RunNotFound(f"--resume {ref}: the notebook run's record is missing from the store")
    return row


# The options a notebook run or a batch was started with, so that a resume behaves the same.
# `notebook_runs` and `batches` have no columns for them: an `events` row keyed by the notebook
# run's (or the batch's) id holds them as JSON, the latest row winning.
OPTIONS = "notebook_options"


def save_options(store, owner_id: str, options: dict) -> None:
    with store.connect() as con:
        con.execute("INSERT INTO events (run_id, ts, level, step_id, message, kind, item_index, attempt) "
                    "VALUES (?, ?, 'info', NULL, ?, ?, -1, 0)", [owner_id, _now(), json.dumps(options), OPTIONS])


def options(store, *owner_ids: str | None) -> dict | None:
    """The options saved for the first of these ids that has any (a batch item falls back to its
    batch's); None when none were saved (a run recorded by an older orc)."""
    with store.connect() as con:
        for owner in filter(None, owner_ids):
            rows = con.execute("SELECT message FROM events WHERE run_id = ? AND kind = ? ORDER BY ts DESC LIMIT 1",
                               [owner, OPTIONS]).fetchall()
            if rows:
                try:
                    return json.loads(rows[0][0])
                except ValueError:
                    return None
    return None


def resume_plan(store, nb_run_id: str) -> list[dict]:
    """What the re-executed notebook continues: its earlier runs, in order (see ``ORC_RESUME_RUNS``)."""
    return [{"run_id": r["run_id"], "spec_hash": r["spec_hash"]} for r in pipeline_runs(store, nb_run_id)]


def reconcile(store) -> int:
    """Notebook runs left `running` (or `queued` in a batch) by an `orc` process that died on this
    host -> failed."""
    from ..store.journal import HOST
    with store.connect() as con:
        rows = con.execute("SELECT nb_run_id, pid FROM notebook_runs WHERE status IN ('running', 'queued') "
                           "AND host = ?", [HOST]).fetchall()
        dead = [nb for nb, pid in rows if pid and not _alive(pid)]
        for nb in dead:
            con.execute("UPDATE notebook_runs SET status = 'failed', exit_code = 1, ended_at = ?, updated_at = ?, "
                        "error = 'the orc process running it ended without finishing (killed?); "
                        "`orc notebook --resume " + nb + "` runs it again' WHERE nb_run_id = ?",
                        [_now(), _now(), nb])
    return len(dead)


def _alive(pid: int) -> bool:
    from ..store.journal import pid_alive
    return pid == os.getpid() or pid_alive(pid)


# batches ----------------------------------------------------------------------------------------
def start_batch(store, batch_id: str, *, input_path: str, grid_path: str, items: int, workers: int | None,
                cluster: str | None) -> None:
    from ..store.journal import HOST
    with store.connect() as con:
        con.execute("INSERT INTO batches (batch_id, input_path, grid_path, items, workers, cluster, status, "
                    "started_at, pid, host) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    [batch_id, input_path, grid_path, items, workers, cluster, _now(), os.getpid(), HOST])


def restart_batch(store, batch_id: str, nb_run_ids: list[str], *, workers: int | None, cluster: str | None) -> None:
    """`orc batch --resume`: the batch runs again, these items of it queued again."""
    from ..store.journal import HOST
    with store.connect() as con:
        con.execute("UPDATE batches SET status = 'running', ended_at = NULL, pid = ?, host = ?, workers = ?, "
                    "cluster = ? WHERE batch_id = ?", [os.getpid(), HOST, workers, cluster, batch_id])
        for nb in nb_run_ids:
            con.execute("UPDATE notebook_runs SET status = 'queued', error = NULL, exit_code = NULL, ended_at = NULL, "
                        "pid = ?, host = ?, updated_at = ? WHERE nb_run_id = ?", [os.getpid(), HOST, _now(), nb])


def finish_batch(store, batch_id: str, status: str) -> dict:
    with store.connect() as con:
        counts = dict(con.execute("SELECT status, count(*) FROM notebook_runs WHERE batch_id = ? GROUP BY status",
                                  [batch_id]).fetchall())
        cost = con.execute("SELECT coalesce(sum(cost_usd), 0) FROM notebook_runs WHERE batch_id = ?",
                           [batch_id]).fetchall()[0][0]
        con.execute("UPDATE batches SET status = ?, ended_at = ?, succeeded = ?, failed = ?, waiting = ?, cost_usd = ? "
                    "WHERE batch_id = ?", [status, _now(), counts.get("succeeded", 0),
                                           sum(n for s, n in counts.items() if s not in ("succeeded", "waiting")),
                                           counts.get("waiting", 0), cost, batch_id])
    return {"counts": counts, "cost_usd": cost}


def batch_items(store, batch_id: str) -> list[dict]:
    with store.connect() as con:
        rows = _rows(con, "SELECT n.*, (SELECT count(*) FROM runs r WHERE r.nb_run_id = n.nb_run_id) AS runs "
                          "FROM notebook_runs n WHERE batch_id = ? ORDER BY item_index", [batch_id])
    for r in rows:
        r["parameters"] = json.loads(r["parameters"]) if r.get("parameters") else {}
    return rows
