"""The way into the store for requests: at most one call per store thread, and none while
another process holds the store's lock, so a busy store gets a prompt 503, not a queue.

Another process may hold the store for minutes (a long `orc sql`, a stuck process), and a store
call waits up to ``ORC_STORE_TIMEOUT`` (120 s) for it on one of the extension's two threads: the
sidebar's polls would pile up behind it. So a request waits here, on the IO loop (not a thread),
for a free thread and a free lock, at most ``OrcServer.store_wait`` seconds, then answers 503.
"""
from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import time

from ..errors import StoreError

POLL = 0.05  # seconds between looks at the lock


class StoreBusy(StoreError):
    """The store stayed busy longer than a request waits: 503, try again."""


class StoreGate:
    def __init__(self, store, executor, threads: int, wait: float):
        self.store, self.executor, self.threads, self.wait = store, executor, threads, wait
        self._slots: asyncio.Semaphore | None = None

    async def run(self, fn, *args, wait: float | None = -1.0, **kwargs):
        """``fn(*args, **kwargs)`` on a store thread. ``wait``: seconds to wait for the store before
        StoreBusy (default ``self.wait``; None: as long as it takes, for work no one waits on)."""
        wait = self.wait if wait == -1.0 else wait
        deadline = None if wait is None else time.monotonic() + wait
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.threads)
        try:
            await asyncio.wait_for(self._slots.acquire(), None if deadline is None else max(wait, POLL))
        except asyncio.TimeoutError:
            raise StoreBusy(self._busy("the server's earlier requests to it are still waiting")) from None
        try:
            while deadline is not None and not self._lock_free():
                if time.monotonic() >= deadline:
                    raise StoreBusy(self._busy(f"its lock ({self.store.lock_path}) has been held"))
                await asyncio.sleep(POLL)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))
        finally:
            self._slots.release()

    def _lock_free(self) -> bool:
        """Whether no one holds the store's lock right now (a look, not a wait: never blocks)."""
        try:
            fd = os.open(self.store.lock_path, os.O_RDONLY)
        except OSError:
            return True  # no lock file yet: no one has used the store
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        finally:
            os.close(fd)  # (closing releases it)
        return True

    def _busy(self, why: str) -> str:
        return (f"the store {self.store.path} is busy: {why} for over {self.wait:g} s (a long `orc sql`, or a "
                "stuck orc process?); try again shortly")
