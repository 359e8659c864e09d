"""A worker process of the Jupyter server: runs or resumes one run, headless, then exits.

    python -m orchestrator_nb.server.worker   < job.json

The job (JSON on stdin, so inputs such as a requirements document stay off the command line):
``{"action": "run" | "resume", "run_id", "db", "pipeline" (a YAML path, for run), "inputs",
"approval", "model", "outdir", "isolate", "previous" (the status before a resume), "server_pid"}``.

It writes the same store as `orc run` (journal first, merged when it ends). SIGINT or SIGTERM
stop it as Ctrl-C stops `orc run`: the run is recorded ``cancelled``. If the server that started
it (``server_pid``) goes away, even before this process is up, it cancels its run the same way. Exit codes are those of `orc run`. This module
imports no Jupyter code.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time

from ..errors import EXIT_CODES


def main() -> int:
    job = json.load(sys.stdin)
    # a server started in the background may pass SIGINT on ignored: take it back, Ctrl-C style
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    from ..errors import OrcError
    from ..credentials import redact
    from ..store import Store
    from ..store.control import not_started, run_status
    store = Store(job["db"])
    fallback = job.get("previous") or "failed"
    # the server's pid from the job, not getppid() now: starting takes a second, and a server
    # killed meanwhile has left this process to another parent already
    server = job.get("server_pid") or os.getppid()
    if os.getppid() != server:
        not_started(store, job["run_id"], "cancelled", f"cancelled before it started: the Jupyter server (pid "
                                                       f"{server}) stopped; resume it to run it")
        return 130
    _watch_parent(server)
    try:
        if job["action"] == "run" and run_status(store, job["run_id"])[0] != "pending":
            return 130  # cancelled while this process was starting
        result = asyncio.run(_run(job, store))
    except KeyboardInterrupt:
        not_started(store, job["run_id"], "cancelled", "cancelled before it started")
        return 130
    except OrcError as e:
        not_started(store, job["run_id"], fallback, redact(str(e)))
        print(f"orc worker: {redact(str(e))}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # a bug: keep the run's state readable, say what happened
        message = redact(f"internal error in the worker: {type(e).__name__}: {e}")
        not_started(store, job["run_id"], fallback, message)
        print(f"orc worker: {message}", file=sys.stderr)
        return 1
    finally:
        # the run has ended: a late interrupt must not break the merge into DuckDB
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _quiet_sync(store)
    print(f"orc worker: run {result.run_id} {result.status}", file=sys.stderr)
    return EXIT_CODES.get(result.status, 1)


async def _run(job: dict, store):
    from ..api.runner import resume_run, run_pipeline
    if job["action"] == "resume":
        return await resume_run(job["run_id"], db=store, approval=job.get("approval"), sync="none")
    from ..core.loader import load
    pipeline = load(job["pipeline"])
    if job.get("model"):
        from ..providers.routing import check_override
        check_override(pipeline, job["model"], "model")
        pipeline.model_override = job["model"]
    return await run_pipeline(pipeline, job.get("inputs") or {}, db=store, outdir=job.get("outdir") or ".",
                              approval=job.get("approval") or "defer", source="server", run_id=job["run_id"],
                              sync="none", isolate=bool(job.get("isolate")))


def _quiet_sync(store) -> None:
    try:
        store.sync()
    except Exception:
        pass  # the journal keeps every record; the next reader merges them


def _watch_parent(parent: int) -> None:
    """The server went away (killed, crashed): cancel the run as a Ctrl-C would, then a second
    time for a step that holds the event loop."""
    main = threading.main_thread().ident

    def watch() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # they go to the main thread
        while os.getppid() == parent:
            time.sleep(0.5)
        for _ in range(2):  # aimed at the main thread: it interrupts a blocking step there
            signal.pthread_kill(main, signal.SIGINT)
            time.sleep(1.0)

    threading.Thread(target=watch, name="orc-worker-parent", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
