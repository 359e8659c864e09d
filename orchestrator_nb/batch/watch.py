"""Live step lines for the pipeline runs a notebook makes, seen from outside the kernel.

The kernel's runs append JSON lines to the store's journals (``<db>.journal/*.jsonl``) as they
go. ``JournalWatch`` polls that folder from a thread, keeps a handle on each journal whose run
belongs to our notebook run (``nb_run_id`` in its first record) and turns new records into
lines such as ``[12:00:01] 8f09c159 draft   succeeded in 0.4s``. Reading a journal takes no
lock and never disturbs the run. A journal merged and deleted between two polls (a very short
run) is not seen live; ``missed()`` names such runs so the caller can report them from the store.
"""
from __future__ import annotations

import json
import os
import threading
import time

from ..store.journal import normalize

FINAL = ("succeeded", "failed", "waiting", "budget_exceeded", "cancelled")


class JournalWatch:
    def __init__(self, journal_dir, nb_run_id: str, emit, interval: float = 0.05, expect=()):
        self.dir = str(journal_dir)
        self.nb_run_id = nb_run_id
        self.expect = set(expect)            # runs a resumed notebook continues (their records say `resumed`)
        self.emit = emit
        self.interval = interval
        self.files: dict[str, tuple] = {}     # name -> (file, pending bytes) for our journals
        self.ignored: set[str] = set()
        self.runs: set[str] = set()           # run ids seen (ours and their sub-runs)
        self.started: dict[tuple, float] = {}
        self.reported: set[tuple] = set()
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> "JournalWatch":
        self._thread = threading.Thread(target=self._loop, name="orc-journal-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.poll()
        for f, _ in self.files.values():
            f.close()
        self.files.clear()

    def missed(self, run_ids) -> list[str]:
        return [r for r in run_ids if r not in self.runs]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # progress lines must never break the run they describe
                pass

    def poll(self) -> None:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return
        for name in names:
            if name.endswith(".jsonl") and name not in self.files and name not in self.ignored:
                try:
                    self.files[name] = (open(os.path.join(self.dir, name), "rb"), b"")
                except FileNotFoundError:
                    continue
        for name in list(self.files):
            f, pending = self.files[name]
            data = pending + f.read()
            *lines, rest = data.split(b"\n")
            self.files[name] = (f, rest)
            for raw in lines:
                if raw and not self._line(name, raw):
                    f.close()
                    del self.files[name]
                    self.ignored.add(name)
                    break

    def _line(self, name: str, raw: bytes) -> bool:
        """Handle one record; False when the journal belongs to someone else."""
        try:
            r = normalize(json.loads(raw))
        except ValueError:
            return True  # a torn line: the rest of the file still counts
        t = r.get("t")
        rid = r.get("run_id")
        if rid not in self.runs:
            # a journal starts with its run's record; sub-runs follow in the same file
            ours = t == "run" and (r.get("nb_run_id") == self.nb_run_id or r.get("parent_run_id") in self.runs
                                   or (r.get("resumed") and rid in self.expect))
            if not ours:
                return False
            self.runs.add(rid)
            sub = "  sub-run" if r.get("parent_run_id") else "run"
            self._say(f"{sub} {rid} · pipeline {r.get('pipeline')}" + (" (resumed)" if r.get("resumed") else ""))
            return True
        if t == "step" and r.get("item_index", -1) < 0:
            key = (rid, r["step_id"], r.get("attempt"))
            status = r.get("status")
            if status == "running":
                self.started[key] = r.get("started_at") or time.time()
                again = f" (attempt {r['attempt']})" if (r.get("attempt") or 1) > 1 else ""
                self._step(rid, r["step_id"], "running" + again)
            elif key + (status,) not in self.reported:  # an approval writes its `waiting` record twice
                self.reported.add(key + (status,))
                took = (r.get("ended_at") or 0) - (r.get("started_at") or self.started.get(key) or 0)
                note = r.get("error") if status != "succeeded" else ("cached" if r.get("cached") else None)
                self._step(rid, r["step_id"], f"{status} in {max(took, 0):.1f}s" + (f" — {note}" if note else ""))
        elif t == "run" and r.get("status") in FINAL:
            cost = r.get("cost_usd") or 0
            self._say(f"run {rid} {r['status']} · ${cost:.4f}" + (f" — {r['error']}" if r.get("error") else ""))
        elif t == "event" and r.get("level") in ("warning", "error"):
            self._step(rid, r.get("step_id") or "-", str(r.get("message")))
        return True

    def _step(self, rid: str, sid: str, text: str) -> None:
        self._say(f"{rid[:8]} {sid:<20} {text}")

    def _say(self, text: str) -> None:
        self.emit(f"[{time.strftime('%H:%M:%S')}] {text}")
