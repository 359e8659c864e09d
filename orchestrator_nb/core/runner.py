"""A run from start to end: the one lifecycle every run, child run and resumed run goes through.

``prepare`` readies a pipeline once (imports python steps, loads sub-pipelines, checks models
through the caller's services) so mistakes surface before anything runs. ``lifecycle`` announces
the run, executes it, closes its clients and announces how it ended. ``restore`` puts a stored
run's finished work back into a fresh context so a resume repeats nothing. Wiring the store and
the model gateway is the api layer's job (``orchestrator_nb.api.runner``).
"""
from __future__ import annotations

import asyncio
import os
import time

from ..errors import SpecError, UsageError
from .callables import is_async, resolve_callable
from .context import RunContext
from .executor import Executor
from .kinds.code import awaits as code_awaits
from .result import RunResult
from .stepcache import cache_on

RUN_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


_issued: set[str] = set()  # ids new_run_id gave this process and no run has taken yet


def new_run_id() -> str:
    run_id = os.urandom(6).hex()  # 12 random hex digits, as uuid4().hex[:12] gave (without importing uuid)
    _issued.add(run_id)
    return run_id


def issued(run_id: str) -> bool:
    """Whether ``run_id`` came from new_run_id here (so no stored run has it); true once."""
    try:
        _issued.remove(run_id)
        return True
    except KeyError:
        return False


def check_run_id(run_id: str) -> str:
    """A caller's own run id: letters, digits, '_' and '-' (it names journal files and store rows)."""
    if not isinstance(run_id, str) or not 1 <= len(run_id) <= 64 or not set(run_id) <= RUN_ID_CHARS \
            or run_id.startswith("-"):
        raise UsageError(f"invalid run id {run_id!r} (use 1-64 letters, digits, '_' and '-', not starting with '-')")
    return run_id


def prepare(pipeline, check_model=None, isolate: bool = False) -> None:
    """Import python steps, load sub-pipelines given by path, check models; once per pipeline.

    ``check_model(pipeline, step)`` comes from the caller's services (providers live above the
    core); without it models are checked when first called. Steps that run isolated (``isolate``:
    all of them) are not imported here: their child process imports them, confined."""
    if pipeline.prepared == ("isolated" if isolate else True):
        return
    if any((s.kind == "python" and sid not in pipeline.callables) or s.tools or s.kind == "call"
           for sid, s in pipeline.steps.items()):  # (tools may be module:function too)
        _importable_from(pipeline)
    defaults = pipeline.defaults
    isolated_default = defaults.get("isolation") not in (None, "none")
    cached_default = bool(defaults.get("cache", False))
    callables = pipeline.callables
    for i, (sid, s) in enumerate(pipeline.steps.items()):
        try:
            if s.kind == "python" and (isolate or (isolated_default if s.isolation is None
                                                   else s.isolation != "none")):
                if not callable(s.action):
                    callables[sid] = s.action  # the child imports it
                s.inline = s.direct = False
            elif s.kind == "python":
                fn = callables.get(sid)
                if not callable(fn):
                    fn = resolve_callable(s.action)
                callables[sid] = fn
                # plain ones run on a fast path; cached steps take the task path, where the cache lives
                plain = s.check is None and s.timeout is None and s.for_each is None and getattr(s, "while") is None \
                    and not (cached_default if s.cache is None else s.cache)
                if is_async(fn):
                    s.inline, s.direct = False, plain and not defaults.get("timeout")
                else:
                    s.inline, s.direct = plain and not s.thread, False
            elif s.kind == "code":  # code without `await` runs inline too, like a sync python step
                s.inline = inlinable(s, None) and not code_awaits(s.action) and s.check is None \
                    and not cache_on(pipeline, s) and not (isolate or _isolated_setting(pipeline, s))
            elif s.kind == "pipeline":
                if isinstance(s.action, str):  # given by path in Python (YAML files load them already)
                    from .loader import load  # PyYAML only for this rare case
                    s.action = load(s.action)
                prepare(s.action, check_model, isolate)
            if check_model is not None and (s.kind == "prompt" or (s.check is not None and s.check.judge is not None)):
                check_model(pipeline, s)
            if isolate:
                _no_code_in_parent(s, i, pipeline)
        except SpecError as e:
            raise _located(pipeline, e, i, "python" if s.kind == "python" else "model" if s.model else s.kind) from None
    pipeline.prepared = "isolated" if isolate else True


def _isolated_setting(pipeline, s) -> bool:
    setting = s.isolation if s.isolation is not None else pipeline.defaults.get("isolation")
    return setting not in (None, "none")


def _no_code_in_parent(s, i, pipeline) -> None:
    """Under isolation nothing of the pipeline's own code may run in this process."""
    if s.check is not None and isinstance(s.check.python, str):
        raise SpecError("a `check: {python: ...}` would run the pipeline's code outside isolation",
                        loc=("check", "python"), hint="use `expr:` or `judge:`, or run without --isolate")
    if isinstance(s.output, str) and ":" in s.output:
        raise SpecError("`output: module:Model` would import the pipeline's code outside isolation",
                        loc=("output",), hint="give the JSON Schema as {schema: ...}, or run without --isolate")


def inlinable(s, fn) -> bool:
    """Plain sync python steps run inline in the scheduler (no task): same blocking, less cost."""
    return ((fn is None or not is_async(fn)) and not s.thread and s.timeout is None and s.for_each is None
            and getattr(s, "while") is None)


def _is_file(path) -> bool:
    return bool(path) and not str(path).startswith("<")


def _importable_from(pipeline) -> None:
    """`python: mymodule:fn` finds modules next to the pipeline file and in the working directory."""
    import sys
    dirs = [os.getcwd()]
    if _is_file(pipeline.source_file):
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


def run_record(run: RunContext, policy: str | None, **extra) -> dict:
    """What `run_started` says about a new run (the store keeps it)."""
    p = run.pipeline
    # "spec": the journal writes its text and hash when it flushes, off the run's critical path
    return {"pipeline": p.name, "inputs": run.inputs, "spec": p, "source": run.source,
            "notebook_path": run.notebook_path, "spec_path": p.source_file,
            "outdir": os.path.abspath(run.outdir), "approval_policy": policy,
            "parent_run_id": run.parent.run_id if run.parent is not None else None,
            "model_override": p.model_override, **extra}


async def lifecycle(run: RunContext, record) -> RunResult:
    """Announce, execute, close, announce the end. ``record``: the `run_started` data (or a
    function giving it). Cancellation and crashes are recorded, then raised again."""
    run.child_runner = run_child
    if run.bus.subscribers:  # announced with the run's first steps (a burst's once all of them wait): its
        # record holds the pipeline's text, a millisecond to write for a big pipeline built in Python
        run.bus.hold("run_started", run.run_id, data=record() if callable(record) else record)
    raised = None
    try:
        status = await Executor(run).execute()
    except asyncio.CancelledError as e:
        status, raised = "cancelled", e
        run.error = run.error or "cancelled (interrupted)"
    except KeyboardInterrupt:  # Ctrl-C in a step that holds the loop (an inline one included)
        # raised again as a cancellation: a KeyboardInterrupt out of a task stops the event loop
        # itself (in Jupyter, the kernel); the blocking API turns it back into KeyboardInterrupt
        status, raised = "cancelled", asyncio.CancelledError()
        run.error = run.error or "cancelled (interrupted)"
    except BaseException as e:  # a bug: record it, then let it propagate
        status, raised = "failed", e
        run.error = run.error or f"{type(e).__name__}: {e}"
    try:
        await run.aclose()
    except BaseException:
        pass  # closing HTTP clients must not hide the run's outcome
    run.ended = time.time()
    run.emit("run_finished", status=status, error=run.error if status != "succeeded" else None,
             cost_usd=run.cost_usd, tokens_in=run.tokens_in, tokens_out=run.tokens_out)
    result = RunResult(run, status)
    if raised is not None:
        raise raised
    return result


async def run_child(parent: RunContext, pipeline, inputs: dict, step_id: str) -> RunResult:
    """A `pipeline:` step: a child run sharing the parent's services and events (continued, not
    started again, when the parent is a resumed run whose child was waiting)."""
    inputs = coerce_inputs(pipeline, inputs)
    prepare(pipeline, parent.services.check_model, parent.isolate)
    st = parent.states[step_id]
    common = dict(services=parent.services, bus=parent.bus, outdir=parent.outdir, scope=parent.scope_extra,
                  source=parent.source, notebook_path=parent.notebook_path, parent=parent,
                  use_cache=parent.use_cache, approval_policy=parent.approval_policy, isolate=parent.isolate)
    if isinstance(st.reason, tuple) and st.reason[0] == "child" and parent.store is not None:
        stored, rows = parent.store.load_run(st.reason[1])
        run = RunContext(pipeline, stored["run_id"], stored.get("inputs") or {}, **common)
        restore(run, rows, stored.get("usage"))
        return await lifecycle(run, {"pipeline": pipeline.name, "resumed": True,
                                     "approval_policy": parent.approval_policy})
    run = RunContext(pipeline, new_run_id(), inputs, **common)
    return await lifecycle(run, lambda: run_record(run, parent.approval_policy))


def _is_mapping(value) -> bool:
    from collections.abc import Mapping
    return isinstance(value, Mapping)


def coerce_inputs(pipeline, given: dict | None) -> dict:
    """Check given inputs against the declared ones, convert types, apply defaults."""
    if given is not None and type(given) is not dict and not _is_mapping(given):
        raise UsageError(f"inputs must be a mapping of input names to values (a dict), not {type(given).__name__}")
    if not given and not pipeline.inputs:
        return {}
    from ..errors import suggest
    given = dict(given or {})
    declared = pipeline.inputs
    out = {}
    for key, value in given.items():
        if declared and key not in declared:
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


def restore(run: RunContext, rows: list[dict], usage: dict | None = None) -> None:
    """Put finished work back into a fresh context (outputs of succeeded steps and items), and
    the spending of earlier attempts (it still counts against the budget)."""
    by_step: dict[str, list[dict]] = {}
    for r in rows:
        by_step.setdefault(r["step_id"], []).append(r)
    for sid, srows in by_step.items():
        if sid not in run.states:
            continue
        st = run.states[sid]
        step = run.pipeline.steps[sid]
        whole = [r for r in srows if r["item_index"] == -1]
        if whole:
            last = max(whole, key=lambda r: r["attempt"])
            top = last["attempt"]
            if last["status"] == "succeeded":
                run.set_result(sid, "succeeded", last["output"])
                st.attempt, st.model, st.cached = top, last.get("model"), bool(last.get("cached"))
                for r in srows:  # a revision of a for_each step numbers each item's next try after these
                    if r["item_index"] >= 0:
                        st.set_base_attempt(r["item_index"], max(st.base_attempt.get(r["item_index"], 0), r["attempt"]))
                continue
            if last["status"] == "waiting":
                st.set_base_attempt(-1, top - 1)  # ask the same round again
                st.rounds = top - 1
                out = last.get("output")
                if step.kind == "pipeline" and isinstance(out, dict) and out.get("run_id"):
                    st.reason = ("child", out["run_id"])
                if step.kind == "approval" and isinstance(out, dict):
                    st.asked = out.get("asked_at")  # a gate's timeout counts from its first asking
                if isinstance(out, dict) and "tool" in out:  # a tool call's approval: go on from the saved turn
                    st.rounds = int(out.get("round") or 1) - 1
                    st.save(-1, out)
            else:
                st.set_base_attempt(-1, top)
            st.attempt = st.base_attempt[-1]
        items: dict[int, object] = {}
        for r in srows:
            i = r["item_index"]
            if i < 0:
                continue
            if r["status"] == "succeeded":
                items[i] = r["output"]
            elif r["status"] == "waiting" and isinstance(r["output"], dict) and "tool" in r["output"]:
                st.save(i, r["output"])
                st.rounds = max(st.rounds, int(r["output"].get("round") or 0))
            st.set_base_attempt(i, max(st.base_attempt.get(i, 0), r["attempt"]))
        if items:
            st.items = items
    for sid, (tin, tout, cost) in (usage or {}).items():
        if sid in run.states:
            run.states[sid].usage = (tin, tout, cost)
        run.cost_usd += cost
        run.tokens_in += tin
        run.tokens_out += tout
