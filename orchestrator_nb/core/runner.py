"""Starting, resuming and nesting runs: the one entry point every front-end calls.

``run_pipeline`` checks inputs, prepares the pipeline (imports python steps, resolves models,
so mistakes surface before anything runs), wires the store and subscribers to a fresh
``RunContext``, executes, and returns a ``RunResult``. ``resume_run`` rebuilds a run from the
store and continues it without repeating finished steps.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid

from ..errors import OrcError, SpecError, UsageError
from ..notify import webhooks_for
from .approvals import PolicyApprover
from .context import RunContext
from .events import Bus
from .executor import Executor
from .result import RunResult


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def coerce_inputs(pipeline, given: dict | None) -> dict:
    """Check given inputs against the declared ones, convert types, apply defaults."""
    given = dict(given or {})
    declared = pipeline.inputs
    out = {}
    for key, value in given.items():
        if declared and key not in declared:
            from .pipeline import suggest
            hint = suggest(key, declared) or "declared: " + ", ".join(declared)
            raise UsageError(f"unknown input '{key}' for pipeline {pipeline.name} ({hint})")
        try:
            out[key] = declared[key].convert(value) if key in declared else value
        except SpecError as e:
            raise UsageError(f"input '{key}': {e.message}") from None
    for key, d in declared.items():
        if key not in out:
            if d.default is not None:
                out[key] = d.default
            elif d.required:
                raise UsageError(f"missing input '{key}' for pipeline {pipeline.name} "
                                 f"(pass -p {key}=VALUE" + (f"; {d.description}" if d.description else "") + ")")
            else:
                out[key] = None
    return out


def prepare(pipeline) -> None:
    """Import python steps, resolve model chains and sub-pipelines; once per pipeline."""
    if pipeline.prepared:
        return
    from .kinds.python import resolve_callable
    from .pipeline import _inlinable, _is_async
    from .routing import resolve_chain
    from ..providers.registry import provider_class, split_model

    if any(s.kind == "python" and sid not in pipeline.callables for sid, s in pipeline.steps.items()):
        _importable_from(pipeline)
    from .kinds import step_cache_on
    for i, (sid, s) in enumerate(pipeline.steps.items()):
        try:
            if s.kind == "python":
                fn = pipeline.callables.get(sid) or resolve_callable(s.action)
                pipeline.callables[sid] = fn
                # cached steps take the task path, where the step cache lives
                s.inline = _inlinable(s, fn) and not step_cache_on(pipeline, s)
                s.direct = (_is_async(fn) and s.check is None and s.timeout is None and s.for_each is None
                            and getattr(s, "while") is None and not step_cache_on(pipeline, s)
                            and not pipeline.defaults.get("timeout"))
            elif s.kind == "prompt" or (s.check is not None and s.check.judge is not None):
                if s.kind == "prompt":
                    for model_id in resolve_chain(pipeline, s.model, s.task):
                        provider_class(split_model(model_id)[0])
                if s.check is not None and s.check.judge is not None:
                    for model_id in resolve_chain(pipeline, s.check.model or s.model, s.check.task or "review"):
                        provider_class(split_model(model_id)[0])
            elif s.kind == "pipeline" and not isinstance(s.action, str):
                prepare(s.action)
        except SpecError as e:
            raise _located(pipeline, e, i, "python" if s.kind == "python" else "model" if s.model else s.kind) from None
    pipeline.prepared = True


def _importable_from(pipeline) -> None:
    """`python: mymodule:fn` finds modules next to the pipeline file and in the working directory."""
    import sys
    dirs = [os.getcwd()]
    if pipeline.source_file and not pipeline.source_file.startswith("<"):
        dirs.insert(0, os.path.dirname(os.path.abspath(pipeline.source_file)))
    for d in dirs:
        if d not in sys.path:
            sys.path.append(d)


def _located(pipeline, e: SpecError, i: int, field: str) -> SpecError:
    if e.file:
        return e
    loc = ("steps", i, field) if not e.loc else ("steps", i) + e.loc
    lines = getattr(pipeline, "lines", None)
    line = lines.near(loc) if lines else None
    return SpecError(e.message, loc=loc, file=pipeline.source_file, line=line, hint=e.hint)


def _store_for(db):
    if db is False:
        return None
    from ..store import Store
    return db if hasattr(db, "connect") else Store(db)


async def run_pipeline(pipeline, inputs: dict | None = None, *, db=None, outdir=".", approval: str | None = None,
                       approver=None, subscribers=(), scope: dict | None = None, source: str = "api",
                       notebook_path: str | None = None, use_cache: bool = True, run_id: str | None = None,
                       sync: str = "now", nb_run_id: str | None = None) -> RunResult:
    """Run ``pipeline`` to the end (succeeded, failed, waiting, budget_exceeded or cancelled).

    db: store path, a Store, or False for no store (and no cache). sync: when the journal is
    merged into DuckDB: "now", "background" (a thread) or "none" (the next reader does it).
    """
    if isinstance(pipeline, (str, os.PathLike, dict)):
        from ..spec.loader import load
        pipeline = load(pipeline, names=list(scope or ()))
    inputs = coerce_inputs(pipeline, inputs)
    prepare(pipeline)
    # `orc notebook` / `orc batch` tell the runs made inside a notebook which notebook run they belong to
    nb_run_id = nb_run_id or os.environ.get("ORC_NB_RUN_ID") or None
    notebook_path = notebook_path or os.environ.get("ORC_NOTEBOOK_PATH") or None
    earlier = _continued_run(pipeline, nb_run_id)
    if earlier is not None:  # `orc notebook --resume`: continue the run the notebook made last time
        return await resume_run(earlier, db=db, approval=approval, approver=approver, subscribers=subscribers,
                                scope=scope, sync=sync, use_cache=use_cache, pipeline=pipeline, finished_ok=True)
    store = _store_for(db)
    policy = approval or os.environ.get("ORC_APPROVAL") or "defer"
    approver = approver or PolicyApprover(policy)
    run_id = run_id or new_run_id()
    ctx = RunContext(pipeline, run_id, inputs, bus=Bus(subscribers), store=store,
                     cache=store.cache if store is not None else None, approver=approver, outdir=outdir,
                     scope=scope, source=source, notebook_path=notebook_path, use_cache=use_cache,
                     approval_policy=approval)
    return await _execute(ctx, store, sync, started_data=lambda: _run_record(ctx, policy, nb_run_id))


_claimed: set[str] = set()


def _continued_run(pipeline, nb_run_id) -> str | None:
    """`orc notebook --resume` executes a notebook again with ORC_RESUME_RUNS, the runs it made last
    time ([{run_id, spec_hash}], in order): a run of an unchanged pipeline continues the first of
    them not yet continued, so finished steps and model calls are not repeated."""
    raw = os.environ.get("ORC_RESUME_RUNS")
    if not raw or not nb_run_id:
        return None
    import json
    spec_hash = pipeline.spec_hash()
    for r in json.loads(raw):
        if r.get("run_id") not in _claimed and r.get("spec_hash") == spec_hash:
            _claimed.add(r["run_id"])
            return r["run_id"]
    return None


def _run_record(ctx, policy, nb_run_id=None) -> dict:
    p = ctx.pipeline
    # "spec": the journal writes its text and hash when it flushes, off the run's critical path
    return {"pipeline": p.name, "inputs": ctx.inputs, "spec": p,
            "source": ctx.source, "notebook_path": ctx.notebook_path, "spec_path": p.source_file,
            "outdir": os.path.abspath(ctx.outdir), "approval_policy": policy,
            "parent_run_id": ctx.parent.run_id if ctx.parent is not None else None, "nb_run_id": nb_run_id,
            "model_override": p.model_override}


async def _execute(ctx: RunContext, store, sync: str, started_data) -> RunResult:
    recorder = None
    if store is not None:
        recorder = store.recorder(ctx.run_id)
        ctx.bus.subscribers.insert(0, recorder)
    ctx.bus.subscribe(webhooks_for(ctx))  # notifications (orchestrator_nb.notify); None when none are set
    if ctx.bus.subscribers:
        ctx.emit("run_started", **(started_data() if callable(started_data) else started_data))
    ex = Executor(ctx)
    cancelled = None
    try:
        status = await ex.run()
    except asyncio.CancelledError as e:
        status, cancelled = "cancelled", e
        ctx.error = ctx.error or "cancelled (interrupted)"
    except BaseException as e:  # a bug or KeyboardInterrupt: record it, then let it propagate
        status, cancelled = ("cancelled" if isinstance(e, KeyboardInterrupt) else "failed"), e
        ctx.error = ctx.error or f"{type(e).__name__}: {e}"
    try:
        await ctx.aclose()
    except BaseException:
        pass  # closing HTTP clients must not hide the run's outcome
    ctx.ended = time.time()
    ctx.emit("run_finished", status=status, error=ctx.error if status != "succeeded" else None,
             cost_usd=ctx.cost_usd, tokens_in=ctx.tokens_in, tokens_out=ctx.tokens_out)
    if recorder is not None:
        recorder.w.close()
        _sync(store, sync)
    result = RunResult(ctx, status)
    if cancelled is not None:
        raise cancelled
    return result


def _sync(store, how: str) -> None:
    if how == "now":
        store.sync()
    elif how == "background":
        import atexit
        import threading
        t = threading.Thread(target=_quiet_sync, args=(store,), name="orc-store-sync", daemon=True)
        t.start()
        # let a merge in progress finish before the interpreter tears down (DuckDB aborts otherwise)
        atexit.register(t.join, 30)


def _quiet_sync(store) -> None:
    try:
        store.sync()
    except Exception:
        pass  # the journal keeps the records; the next reader merges them


def run_pipeline_sync(pipeline, inputs=None, **options) -> RunResult:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_pipeline(pipeline, inputs, **options))
    raise OrcError("an event loop is already running here (Jupyter?): use `await pipeline.arun(...)` "
                   "or the %%orc magic")


async def run_child(parent: RunContext, pipeline, inputs: dict, step_id: str) -> RunResult:
    """A `pipeline:` step: a child run sharing the parent's services and events."""
    inputs = coerce_inputs(pipeline, inputs)
    prepare(pipeline)
    st = parent.states[step_id]
    if isinstance(st.reason, tuple) and st.reason[0] == "child":
        return await resume_run(st.reason[1], db=parent.store or False, approver=parent.approver,
                                parent=parent, sync="none")
    ctx = RunContext(pipeline, new_run_id(), inputs, bus=parent.bus, store=parent.store, cache=parent.cache,
                     approver=parent.approver, outdir=parent.outdir, scope=parent.scope_extra,
                     source=parent.source, notebook_path=parent.notebook_path, parent=parent,
                     use_cache=parent.use_cache, approval_policy=parent.approval_policy)
    ctx.emit("run_started", **_run_record(ctx, parent.approval_policy))
    status = await Executor(ctx).run()
    await ctx.aclose()
    ctx.emit("run_finished", status=status, error=ctx.error, cost_usd=ctx.cost_usd, tokens_in=ctx.tokens_in,
             tokens_out=ctx.tokens_out)
    return RunResult(ctx, status)


async def resume_run(ref: str, *, db=None, approval: str | None = None, approver=None, subscribers=(),
                     scope: dict | None = None, parent: RunContext | None = None, sync: str = "now",
                     use_cache: bool = True, pipeline=None, finished_ok: bool = False) -> RunResult:
    """Continue a failed, waiting or crashed run; finished steps are not run again.
    ``pipeline``: the same pipeline, loaded by the caller (else it is rebuilt from the stored spec);
    ``finished_ok``: a succeeded run gives back its stored result instead of an error."""
    from ..spec.loader import load_text
    from ..store import Store
    from ..store.journal import HOST, pid_alive
    from ..store.queries import resume_state

    store = db if hasattr(db, "connect") else (Store(db) if db is not False else None)
    if store is None:
        raise UsageError("resume needs the store (the run's records)")
    run, rows = resume_state(store, ref)
    run_id, status = run["run_id"], run["status"]
    if status == "succeeded" and not finished_ok:
        raise OrcError(f"run {run_id} already succeeded; nothing to resume")
    if status == "running" and run.get("host") == HOST and run.get("pid") and run["pid"] != os.getpid() \
            and pid_alive(run["pid"]):
        raise OrcError(f"run {run_id} is still running (pid {run['pid']}); wait for it or stop it first")
    spec_path = run.get("spec_path")
    file = spec_path if spec_path and not spec_path.startswith("<") else f"<run {run_id}>"
    if pipeline is None:
        pipeline = load_text(run["spec_yaml"], file=file, names=None)
    if run.get("model_override"):  # the run was started with --model: keep using it
        pipeline.model_override = run["model_override"]
    prepare(pipeline)
    policy = approval or run.get("approval_policy") or os.environ.get("ORC_APPROVAL") or "defer"
    approver = approver or (parent.approver if parent else PolicyApprover(policy))
    bus = parent.bus if parent is not None else Bus(subscribers)
    ctx = RunContext(pipeline, run_id, run.get("inputs") or {}, bus=bus, store=store, cache=store.cache,
                     approver=approver, outdir=run.get("outdir") or ".", scope=scope, source=run.get("source") or "api",
                     notebook_path=run.get("notebook_path"), parent=parent, use_cache=use_cache,
                     approval_policy=approval or run.get("approval_policy"))
    restore(ctx, rows)
    for sid, (tin, tout, cost) in (run.get("usage") or {}).items():  # earlier spending still counts
        if sid in ctx.states:
            ctx.states[sid].usage = [tin, tout, cost]
        ctx.cost_usd += cost
        ctx.tokens_in += tin
        ctx.tokens_out += tout
    record = {"pipeline": pipeline.name, "resumed": True, "approval_policy": policy}
    if parent is not None:
        ctx.emit("run_started", **record)
        st = await Executor(ctx).run()
        await ctx.aclose()
        ctx.emit("run_finished", status=st, error=ctx.error, cost_usd=ctx.cost_usd, tokens_in=ctx.tokens_in,
                 tokens_out=ctx.tokens_out)
        return RunResult(ctx, st)
    return await _execute(ctx, store, sync, started_data=record)


def restore(ctx: RunContext, rows: list[dict]) -> None:
    """Put finished work back into a fresh context (outputs of succeeded steps and items)."""
    by_step: dict[str, list[dict]] = {}
    for r in rows:
        by_step.setdefault(r["step_id"], []).append(r)
    for sid, srows in by_step.items():
        if sid not in ctx.states:
            continue
        st = ctx.states[sid]
        step = ctx.pipeline.steps[sid]
        whole = [r for r in srows if r["item_index"] == -1]
        if whole:
            last = max(whole, key=lambda r: r["attempt"])
            top = last["attempt"]
            if last["status"] == "succeeded":
                ctx.set_result(sid, "succeeded", last["output"])
                st.attempt, st.model, st.cached = top, last.get("model"), bool(last.get("cached"))
                continue
            if last["status"] == "waiting":
                st.base_attempt[-1] = top - 1  # ask the same round again
                st.rounds = top - 1
                out = last.get("output")
                if step.kind == "pipeline" and isinstance(out, dict) and out.get("run_id"):
                    st.reason = ("child", out["run_id"])
            else:
                st.base_attempt[-1] = top
            st.attempt = st.base_attempt[-1]
        items: dict[int, object] = {}
        for r in srows:
            i = r["item_index"]
            if i < 0:
                continue
            if r["status"] == "succeeded":
                items[i] = r["output"]
            st.base_attempt[i] = max(st.base_attempt.get(i, 0), r["attempt"])
        if items:
            st.items = items
