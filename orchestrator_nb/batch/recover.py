"""A batch whose `orc batch` process died (kill -9, a closed terminal, a reboot).

Its local workers die with it, but their attempt folders stay (see ``ship``): items that finished
there with nobody left to take the result, and items cut short, with the pipeline runs they
made. The next `orc batch` or `orc notebook` on this host (``reconcile``) takes those in as the
batch would have, records the items that did not finish as failed and the batch as
`interrupted`, and says what to do: `orc batch --resume BATCH` runs only the unfinished items
(``unfinished``: no attempt of theirs ever reported a result), under the same ids.
"""
from __future__ import annotations

import json
import os

from . import records, ship
from .params import clip

INTERRUPTED = "interrupted"


def reconcile(store) -> list[str]:
    """Batches and notebook runs left `running` by dead `orc` processes on this host -> recorded.
    Returns one line per batch found so, saying how to go on."""
    hints = [interrupted(store, batch_id) for batch_id in dead_batches(store)]
    records.reconcile(store)
    return hints


def dead_batches(store) -> list[str]:
    from ..store.journal import HOST
    if not store.exists():
        return []
    with store.connect() as con:
        rows = con.execute("SELECT batch_id, pid FROM batches WHERE status = 'running' AND host = ?",
                           [HOST]).fetchall()
    return [b for b, pid in rows if pid and not records._alive(pid)]


def interrupted(store, batch_id: str) -> str:
    """Take in what the dead batch's attempts hold; the rest of its items failed; the batch interrupted."""
    take_in(store, batch_id, skip_live=True)
    left = unfinished(store, batch_id)
    why = (f"the batch's orc process ended before this item finished (killed?); `orc batch --resume {batch_id}` "
           "runs the unfinished items again")
    with store.connect() as con:
        for row in left:
            if row["status"] in ("queued", "running"):
                con.execute("UPDATE notebook_runs SET status = 'failed', exit_code = 1, error = ?, ended_at = ?, "
                            "updated_at = ? WHERE nb_run_id = ?",
                            [why, records._now(), records._now(), row["nb_run_id"]])
        total = con.execute("SELECT count(*) FROM notebook_runs WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
    records.finish_batch(store, batch_id, INTERRUPTED)
    _remove_taken(store, batch_id)
    return (f"batch {batch_id} was interrupted (its orc process ended): {total - len(left)} of {total} items "
            f"finished and are recorded; `orc batch --resume {batch_id}` runs the other {len(left)}")


def take_in(store, batch_id: str, applied: set[str] | None = None, skip_live: bool = False) -> int:
    """Record this host's attempts of the batch that never reported. Returns how many."""
    if applied is None:
        with store.connect() as con:
            applied = {r[0] for r in con.execute("SELECT attempt_id FROM batch_attempts WHERE batch_id = ?",
                                                 [batch_id]).fetchall()}
    return sum(take(store, b, batch_id) for b in ship.salvage(batch_id, set(applied), skip_live=skip_live))


def _remove_taken(store, batch_id: str) -> None:
    """The attempt folders now recorded (one still running, skipped above, is left alone)."""
    import shutil
    root = ship.batch_root(batch_id)
    if not root.is_dir():
        return
    with store.connect() as con:
        taken = {r[0] for r in con.execute("SELECT attempt_id FROM batch_attempts WHERE batch_id = ?",
                                           [batch_id]).fetchall()}
    for nb_dir in root.iterdir():
        for attempt in list(nb_dir.iterdir()) if nb_dir.is_dir() else ():
            if attempt.name in taken:
                shutil.rmtree(attempt, ignore_errors=True)
        if nb_dir.is_dir() and not any(nb_dir.iterdir()):
            nb_dir.rmdir()
    if not any(root.iterdir()):
        root.rmdir()


def take(store, bundle: dict, batch_id: str) -> bool:
    """One salvaged bundle into the store, once. A finished attempt is the item's result unless
    another attempt already gave one (Dask ran the item again elsewhere)."""
    if bundle.get("finished") and not _has_result(store, bundle["nb_run_id"]):
        row = records.get(store, bundle["nb_run_id"]) or {}
        task = {"batch_id": batch_id, "output_path": row.get("output_path"), "record_path": row.get("input_path"),
                "resumes": row.get("resumes")}
        if task["output_path"]:
            return take_result(store, bundle, task)
    kept = {k: v for k, v in bundle.items() if k not in ("notebook", "cache")}
    kept["tables"] = {t: rows for t, rows in (bundle.get("tables") or {}).items() if t != "notebook_runs"}
    return ship.apply(store, dict(kept, salvaged=True, status=kept.get("status") if not bundle.get("finished")
                                  else f"salvaged: finished after another attempt ({kept.get('status')})"),
                      batch_id=batch_id, item_row=False)


def _has_result(store, nb_run_id: str) -> bool:
    with store.connect() as con:
        return bool(con.execute("SELECT 1 FROM batch_attempts WHERE nb_run_id = ? AND NOT salvaged",
                                [nb_run_id]).fetchall())


def unfinished(store, batch_id: str) -> list[dict]:
    """The batch's items no attempt gave a result for (queued, cut short, lost with their worker)."""
    return [r for r in records.batch_items(store, batch_id) if not _has_result(store, r["nb_run_id"])]


def resolve_batch(store, ref: str) -> dict:
    """A batch id or unique prefix -> its `batches` row."""
    from ..errors import RunNotFound, UsageError
    ref = (ref or "").strip()
    like = ref.replace("%", "").replace("_", "\\_") + "%"
    with store.connect() as con:
        rows = records._rows(con, "SELECT * FROM batches WHERE batch_id LIKE ? ORDER BY started_at LIMIT 3", [like])
    exact = [r for r in rows if r["batch_id"] == ref]
    if exact:
        return exact[0]
    if not rows or not ref:
        raise RunNotFound(f"--resume {clip(ref)}: no batch with that id (the first line of `orc batch` "
                          "names it; `orc sql \"SELECT * FROM batches\"` lists them)")
    if len(rows) > 1:
        raise UsageError(f"--resume {ref}: ambiguous ({', '.join(r['batch_id'] for r in rows)}); type more of the id")
    return rows[0]


def take_result(store, res: dict, task: dict) -> bool:
    """An item's result into the store (once per attempt): its output notebook at its place here,
    the cache entries it made, its rows. ``task`` needs output_path, record_path and batch_id."""
    if res.get("notebook") is not None:
        _write_output(task, res["notebook"])
    if res.get("cache"):
        ship.add_cache_files(store.cache_dir, res["cache"])
    with store.connect() as con:
        fresh = ship.apply(store, res, batch_id=task["batch_id"], item_row=True)
        con.execute("UPDATE notebook_runs SET output_path = ?, input_path = ?, resumes = ? WHERE nb_run_id = ?",
                    [task["output_path"], task["record_path"], task.get("resumes") or 0,
                     res["nb_run_id"]])  # paths as seen here
    return fresh


def _write_output(task: dict, data: bytes) -> None:
    """The worker's output notebook at its place here, its papermill paths made ours."""
    try:
        nb = json.loads(data)
        meta = nb.setdefault("metadata", {}).setdefault("papermill", {})
        meta["input_path"], meta["output_path"] = task["record_path"], task["output_path"]
        data = json.dumps(nb, indent=1, ensure_ascii=False).encode() + b"\n"
    except (ValueError, AttributeError):
        pass  # not JSON: keep the bytes as they came
    os.makedirs(os.path.dirname(task["output_path"]), exist_ok=True)
    with open(task["output_path"], "wb") as f:
        f.write(data)
