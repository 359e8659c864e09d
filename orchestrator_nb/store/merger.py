"""Merging journals into DuckDB off the runs' path: in a thread, when this process is idle.

A run never opens DuckDB (opening it costs 20-75 ms, and it is locked against other processes
meanwhile). Its records are in its journal when the run returns, and every reader (``orc runs``,
``orc show``, ``orc sql``, the API, the Jupyter server: anything going through
``Store.connect``) merges pending journals before it reads, so a finished run is visible at once.

This module keeps the DuckDB file itself up to date for processes that stay (a kernel, a server,
a script running many pipelines): after a run ends, one thread per store merges once no run has
ended for ``delay`` seconds, so consecutive runs are merged together in one batch. At exit a
merge in progress is waited for (DuckDB must not be torn down mid-write); one not started yet is
left to the next reader. A merge that fails leaves the journal as it was: nothing is lost.
"""
from __future__ import annotations

import _thread
import atexit
import os
import threading
import time

IDLE = 1.0  # seconds without a run ending before a process merges what its runs wrote

_mergers: dict[str, "Merger"] = {}
_guard = threading.Lock()


class Merger:
    def __init__(self, store):
        self.store = store
        self.cond = threading.Condition()
        self.due: float | None = None
        self.merging = self.stopping = False
        self.pid = os.getpid()
        # started without waiting for it to run (threading.Thread.start waits: a few hundred µs at
        # the end of a process's first run); like a daemon thread, it does not hold up exit
        _thread.start_new_thread(self._loop, ())

    def later(self, delay: float) -> None:
        with self.cond:
            idle = self.due is None
            self.due = time.monotonic() + delay
            if idle or delay <= 0:  # else it is already waiting for a moment, and will see this one
                self.cond.notify()

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.stopping and (self.due is None or self.due > time.monotonic()):
                    self.cond.wait(None if self.due is None else self.due - time.monotonic())
                if self.stopping:
                    return
                self.due, self.merging = None, True
            try:
                self.store.sync()
            except Exception:
                pass  # the journals keep the records; the next reader merges them
            finally:
                with self.cond:
                    self.merging = False
                    self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
            while self.merging:
                self.cond.wait()


def merge_later(store, delay: float = IDLE) -> None:
    """Merge this store's pending journals in the background once ``delay`` seconds pass without
    another call (each call moves the moment on: a burst of runs is merged once)."""
    merger_for(store).later(delay)


def merger_for(store) -> Merger:
    """The store's merger in this process, its thread started now if need be."""
    key = str(store.path)
    with _guard:
        m = _mergers.get(key)
        if m is None or m.pid != os.getpid():  # none yet, or inherited through fork (its thread is not here)
            if not _mergers:
                atexit.register(_stop_all)
            m = _mergers[key] = Merger(store)
    return m


def has_merger(store) -> bool:
    m = _mergers.get(str(store.path))
    return m is not None and m.pid == os.getpid()


def _stop_all() -> None:
    for m in list(_mergers.values()):
        if m.pid == os.getpid():
            m.stop()
