"""The server's worker processes: one per run it starts or resumes, never its event loop.

A worker is ``python -m orchestrator_nb.server.worker`` (see ``worker``) in its own session (a
Ctrl-C in the server's terminal does not reach it), in the server's root directory, writing the
server's store, its output in ``<store>.workers/<run>.log``. The supervisor waits on each one
(asyncio reaps it when it ends), puts back a run its worker could not start, cancels runs on
request, and cancels every run it still has when the server stops. A worker whose server dies
without stopping cancels its run by itself. Store calls run on the extension's thread pool.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time

from ..api.cancel import Cancellation
from ..errors import OrcError
from ..store import control
from ..store.journal import pid_alive
from . import owners


SWEEP_EVERY = 60.0  # seconds between looks for runs a stopped server left pending


class TooBusy(OrcError):
    """The server already runs as many workers as it may (``OrcServer.max_runs``)."""


class Worker:
    def __init__(self, run_id: str, action: str, proc, log_path: str, previous: str | None):
        self.run_id, self.action, self.proc, self.log_path, self.previous = run_id, action, proc, log_path, previous
        self.started = time.time()
        self.task = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


class Supervisor:
    def __init__(self, store, root_dir: str, gate, max_runs: int = 4, log=None):
        self.store, self.root_dir, self.gate, self.max_runs, self.log = store, root_dir, gate, max_runs, log
        self.workers: dict[str, Worker] = {}
        self.reserved = 0  # requests between their capacity check and their worker's start
        self.log_dir = store.path.with_name(store.path.stem + ".workers")
        self.last_sweep = 0.0

    async def blocking(self, fn, *args, **kwargs):
        """A store call on the extension's threads (see ``gate``; ``wait=None`` when no request waits)."""
        return await self.gate.run(fn, *args, **kwargs)

    def busy(self) -> bool:
        return sum(w.alive for w in self.workers.values()) + self.reserved >= self.max_runs

    def check_capacity(self) -> None:
        if self.busy():
            running = sum(w.alive for w in self.workers.values())
            doing = f"{running} run{'s' * (running != 1)}" + (f" and is starting {self.reserved} more"
                                                             if self.reserved else "")
            raise TooBusy(f"the server runs {doing}, and c.OrcServer.max_runs is {self.max_runs}: wait for "
                          "one to end, or raise c.OrcServer.max_runs")

    @contextlib.contextmanager
    def slot(self):
        """A place for a worker about to start, checked and taken at once: requests arriving together
        cannot all pass the check, so a refused one (429) has recorded no run."""
        self.check_capacity()
        self.reserved += 1
        try:
            yield
        finally:
            self.reserved -= 1

    def owned(self, run_id: str) -> Worker | None:
        w = self.workers.get(run_id)
        return w if w is not None and w.alive else None

    async def start(self, job: dict) -> Worker:
        """Start a worker for ``job`` (see ``worker``); the run is already ``pending`` in the store,
        and the caller holds a ``slot``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = str(self.log_dir / f"{job['run_id']}.log")
        env = dict(os.environ, ORC_DB=str(self.store.path), ORC_HEADLESS="1", PYTHONUNBUFFERED="1")
        # the worker watches this pid: if the server is gone by the time it is up, it cancels its run
        job = dict(job, db=str(self.store.path), server_pid=os.getpid())
        with open(log_path, "ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "orchestrator_nb.server.worker", stdin=asyncio.subprocess.PIPE,
                stdout=out, stderr=out, cwd=self.root_dir, env=env, start_new_session=True)
        proc.stdin.write(json.dumps(job, ensure_ascii=False).encode())
        await proc.stdin.drain()
        proc.stdin.close()
        w = Worker(job["run_id"], job["action"], proc, log_path, job.get("previous"))
        self.workers[w.run_id] = w
        owners.note(self.log_dir, w.run_id, w.previous, worker_pid=proc.pid)
        w.task = asyncio.ensure_future(self._watch(w))
        if self.log:
            self.log.info("orchestrator-nb: worker %s (%s) started for run %s", proc.pid, w.action, w.run_id)
        return w

    async def _watch(self, w: Worker) -> None:
        code = await w.proc.wait()
        if self.workers.get(w.run_id) is not w:
            return  # a newer worker (a resume) owns the run now: its state is that worker's to settle
        del self.workers[w.run_id]
        # a worker that ended before its run started (or before it could say why) leaves it pending
        status = w.previous or "failed"
        last = _last_line(w.log_path)
        why = (f"the worker process (pid {w.pid}) exited with code {code} before the run started"
               + (f": {last}" if last else "") + f" (log: {w.log_path})")
        try:
            await self.blocking(control.not_started, self.store, w.run_id, status, why, started_at=w.started,
                                wait=None)
        except OrcError as e:
            if self.log:
                self.log.warning("orchestrator-nb: run %s: %s", w.run_id, e)
        owners.forget(self.log_dir, w.run_id)

    def put_back_orphans(self) -> list[str]:
        """Pending runs a server left behind (killed before its worker took over) get their status
        back (see ``owners``); blocking, for the thread pool. Logs what it did."""
        done = owners.put_back_orphans(self.store, self.log_dir)
        if done and self.log:
            self.log.warning("orchestrator-nb: runs left pending by a server that stopped, put back (resumable): %s",
                             ", ".join(done))
        self.last_sweep = time.monotonic()
        return done

    def sweep_due(self) -> bool:
        """Whether to look for left-behind runs again (while the runs are listed: now and then)."""
        return time.monotonic() - self.last_sweep > SWEEP_EVERY

    async def cancel(self, ref: str, by: str) -> dict:
        """Cancel a run (see ``cancel``): this server's worker, or any process on this host."""
        c = await self.blocking(Cancellation, self.store, ref, by)
        w = self.owned(c.run_id)
        if w is not None:
            c.adopt(w.pid)
        if await self.blocking(c.begin):  # (a process this server did not start: checked to be the run's)
            for at, sig in c.signals():
                if await self._stopped(c, w, until=c.started + at):
                    break
                c.send(sig)
            else:
                await self._stopped(c, w, until=time.monotonic() + 0.5)
        return await self.blocking(c.finish)

    async def _stopped(self, c: Cancellation, w: Worker | None, until: float) -> bool:
        next_read = 0.0
        while True:
            if c.ended(alive=w.alive if w is not None else pid_alive(c.pid)):
                return True
            now = time.monotonic()
            if not c.killable and now >= next_read:  # a kernel lives on: watch the run instead
                if (await self.blocking(control.run_status, self.store, c.run_id))[0] not in control.ACTIVE:
                    return True
                next_read = now + 0.25
            if now >= until:
                return False
            await asyncio.sleep(min(0.05, max(until - now, 0.0)))

    async def stop_all(self, by: str = "the Jupyter server stopping") -> None:
        """Cancel every run this server still runs (when it stops), and see its worker exit."""
        alive = [w for w in self.workers.values() if w.alive]
        if not alive:
            return
        results = await asyncio.gather(*(self.cancel(w.run_id, by) for w in alive), return_exceptions=True)
        for w, r in zip(alive, results):
            if self.log:
                self.log.info("orchestrator-nb: run %s stopped with the server: %s", w.run_id,
                              r["status"] if isinstance(r, dict) else r)
        # a stopped run's worker merges its journal, then exits: wait a little, then make sure
        await asyncio.wait([w.task for w in alive], timeout=3.0)
        for w in alive:
            if w.alive:
                w.proc.kill()
        await asyncio.wait([w.task for w in alive], timeout=1.0)


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 2000))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
