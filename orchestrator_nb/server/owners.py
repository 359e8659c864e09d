"""Which server owns a run it shows ``pending``, so that one left behind is put back.

A run is ``pending`` from the moment a server queues it (or claims it for a resume) until its
worker starts it: seconds. If that server is killed meanwhile (and its worker with it, or before
it started one), nothing would ever move the run on, and a resume would be refused as "starting
already". So each server notes, beside the worker logs (``<store>.workers/<run_id>.owner``), its
pid and start time, its worker's, and the status before a resume; ``put_back_orphans`` gives a
pending run whose server and worker are both gone its status back (``failed`` for a new run),
with the reason and how to go on. It runs when a server starts, before a resume, and now and
then while the runs are listed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

from ..store.journal import HOST
from ..store.procs import same_process, started

UNCLAIMED_AFTER = 120.0  # seconds pending with no owner noted (an older version queued it): left behind


def note(log_dir: Path, run_id: str, previous: str | None, worker_pid: int | None = None) -> None:
    """Note this server (and, once started, its worker) as the owner of pending run ``run_id``."""
    me = os.getpid()
    data = {"host": HOST, "server_pid": me, "server_started": started(me), "previous": previous,
            "worker_pid": worker_pid, "worker_started": started(worker_pid) if worker_pid else None}
    tmp = log_dir / f".{run_id}.owner.{me}"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data))
        os.replace(tmp, log_dir / f"{run_id}.owner")
    except OSError:
        pass  # (a folder we cannot write: such a run is put back only UNCLAIMED_AFTER seconds on)


def forget(log_dir: Path, run_id: str) -> None:
    try:
        (log_dir / f"{run_id}.owner").unlink()
    except OSError:
        pass


def _read(log_dir: Path, run_id: str) -> dict | None:
    try:
        data = json.loads((log_dir / f"{run_id}.owner").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def left_behind(owner: dict | None, updated_at: dt.datetime | None, now: float) -> str | None:
    """Why a pending run is left behind (its owner is gone), or None while someone may start it."""
    if owner is None:
        queued = updated_at.replace(tzinfo=dt.timezone.utc).timestamp() if updated_at else 0.0
        if now - queued < UNCLAIMED_AFTER:
            return None
        return f"it was still starting {int(now - queued)} s after it was queued, and no server owns it"
    if owner.get("host") != HOST:
        return None  # another machine's server: only it can tell
    if same_process(owner.get("server_pid"), owner.get("server_started")):
        return None
    if same_process(owner.get("worker_pid"), owner.get("worker_started")):
        return None  # its worker lives on (it cancels the run itself once it sees the server gone)
    return f"the Jupyter server (pid {owner.get('server_pid')}) that started it stopped before its worker took it over"


def put_back_orphans(store, log_dir: Path) -> list[str]:
    """Give every pending run left behind its status back (the one before a resume, else
    ``failed``) with why and how to go on; returns their ids. One short store read when none is."""
    from ..store.control import not_started
    now = time.time()
    with store.connect() as con:
        rows = con.execute("SELECT run_id, updated_at FROM runs WHERE status = 'pending'").fetchall()
    done, pending = [], {run_id for run_id, _ in rows}
    for run_id, updated_at in rows:
        owner = _read(log_dir, run_id)
        why = left_behind(owner, updated_at, now)
        if why is None:
            continue
        status = (owner or {}).get("previous") or "failed"
        hint = f"{why}; resume it (POST .../runs/{run_id}/resume, or `orc resume {run_id}`)"
        # (one no server owns is checked again as it is written: it may have been queued just now)
        if not_started(store, run_id, status, hint, started_at=None if owner else now - UNCLAIMED_AFTER):
            done.append(run_id)
            forget(log_dir, run_id)
    for path in log_dir.glob("*.owner"):  # notes of runs that went on, left by servers gone since
        run_id = path.name[:-len(".owner")]
        owner = _read(log_dir, run_id)
        if run_id not in pending and (owner is None or left_behind(owner, None, now) is not None):
            forget(log_dir, run_id)
    return done
