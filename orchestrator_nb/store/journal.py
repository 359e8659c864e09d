"""The store's write-ahead journal.

A running pipeline never waits for DuckDB: each record is one JSON line appended to a journal
file of its own (``<run>.<host>.<pid>.<n>.jsonl``), a few microseconds, durable the moment
``write`` returns (a ``kill -9`` loses nothing already written). Whoever next opens the store
(any process: the CLI, the Jupyter server, the kernel when its run ends) merges new lines into
DuckDB in one transaction together with the file's new offset, so each line lands exactly once.
A journal that ends with an ``eof`` line and is fully merged is deleted.
"""
from __future__ import annotations

import itertools
import json
import os
import socket
import threading

from ..core.serialize import dumps, to_jsonable

HOST = socket.gethostname()
_seq = itertools.count(1)


class JournalWriter:
    def __init__(self, directory: str, run_id: str):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, f"{run_id}.{HOST}.{os.getpid()}.{next(_seq)}.jsonl")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        self.write_line(dumps(record) + "\n")

    def write_line(self, line: str) -> None:
        line = line.encode()
        with self._lock:
            if self.fd is None:
                return
            os.write(self.fd, line)

    def close(self) -> None:
        with self._lock:
            if self.fd is not None:
                os.write(self.fd, b'{"t":"eof"}\n')
                os.close(self.fd)
                self.fd = None


_STARTED = '{"t":"step","run_id":"%s","step_id":"%s","item_index":%d,"attempt":%d,"status":"running","started_at":%r}\n'
_FINISHED = ('{"t":"step","run_id":"%s","step_id":"%s","item_index":%d,"attempt":%d,"status":"%s",'
             '"started_at":%r,"ended_at":%r,"output":%s,"error":%s,"cached":%s,"model":%s}\n')


class Recorder:
    """Event subscriber: run events -> journal records."""

    critical = True       # if records cannot be written, the run must not go on silently
    wants_tokens = False  # streamed tokens are not stored (the full answer is)

    def __init__(self, writer: JournalWriter):
        self.w = writer

    def handle(self, ev) -> None:
        kind = ev.kind
        if kind == "token":
            return
        d = ev.data
        w = self.w.write
        # step records are the hot path (two per step): formatted directly; ids are validated
        # identifiers and run ids hex, so only output, error and model need JSON encoding
        if kind == "step_started":
            self.w.write_line(_STARTED % (ev.run_id, ev.step_id, ev.item, ev.attempt, ev.ts))
        elif kind == "step_finished":
            out, err, model = d.get("output"), d.get("error"), d.get("model")
            self.w.write_line(_FINISHED % (
                ev.run_id, ev.step_id, ev.item, ev.attempt, d["status"], d.get("started") or ev.ts, ev.ts,
                "null" if out is None else dumps(to_jsonable(out)), "null" if err is None else dumps(str(err)),
                "true" if d.get("cached") else "false", "null" if model is None else dumps(model)))
        elif kind == "llm_call":
            w(dict(d, t="llm_call", run_id=ev.run_id, step_id=ev.step_id, item_index=ev.item,
                   attempt=ev.attempt, created_at=ev.ts))
        elif kind == "approval":
            w({"t": "approval", "run_id": ev.run_id, "step_id": ev.step_id, "round": d["round"],
               "decision": d["decision"], "comment": d.get("comment"), "decided_by": d.get("decided_by"),
               "mode": d.get("mode"), "decided_at": d.get("decided_at") or ev.ts})
        elif kind == "artifact":
            w({"t": "artifact", "run_id": ev.run_id, "step_id": ev.step_id, "path": d["path"],
               "rel_path": d.get("rel_path"), "sha256": d["sha256"], "media_type": d.get("media_type"),
               "bytes": d.get("bytes"), "created_at": ev.ts})
        elif kind == "run_started":
            rec = dict(d, t="run", run_id=ev.run_id, status="running", ended_at=None, error=None,
                       pid=os.getpid(), host=HOST)
            if not d.get("resumed"):
                rec["started_at"] = ev.ts
            w(rec)
        elif kind == "run_finished":
            w({"t": "run", "run_id": ev.run_id, "status": d["status"], "ended_at": ev.ts, "error": d.get("error"),
               "cost_usd": d.get("cost_usd", 0.0), "tokens_in": d.get("tokens_in", 0),
               "tokens_out": d.get("tokens_out", 0)})
        elif kind in ("log", "step_retry", "check_failed", "step_waiting"):
            if kind == "step_waiting":  # a live run's pending approval: visible to, and decidable by, others
                w({"t": "step", "run_id": ev.run_id, "step_id": ev.step_id, "item_index": ev.item,
                   "attempt": ev.attempt, "status": "waiting", "ended_at": ev.ts, "cached": False,
                   "output": {k: d.get(k) for k in ("question", "show", "round", "revise")},
                   "error": "waiting for approval"})
            w({"t": "event", "run_id": ev.run_id, "ts": ev.ts, "level": _level(kind, d), "step_id": ev.step_id,
               "message": _message(kind, d), "kind": kind, "item_index": ev.item, "attempt": ev.attempt})


def _level(kind, d) -> str:
    if kind == "log":
        return d.get("level", "info")
    return "warning" if kind in ("step_retry", "check_failed") else "info"


def _message(kind, d) -> str:
    if kind == "log":
        return str(d.get("message", ""))
    if kind == "step_retry":
        return f"retrying in {d.get('delay', 0):.2f} s after: {d.get('error')}"
    if kind == "check_failed":
        return f"check failed: {d.get('message')}"
    return f"waiting for approval (round {d.get('round')}): {d.get('question')}"


def read_new(path: str, offset: int) -> tuple[list[dict], int, bool]:
    """Complete lines after ``offset`` -> (records, new offset, saw eof)."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset, False
    records, eof = [], False
    for raw in data[:end].split(b"\n"):
        if not raw:
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            continue  # a torn line from a crash mid-write: skip it, never block the merge
        if rec.get("t") == "eof":
            eof = True
        else:
            records.append(rec)
    return records, offset + end + 1, eof


def writer_alive(filename: str) -> bool:
    """Is the process that writes this journal still running? (Same host only; else assume yes.)"""
    parts = filename.split(".")
    if len(parts) < 5:
        return False
    host, pid = ".".join(parts[1:-3]), parts[-3]
    if host != HOST:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
