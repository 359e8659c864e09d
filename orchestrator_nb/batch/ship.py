"""Records that travel: a batch worker's temporary store -> the client's store, exactly once.

A sweep item runs with a store of its own in a temporary folder on the worker (an *attempt*:
``<tmp>/orc-batch-<batch>/<nb_run_id>/<attempt_id>/``), so a worker never needs to reach the
client's disk. When the item ends the worker exports every row of that store (``export``) and
returns them with the result; the client writes them into its store (``apply``) in one
transaction together with a ``batch_attempts`` row keyed by the attempt id, so a bundle that
arrives twice is applied once. A worker that dies leaves its attempt folder behind: at the end
of the batch, ``salvage`` (run on each worker host) stops the dead attempt's orphaned kernel,
merges its journals (runs it left unfinished become `failed`, resumable) and exports it too,
so the work and spend of a killed attempt are recorded, not lost. When the client itself dies,
the attempt folders stay too, and the next `orc` on that host collects them (``recover``): an
attempt that finished with nobody to take its result is then the item's result.

Cache entries (model responses, step results) are shared the same way: the worker links the
client's cache folder when it can see it (one machine, shared disk), else it sends new
entries back and the client adds those it lacks.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from .records import FINAL

TABLES = ("runs", "steps", "llm_calls", "tool_calls", "approvals", "events", "artifacts", "notebook_runs")
_REPLACE = {"runs", "steps", "artifacts", "notebook_runs"}   # newest version of a row wins
_IGNORE = {"llm_calls", "tool_calls", "approvals"}           # immutable once written
_CHUNK = 200


def batch_root(batch_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"orc-batch-{batch_id}"


# worker side ------------------------------------------------------------------------------------
def export(store, tables=TABLES) -> dict:
    """Every row of a (temporary) store by table: {table: (columns, rows)}; journals merged first."""
    if not store.exists() and not (store.journal_dir.is_dir() and any(store.journal_dir.iterdir())):
        return {}
    out = {}
    with store.connect() as con:
        for t in tables:
            cur = con.execute(f"SELECT * FROM {t}")
            out[t] = ([d[0] for d in cur.description], cur.fetchall())
    return out


def link_cache(attempt_dir: Path, client_cache: str | None) -> bool:
    """Use the client's cache folder when this machine can see it; True when linked."""
    if not client_cache or not os.path.isdir(client_cache):
        return False
    try:
        os.symlink(client_cache, attempt_dir / "orc.cache", target_is_directory=True)
        return True
    except OSError:
        return False


def new_cache_files(attempt_dir: Path) -> dict[str, bytes]:
    root = attempt_dir / "orc.cache"
    if root.is_symlink() or not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.json") if not p.name.startswith(".tmp")}


def salvage(batch_id: str, applied: set[str], skip_live: bool = False) -> list[dict]:
    """Bundles of this host's attempts of ``batch_id`` that never reported: their worker died, or
    (the client died) they finished with nobody to take the result. A finished one comes with its
    `notebook_runs` row and output notebook (``finished``). ``skip_live``: leave attempts whose
    worker process still runs (a scheduler's worker outliving a dead client)."""
    from ..store import Store
    root = batch_root(batch_id)
    bundles = []
    if not root.is_dir():
        return bundles
    for nb_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for attempt in sorted(p for p in nb_dir.iterdir() if p.is_dir()):
            if attempt.name in applied:
                continue
            meta = _meta(attempt)
            if skip_live and _running(meta):
                continue
            _stop_orphans(attempt)
            store = Store(attempt / "orc.duckdb")
            bundle = {"attempt_id": attempt.name, "nb_run_id": nb_dir.name, "worker": meta.get("worker"),
                      "host": meta.get("host"), "index": meta.get("index")}
            status = _item_status(store, nb_dir.name)
            if status in FINAL:
                output = attempt / "output.ipynb"
                bundles.append(dict(bundle, finished=True, status=status, tables=export(store),
                                    notebook=output.read_bytes() if output.exists() else None,
                                    cache=new_cache_files(attempt)))
                continue
            why = f"raised {meta['error']}" if meta.get("error") else "worker died"
            bundles.append(dict(bundle, salvaged=True, status=f"salvaged: {why}",
                                tables=export(store, tuple(t for t in TABLES if t != "notebook_runs"))))
    return bundles


def _item_status(store, nb_run_id: str) -> str | None:
    """The item's status as its attempt recorded it (None: no store, or it never got that far)."""
    if not store.exists():
        return None
    with store.connect() as con:
        rows = con.execute("SELECT status FROM notebook_runs WHERE nb_run_id = ? AND ended_at IS NOT NULL",
                           [nb_run_id]).fetchall()
    return rows[0][0] if rows else None


def _running(meta: dict) -> bool:
    from ..store.journal import HOST, pid_alive
    return bool(meta.get("pid")) and meta.get("host") == HOST and pid_alive(meta["pid"])


def cleanup(batch_id: str) -> bool:
    root = batch_root(batch_id)
    shutil.rmtree(root, ignore_errors=True)
    return not root.exists()


def _meta(attempt: Path) -> dict:
    try:
        return json.loads((attempt / "attempt.json").read_text())
    except (OSError, ValueError):
        return {}


def _stop_orphans(attempt: Path) -> None:
    """A killed worker's kernel may outlive it for a moment: stop it before reading its store."""
    journal = attempt / "orc.journal"
    if not journal.is_dir():
        return
    from ..store.journal import HOST
    import psutil
    for name in os.listdir(journal):
        parts = name.split(".")
        if len(parts) < 5 or ".".join(parts[1:-3]) != HOST:
            continue
        try:
            p = psutil.Process(int(parts[-3]))
            if "ipykernel" in " ".join(p.cmdline()):
                p.kill()
                p.wait(5)
        except (psutil.Error, ValueError):
            continue


# client side ------------------------------------------------------------------------------------
def apply(store, bundle: dict, *, batch_id: str, item_row: bool) -> bool:
    """Write a bundle's rows into ``store`` once. False when this attempt was applied before.
    ``item_row``: also take the attempt's `notebook_runs` row (the attempt that finished the item)."""
    from .records import _now
    tables = bundle.get("tables") or {}
    with store.connect() as con:
        if con.execute("SELECT 1 FROM batch_attempts WHERE attempt_id = ?", [bundle["attempt_id"]]).fetchall():
            return False
        con.execute("BEGIN TRANSACTION")
        try:
            n = 0
            for table, (cols, rows) in tables.items():
                if table not in TABLES or (table == "notebook_runs" and not item_row):
                    continue
                n += _insert(con, table, cols, rows)
            runs = len(tables.get("runs", ((), ()))[1])
            con.execute("INSERT INTO batch_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [bundle["attempt_id"], bundle["nb_run_id"], batch_id, bundle.get("worker"), bundle.get("host"),
                         bundle.get("status") or ("salvaged" if bundle.get("salvaged") else None), runs, n,
                         bool(bundle.get("salvaged")), _now()])
            if bundle.get("salvaged"):
                con.execute("UPDATE notebook_runs SET attempts = coalesce(attempts, 0) + 1, cost_usd = "
                            "(SELECT coalesce(sum(cost_usd), 0) FROM runs WHERE nb_run_id = ?) WHERE nb_run_id = ?",
                            [bundle["nb_run_id"], bundle["nb_run_id"]])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return True


def _insert(con, table: str, cols: list[str], rows: list[tuple]) -> int:
    if not rows:
        return 0
    have = {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
    keep = [i for i, c in enumerate(cols) if c in have]   # a worker on another version may differ
    names = ", ".join(f'"{cols[i]}"' for i in keep)
    verb = "INSERT OR REPLACE" if table in _REPLACE else "INSERT OR IGNORE" if table in _IGNORE else "INSERT"
    one = "(" + ", ".join("?" for _ in keep) + ")"
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        values = [_value(r[i]) for r in chunk for i in keep]
        con.execute(f"{verb} INTO {table} ({names}) VALUES " + ", ".join(one for _ in chunk), values)
    return len(rows)


def _value(v):
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v


def add_cache_files(cache_dir: Path, files: dict[str, bytes]) -> int:
    """Add the entries this cache lacks (content-addressed: an existing file is the same)."""
    n = 0
    for rel, data in files.items():
        path = Path(cache_dir) / rel
        if path.exists() or ".." in Path(rel).parts:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        n += 1
    return n
