"""The task a Dask worker runs for one sweep item: the notebook, through the same
``NotebookRunner`` as `orc notebook`, against a temporary store of its own.

Everything the item needs travels in the task (the notebook's JSON, the parameters, the ids)
and everything it made travels back in the result (the output notebook, the store's rows, new
cache entries; see ``ship``), so a worker on another machine needs no shared disk. A notebook
that fails is a result (status `failed`, the error cell kept), not an exception: only trouble
outside the notebook raises, and Dask then retries the item.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path


def run_item(task: dict) -> dict:
    from ..store import Store
    from ..store.journal import HOST
    from . import ship
    from .execute import NotebookJob, NotebookRunner

    worker = _worker_address()
    attempt_id = uuid.uuid4().hex[:16]
    attempt = ship.batch_root(task["batch_id"]) / task["nb_run_id"] / attempt_id
    attempt.mkdir(parents=True)
    (attempt / "attempt.json").write_text(json.dumps({"pid": os.getpid(), "host": HOST, "worker": worker,
                                                      "started": time.time(), "index": task["index"]}))
    shared_cache = ship.link_cache(attempt, task.get("cache_dir"))
    notebook = attempt / task["notebook_name"]
    notebook.write_text(task["notebook"], encoding="utf-8")
    cwd = task.get("cwd")
    store = Store(attempt / "orc.duckdb")
    job = NotebookJob(input_path=str(notebook), output_path=str(attempt / "output.ipynb"),
                      parameters=task["parameters"], nb_run_id=task["nb_run_id"],
                      cwd=cwd if cwd and os.path.isdir(cwd) else str(attempt), kernel=task.get("kernel"),
                      approval=task.get("approval"), timeout=task.get("timeout"), batch_id=task["batch_id"],
                      item_index=task["index"], record_path=task["record_path"], worker=worker,
                      env=task.get("env") or {}, kernel_log=str(attempt / "kernel.log"))
    try:
        outcome = NotebookRunner(store, job, say=lambda line: None, watch=False).run()
    except BaseException as e:  # Dask retries the item; the salvage at the end says what happened here
        meta = json.loads((attempt / "attempt.json").read_text())
        meta["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        (attempt / "attempt.json").write_text(json.dumps(meta))
        raise
    output = Path(job.output_path)
    return {"index": task["index"], "nb_run_id": task["nb_run_id"], "attempt_id": attempt_id,
            "status": outcome.status, "exit_code": outcome.exit_code, "error": outcome.error,
            "duration_s": outcome.duration_s, "cost_usd": outcome.cost_usd, "worker": worker, "host": HOST,
            "runs": [{k: r[k] for k in ("run_id", "pipeline", "status", "cost_usd")} for r in outcome.runs],
            "waiting": outcome.waiting,
            "notebook": output.read_bytes() if output.exists() else None,
            "cache": {} if shared_cache else ship.new_cache_files(attempt),
            "tables": ship.export(store)}


def _worker_address() -> str | None:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return None
