"""The writes that control a run from outside the process running it.

- ``queue_run``: the Jupyter server records a run as ``pending`` the moment it is asked for one,
  before its worker process has started (the worker's first record then makes it ``running``);
- ``claim_resume``: a stored run about to be continued by a worker becomes ``pending`` (one
  resume at a time);
- ``not_started``: a worker that could not start its run puts it back (or marks it failed);
- ``finish_cancel``: after a cancel request, a run (and its sub-pipeline runs) that has no process,
  or whose process was stopped, is recorded ``cancelled`` (see ``orchestrator_nb.api.cancel``).

Each write is one short ``store.connect`` (journals merged first, so it sees the latest state).
"""
from __future__ import annotations

import json
import time

from ..errors import OrcError
from .merge import ts
from .queries import _TREE, _outermost, resolve_run_id

ACTIVE = ("pending", "running", "waiting")
RESUMABLE = ("failed", "waiting", "cancelled", "budget_exceeded")
CRASHED = "the process running it (pid {pid})%"  # how the store marks a run whose process died


class RunStateError(OrcError):
    """The run's state does not allow the request (already ended, still running...)."""


def _event(con, run_id: str, kind: str, message: str, level: str = "info") -> None:
    con.execute("INSERT INTO events VALUES (?, ?, ?, NULL, ?, ?, -1, 0)",
                [run_id, ts(time.time()), level, message, kind])


def queue_run(store, run_id: str, *, pipeline: str, inputs: dict, spec_text: str | None, spec_path: str | None,
              outdir: str, source: str, approval_policy: str, model_override: str | None = None) -> None:
    """A new run, ``pending`` until its worker starts it."""
    now = ts(time.time())
    with store.connect() as con:
        con.execute("INSERT INTO runs (run_id, pipeline, status, inputs, spec_yaml, source, started_at, spec_path, "
                    "outdir, approval_policy, model_override, updated_at) "
                    "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, pipeline, json.dumps(inputs, ensure_ascii=False, default=str), spec_text, source,
                     now, spec_path, outdir, approval_policy, model_override, now])
        _event(con, run_id, "run_queued", f"run queued: pipeline {pipeline} (a worker process starts it)")


def claim_resume(store, ref: str) -> dict:
    """Mark a stored run ``pending`` for a worker to continue it. Returns {run_id, previous}."""
    with store.connect() as con:
        run_id = resolve_run_id(con, ref)
        row = con.execute("SELECT status, parent_run_id FROM runs WHERE run_id = ?", [run_id]).fetchall()[0]
        status, parent = row
        if parent:
            top = _outermost(con, run_id)
            raise RunStateError(f"run {run_id} is a sub-pipeline run: resume its outermost run {top}")
        if status not in RESUMABLE:
            why = {"succeeded": "it already succeeded; nothing to resume",
                   "running": "it is still running", "pending": "it is starting already"}.get(status, status)
            raise RunStateError(f"run {run_id} cannot be resumed: {why}")
        con.execute("UPDATE runs SET status = 'pending', updated_at = ? WHERE run_id = ?", [ts(time.time()), run_id])
        _event(con, run_id, "run_queued", f"resume queued (the run was {status}; a worker process continues it)")
    return {"run_id": run_id, "previous": status}


def not_started(store, run_id: str, status: str, error: str | None, *, started_at: float | None = None) -> bool:
    """A worker could not start this run: while it is still ``pending``, set ``status`` (the one
    before a resume, or ``failed``) and say why. Returns whether the run was changed.
    ``started_at``: when that worker was started; a run queued again since (a resume while the
    worker was still exiting) belongs to the newer worker and is left alone."""
    with store.connect() as con:
        rows = con.execute("SELECT status, updated_at FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not rows or rows[0][0] != "pending":
            return False
        if started_at is not None and rows[0][1] is not None and rows[0][1] > ts(started_at):
            return False
        con.execute("UPDATE runs SET status = ?, error = coalesce(?, error), updated_at = ?, "
                    "ended_at = CASE WHEN ? = 'failed' THEN ? ELSE ended_at END WHERE run_id = ?",
                    [status, error, ts(time.time()), status, ts(time.time()), run_id])
        if error:
            _event(con, run_id, "run_not_started", error, "error")
    return True


def run_target(store, ref: str) -> dict:
    """The run a cancel stops: the outermost of ``ref``'s runs, with its process (pid, host, source)."""
    with store.connect() as con:
        top = _outermost(con, resolve_run_id(con, ref))
        cur = con.execute("SELECT run_id, status, pid, host, source, pipeline FROM runs WHERE run_id = ?", [top])
        cols = [d[0] for d in cur.description]
        return dict(zip(cols, cur.fetchall()[0]))


def run_status(store, run_id: str) -> tuple[str, str | None]:
    with store.connect() as con:
        row = con.execute("SELECT status, error FROM runs WHERE run_id = ?", [run_id]).fetchall()
    return (row[0][0], row[0][1]) if row else ("", None)


def finish_cancel(store, run_id: str, by: str, *, signalled_pid: int | None = None,
                  requested_at: float | None = None) -> tuple[str, str | None]:
    """After a cancel request: record it, and make sure the run ended ``cancelled`` unless it
    ended otherwise on its own. Returns the run's (status, error). One connection."""
    now = ts(time.time())
    reason = f"cancelled by {by}"
    with store.connect() as con:
        if signalled_pid:
            con.execute("INSERT INTO events VALUES (?, ?, 'info', NULL, ?, 'cancel_requested', -1, 0)",
                        [run_id, ts(requested_at or time.time()), f"cancel requested by {by} (pid {signalled_pid} "
                                                                   "interrupted)"])
        # still active (no process, or it did not stop), or marked crashed because it was stopped
        crashed = CRASHED.format(pid=int(signalled_pid)) if signalled_pid else None
        rows = con.execute(_TREE.format(root="?") + """
            SELECT run_id, status FROM runs WHERE run_id IN (SELECT run_id FROM tree)
              AND (status IN ('pending', 'running', 'waiting', 'cancelled')
                   OR (? IS NOT NULL AND status = 'failed' AND error LIKE ?))
            """, [run_id, crashed, crashed]).fetchall()
        for rid, status in rows:
            if status != "cancelled":
                con.execute("UPDATE runs SET status = 'cancelled', error = ?, ended_at = ?, updated_at = ? "
                            "WHERE run_id = ?", [reason, now, now, rid])
                _event(con, rid, "run_cancelled", f"run cancelled by {by}")
            elif rid == run_id:  # its own process recorded `cancelled (interrupted)`: say who asked
                con.execute("UPDATE runs SET error = ? WHERE run_id = ? AND error LIKE 'cancelled (%'", [reason, rid])
            # steps left running or waiting (a step interrupted mid-way records no end)
            con.execute("UPDATE steps SET status = 'cancelled', error = ?, ended_at = coalesce(ended_at, ?) "
                        "WHERE run_id = ? AND (status IN ('running', 'waiting', 'pending') OR (status = 'failed' "
                        "AND error = 'interrupted: the process ended'))", [reason, now, rid])
        row = con.execute("SELECT status, error FROM runs WHERE run_id = ?", [run_id]).fetchall()
    return (row[0][0], row[0][1]) if row else ("", None)
