"""Runs with everything wired: the store, the model gateway, the approver. Every front-end (the
Python API, the CLI, the magics, batch workers, the server's workers) starts and resumes runs here.

The core (``core.runner``) executes; this layer decides where records go (``db``), which models
answer (``providers``), who decides approvals, and when the journal is merged into DuckDB.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import stat
from pathlib import Path

from ..core.approvals import PolicyApprover
from ..core.context import RunContext
from ..core.events import Bus
from ..core.result import RunResult
from ..core.runner import check_run_id, coerce_inputs, issued, lifecycle, new_run_id, prepare, restore, run_record
from ..core.services import Services
from ..envvars import env
from ..errors import OrcError, UsageError
from ..store import Store, check_path, default_db_path
from ..store.merger import has_merger, merge_later, merger_for
from ..telemetry import subscriber_for  # light: the OpenTelemetry SDK is imported only when traces are on
from .blocking import run_blocking
from .budgets import ledger_for
from .notify import webhooks_for

__all__ = ["run_pipeline", "resume_run", "run_pipeline_sync", "run_blocking", "new_run_id", "prepare_pipeline", "services_for"]


def services_for(store, approver, ledger=None) -> Services:
    """``ledger``: the cross-run budgets (api.budgets), shared by the run's gateway and its sub-runs'."""
    return Services(store=store, cache=store.cache if store is not None else None, approver=approver,
                    gateway=_gateway if ledger is None else functools.partial(_gateway, ledger=ledger),
                    check_model=check_model, tools=_toolbox)


# The providers layer (and YAML, for pipelines given as text) is imported when a run first needs
# it: a pipeline of python steps never does.
def _gateway(ctx, ledger=None):
    from ..providers.gateway import Gateway
    return Gateway(ctx, ledger)


def _toolbox(ctx):
    from ..tools import Toolbox
    return Toolbox(ctx)


def check_model(pipeline, step) -> None:
    from ..providers.routing import check_model as check
    check(pipeline, step)


def prepare_pipeline(pipeline, isolate: bool = False) -> None:
    """Ready a pipeline to run: python steps imported (not under ``isolate``: their confined child
    processes import them), sub-pipelines loaded, models and tools checked."""
    first = not pipeline.prepared
    prepare(pipeline, check_model, isolate)
    if first and any(s.tools or s.kind == "call" for s in pipeline.steps.values()):
        from ..tools import check_pipeline
        check_pipeline(pipeline)


_stores: dict[str, Store] = {}


def _store_for(db):
    """The Store for ``db`` (one per path in this process: runs in a loop share it)."""
    if db is False:
        return None
    if isinstance(db, Store):
        return db
    if db is not None and (not isinstance(db, (str, os.PathLike)) or not os.fspath(db).strip()):
        raise UsageError(f"db must be the store's path (a .duckdb file), a Store, or False for no store; "
                         f"got {type(db).__name__} {str(db)[:40]!r}")
    key = os.path.abspath(os.fspath(db) if db is not None else default_db_path())
    store = _stores.get(key)
    if store is None:
        check_path(key)  # once per path and process: a folder or a non-DuckDB file is refused up front
        store = _stores[key] = Store(key)
    return store


async def run_pipeline(pipeline, inputs: dict | None = None, *, db=None, outdir=".", approval: str | None = None,
                       approver=None, subscribers=(), scope: dict | None = None, source: str = "api",
                       notebook_path: str | None = None, use_cache: bool = True, run_id: str | None = None,
                       sync: str = "now", nb_run_id: str | None = None, isolate: bool = False) -> RunResult:
    """Run ``pipeline`` to the end (succeeded, failed, waiting, budget_exceeded or cancelled).

    db: store path, a Store, or False for no store (and no cache). The run's records are in its
    journal when this returns, visible to every reader (they merge pending journals first). sync:
    when this process merges the journal into the DuckDB file itself: "now" (once the process
    has been idle for a second), "background" (at once, in a thread) or "none" (the next reader).
    isolate: every code/python step in a confined child process (for pipelines you do not trust).
    """
    if isinstance(pipeline, (str, os.PathLike, dict)):
        from ..core.loader import load
        pipeline = load(pipeline, names=list(scope or ()))
    inputs = coerce_inputs(pipeline, inputs)
    if run_id is not None:
        check_run_id(run_id)
    _check_options(outdir, sync)
    prepare_pipeline(pipeline, isolate)
    # `orc notebook` / `orc batch` tell the runs made inside a notebook which notebook run they belong to
    nb_run_id = nb_run_id or env("ORC_NB_RUN_ID") or None
    notebook_path = notebook_path or env("ORC_NOTEBOOK_PATH") or None
    earlier = _continued_run(pipeline, nb_run_id)
    if earlier is not None:  # `orc notebook --resume`: continue the run the notebook made last time
        return await resume_run(earlier, db=db, approval=approval, approver=approver, subscribers=subscribers,
                                scope=scope, sync=sync, use_cache=use_cache, pipeline=pipeline, finished_ok=True,
                                isolate=isolate)
    store = _store_for(db)
    if run_id is not None and store is not None and not issued(run_id):
        _check_untaken(store, run_id)
    policy = approval or env("ORC_APPROVAL") or "defer"
    ledger = ledger_for(store, pipeline.name, notebook_path)  # cross-run budgets: the store is read only when one is set
    run = RunContext(pipeline, run_id or new_run_id(), inputs,
                     services=services_for(store, approver or PolicyApprover(policy), ledger), bus=Bus(subscribers),
                     outdir=outdir, scope=scope, source=source, notebook_path=notebook_path, use_cache=use_cache,
                     approval_policy=approval, isolate=isolate)
    return await _recorded(run, store, sync, lambda: run_record(run, policy, nb_run_id=nb_run_id, isolate=isolate))


def _check_untaken(store, run_id: str) -> None:
    """A caller's own run id must not name a run the store holds: the new run's records would
    overwrite it. A server's queued run ('pending') is the one its worker starts with that id."""
    from ..store.control import run_status
    if not store.exists():
        return
    status, _ = run_status(store, run_id)
    if status and status != "pending":
        raise UsageError(f"run id {run_id!r} is taken: {store.path} holds a {status} run with it; pick another "
                         f"id (or leave run_id out), or continue that run with `orc resume {run_id}`")


def _check_options(outdir, sync) -> None:
    """Options that would otherwise fail half-way through a run (a step writing into a file)."""
    if outdir != ".":  # the default, the working directory, is a folder (and costs no stat per run)
        if not isinstance(outdir, (str, os.PathLike)) or not os.fspath(outdir).strip():
            raise UsageError(f"outdir must be a folder path, not {type(outdir).__name__} {str(outdir)[:40]!r}")
        try:
            is_file = not stat.S_ISDIR(os.stat(outdir).st_mode)
        except OSError:
            is_file = False  # missing: made when a step writes
        if is_file:
            raise UsageError(f"the output folder {os.fspath(outdir)} is a file, not a folder (--outdir / outdir=: "
                             "give a folder; a missing one is made)")
        if ".git" in Path(os.path.realpath(outdir)).parts:
            raise UsageError(f"the output folder {os.fspath(outdir)[:200]} is inside a repository's .git folder, "
                             "where a step's file could rewrite its configuration or hooks (--outdir / outdir=: "
                             "give a folder outside .git)")
    if sync not in SYNC_MODES:
        raise UsageError(f"sync must be one of {', '.join(SYNC_MODES)}, not {sync!r}")


SYNC_MODES = ("now", "background", "none")
_claimed: set[str] = set()


def _continued_run(pipeline, nb_run_id) -> str | None:
    """`orc notebook --resume` executes a notebook again with ORC_RESUME_RUNS, the runs it made last
    time ([{run_id, spec_hash}], in order): a run of an unchanged pipeline continues the first of
    them not yet continued, so finished steps and model calls are not repeated."""
    raw = env("ORC_RESUME_RUNS")
    if not raw or not nb_run_id:
        return None
    spec_hash = pipeline.spec_hash()
    for r in json.loads(raw):
        if r.get("run_id") not in _claimed and r.get("spec_hash") == spec_hash:
            _claimed.add(r["run_id"])
            return r["run_id"]
    return None


async def _recorded(run: RunContext, store, sync: str, record) -> RunResult:
    """The run's lifecycle with its journal: recorded as it goes, merged into DuckDB per ``sync``."""
    recorder = None
    if store is not None:
        recorder = store.recorder(run.run_id)
        run.bus.subscribers.insert(0, recorder)
        if sync != "none" and not has_merger(store):  # its thread starts while steps wait, not as the run returns
            asyncio.get_running_loop().call_later(_SOON, merger_for, store)
    run.bus.subscribe(webhooks_for(run))  # notifications (api.notify); None when no webhook is set
    run.bus.subscribe(subscriber_for(store.path if store is not None else None))  # OpenTelemetry, when on
    if _calls_models(run.pipeline):
        from ..providers import prices
        await prices.ready()  # the price data loads once per process: before any step's timeout starts
    try:
        return await lifecycle(run, record)
    finally:
        if recorder is not None:
            recorder.w.close()
            _sync(store, sync)


# seconds: late enough that a burst of starting steps (a 200-way fan-out takes 1.5-4 ms) is not
# slowed by a new thread's start, soon enough that it has started before most runs that wait end
_SOON = 0.01


def _calls_models(pipeline) -> bool:
    """Whether a run may call a model that the maintained price data prices (self-hosted, local and
    scripted models never are: a run of those does not wait for the data to load)."""
    for s in pipeline.steps.values():
        if s.kind in ("prompt", "pipeline") or getattr(s.check, "judge", None) is not None:
            break
    else:
        return False  # python, code, sql... steps: the providers layer is not even imported
    from ..providers.prices import FREE
    from ..providers.routing import resolve_chain
    for s in pipeline.steps.values():
        if s.kind == "pipeline" and hasattr(s.action, "steps") and _calls_models(s.action):
            return True
        asks = [(s.model, s.task)] if s.kind == "prompt" else []
        if getattr(s.check, "judge", None) is not None:
            asks.append((s.check.model, s.check.task))
        for model, task in asks:
            try:
                chain = resolve_chain(pipeline, model, task)
            except Exception:
                return True
            if any(m.partition(":")[0] not in FREE for m in chain):
                return True
    return False


def _sync(store, how: str) -> None:
    """The run's journal is closed: every record is on disk, and every reader merges pending
    journals before reading, so the run is visible at once. DuckDB's file itself is brought up to
    date by the next reader, or here in the background ("now": once this process has been idle
    for a second, a burst of runs together; "background": at once)."""
    if how == "now":
        merge_later(store)
    elif how == "background":
        merge_later(store, 0.0)


def run_pipeline_sync(pipeline, inputs=None, **options) -> RunResult:
    if asyncio._get_running_loop() is None:  # (get_running_loop, without raising and catching an error)
        return run_blocking(run_pipeline(pipeline, inputs, **options))
    raise OrcError("an event loop is already running here (Jupyter?): use `await pipeline.arun(...)` "
                   "or the %%orc magic")


async def resume_run(ref: str, *, db=None, approval: str | None = None, approver=None, subscribers=(),
                     scope: dict | None = None, sync: str = "now", use_cache: bool = True, pipeline=None,
                     finished_ok: bool = False, isolate: bool | None = None) -> RunResult:
    """Continue a failed, waiting or crashed run; finished steps are not run again.
    ``pipeline``: the same pipeline, loaded by the caller (else it is rebuilt from the stored spec);
    ``finished_ok``: a succeeded run gives back its stored result instead of an error."""
    store = _store_for(db)
    if store is None:
        raise UsageError("resume needs the store (the run's records)")
    from ..store.journal import HOST, pid_alive
    stored, rows = store.load_run(ref)
    run_id, status = stored["run_id"], stored["status"]
    if status == "succeeded" and not finished_ok:
        raise OrcError(f"run {run_id} already succeeded; nothing to resume")
    if status == "running" and stored.get("host") == HOST and stored.get("pid") and stored["pid"] != os.getpid() \
            and pid_alive(stored["pid"]):
        raise OrcError(f"run {run_id} is still running (pid {stored['pid']}); wait for it or stop it first")
    if pipeline is None:
        spec_path = stored.get("spec_path")
        file = spec_path if spec_path and not spec_path.startswith("<") else f"<run {run_id}>"
        from ..core.loader import load_text
        pipeline = load_text(stored["spec_yaml"], file=file, names=None)
    if stored.get("model_override"):  # the run was started with --model: keep using it
        pipeline.model_override = stored["model_override"]
    if isolate is None:  # a run started with --isolate stays isolated
        isolate = bool(stored.get("isolate"))
    prepare_pipeline(pipeline, isolate)
    policy = approval or stored.get("approval_policy") or env("ORC_APPROVAL") or "defer"
    ledger = ledger_for(store, pipeline.name, stored.get("notebook_path"))
    run = RunContext(pipeline, run_id, stored.get("inputs") or {},
                     services=services_for(store, approver or PolicyApprover(policy), ledger), bus=Bus(subscribers),
                     outdir=stored.get("outdir") or ".", scope=scope, source=stored.get("source") or "api",
                     notebook_path=stored.get("notebook_path"), use_cache=use_cache,
                     approval_policy=approval or stored.get("approval_policy"), isolate=isolate)
    restore(run, rows, stored.get("usage"))
    return await _recorded(run, store, sync, {"pipeline": pipeline.name, "resumed": True, "approval_policy": policy,
                                              "isolate": isolate})
