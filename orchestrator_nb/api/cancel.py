"""Cancelling a run: `orc cancel RUN` and ``POST /orc/api/runs/{id}/cancel``.

A run that is waiting (for an approval) or queued has no process doing anything: it is marked
``cancelled`` in the store. A running one is stopped the way Ctrl-C stops `orc run`: SIGINT to
its process, whose runner records ``cancelled``. A step that holds the event loop (a blocking
``code:`` step) is interrupted by a second SIGINT. A process whose only job is the run (`orc run`,
a Jupyter server worker) that still has not stopped is killed and the run marked ``cancelled``;
a kernel is only interrupted, never killed. All within ``KILL_AFTER`` + a few tenths of a second.

``Cancellation`` holds the steps; ``cancel_run`` drives them with blocking waits (the CLI), the
server drives the same steps with ``await`` (see ``server.workers``).
"""
from __future__ import annotations

import os
import signal
import time

from ..store import control
from ..store.journal import HOST, pid_alive, run_ended
from ..store.procs import not_the_run

SECOND_INTERRUPT = 0.5  # seconds after the first SIGINT
KILL_AFTER = 1.2
KILLABLE = ("cli", "server")  # sources whose process runs nothing but the run


class Cancellation:
    """One cancel request. ``begin`` says what to do; ``signals`` the (time, signal) to send while
    the process has not stopped; ``finish`` records the outcome."""

    def __init__(self, store, ref: str, by: str):
        self.store, self.by = store, by
        run = control.run_target(store, ref)
        self.run_id, self.previous = run["run_id"], run["status"]
        self.pid = run["pid"] if run["status"] == "running" else None
        self.source, self.host = run.get("source"), run.get("host")
        self.started = time.monotonic()
        self.sent: list[str] = []
        self.adopted = False

    def adopt(self, worker_pid: int) -> None:
        """The run belongs to the caller's own worker process (which may not have started it yet)."""
        if self.previous in control.ACTIVE:
            self.pid, self.source, self.adopted = worker_pid, "server", True

    def begin(self) -> bool:
        """True if a process must be stopped; else the run is ended here (or already had)."""
        if self.previous not in control.ACTIVE:
            raise control.RunStateError(f"run {self.run_id} already ended ({self.previous}); nothing to cancel")
        if self.pid is None:  # waiting or queued: nothing runs
            return False
        if self.pid == os.getpid():
            raise control.RunStateError(f"run {self.run_id} runs in this process; interrupt it instead")
        if self.source != "server" and self.host and self.host != HOST:
            raise control.RunStateError(f"run {self.run_id} runs on host {self.host}: cancel it there")
        if not self.adopted:  # a pid from the store: make sure it is still the run's process
            why = not_the_run(self.store.journal_dir, self.run_id, self.pid)
            if why is not None:
                raise control.RunStateError(
                    f"run {self.run_id} was not cancelled: its record names pid {self.pid}, but {why}; nothing "
                    "was signalled (a pid reused since, or a record written on another machine: cancel it where "
                    "it runs)")
        self.requested_at = time.time()
        return True

    def ended(self, alive: bool) -> bool:
        """The process is gone, or has recorded the run's end in its journal (it then merges the
        journal and exits by itself: no need to interrupt it again)."""
        return not alive or run_ended(self.store.journal_dir, self.run_id, self.pid)

    @property
    def killable(self) -> bool:
        return self.source in KILLABLE

    def signals(self):
        yield 0.0, signal.SIGINT
        yield SECOND_INTERRUPT, signal.SIGINT
        if self.killable:
            yield KILL_AFTER, signal.SIGKILL

    def send(self, sig) -> None:
        try:
            os.kill(self.pid, sig)
            self.sent.append(signal.Signals(sig).name)
        except ProcessLookupError:
            pass

    def finish(self) -> dict:
        """Record the outcome: a run its process did not end (or that never had one) is cancelled."""
        status, error = control.finish_cancel(self.store, self.run_id, self.by, signalled_pid=self.pid,
                                              requested_at=getattr(self, "requested_at", None))
        return {"run_id": self.run_id, "status": status, "previous": self.previous, "error": error,
                "signals": list(self.sent), "seconds": round(time.monotonic() - self.started, 3)}


def cancel_run(store, ref: str, by: str, *, poll: float = 0.05) -> dict:
    """Cancel a run from any process on its host (blocking, at most ~KILL_AFTER + 0.5 s)."""
    c = Cancellation(store, ref, by)
    if c.begin():
        for at, sig in c.signals():
            if _stopped(c, until=c.started + at, poll=poll):
                break
            c.send(sig)
        else:
            _stopped(c, until=time.monotonic() + 0.5, poll=poll)
    return c.finish()


def _stopped(c: Cancellation, until: float, poll: float) -> bool:
    """Wait until ``until`` for the run to end (its process ends, or its journal records the end;
    a kernel's run: the store says so); True if it did."""
    next_read = 0.0
    while True:
        if c.ended(alive=pid_alive(c.pid)):
            return True
        now = time.monotonic()
        if not c.killable and now >= next_read:
            if control.run_status(c.store, c.run_id)[0] not in control.ACTIVE:
                return True
            next_read = now + 0.25
        if now >= until:
            return False
        time.sleep(min(poll, max(until - now, 0.0)))
