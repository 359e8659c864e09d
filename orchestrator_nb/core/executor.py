"""The async DAG executor.

Scheduling follows ``graphlib.TopologicalSorter``'s protocol (``core.schedule``): ``get_ready()``
gives steps whose dependencies are done, ``done()`` releases their dependents. Plain synchronous python steps run inline (no
task, no thread: they would block the loop anyway); everything else is an asyncio task.
The executor knows nothing of storage or display: it changes ``RunContext`` state and emits
events.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque

from ..errors import (ApprovalRejected, BudgetExceeded, CheckFailed, OrcError, SpecError, StepFailed)
from . import kinds
from .context import RunContext
from .serialize import to_jsonable


# kinds whose work waits on the loop (model calls, people, sub-runs) rather than blocking it;
# `step_started` says so, so the journal need not write earlier records before they start
_AWAITING = frozenset({"prompt", "approval", "pipeline"})


class Deferred(Exception):
    """An approval is pending and the policy says to wait: the step ends `waiting`."""


class Executor:
    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.tasks: dict[asyncio.Task, str] = {}
        # finished step tasks, queued by their done-callback: O(1) per step, where asyncio.wait
        # would re-register a callback on every pending task each time one finishes
        self._finished: deque[asyncio.Task] = deque()
        self._wake: asyncio.Future | None = None
        self.callables = ctx.pipeline.callables

    def resolved(self, step):
        """The function of a python step (resolved once per pipeline by ``runner.prepare``)."""
        return self.callables[step.id]

    # the scheduler ---------------------------------------------------------------------------
    async def run(self) -> str:
        ctx = self.ctx
        sorter = ctx.pipeline.plan.start()
        tasks = self.tasks
        try:
            while sorter.is_active():
                progressed = False
                for sid in sorter.get_ready():
                    task = self._start(sid)
                    if task is None:
                        sorter.done(sid)
                        progressed = True
                    else:
                        tasks[task] = sid
                if progressed:
                    continue  # inline steps may have made more steps ready
                if not tasks:  # pragma: no cover - the graph is validated acyclic
                    break
                if not self._finished:
                    self._wake = asyncio.get_running_loop().create_future()
                    try:
                        await self._wake
                    finally:
                        self._wake = None
                while self._finished:
                    t = self._finished.popleft()
                    sid = tasks.pop(t)
                    self._collect(t)
                    sorter.done(sid)
        except asyncio.CancelledError:
            ctx.stop_reason = ctx.stop_reason or "cancelled"
            await self._cancel_all()
            raise
        return self.final_status()

    def final_status(self) -> str:
        ctx = self.ctx
        if ctx.stop_reason:
            return ctx.stop_reason
        states = ctx.states.values()
        if any(s.status == "waiting" for s in states):
            return "waiting"
        return "succeeded"

    async def _cancel_all(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks)
            for t in self.tasks:
                self._collect(t)
        self.tasks.clear()
        self._finished.clear()

    def _stop(self, reason: str, error: str | None) -> None:
        ctx = self.ctx
        if ctx.stop_reason is None:
            ctx.stop_reason, ctx.error = reason, error
        if reason in ("budget_exceeded", "cancelled"):
            for t in self.tasks:
                t.cancel()

    def _collect(self, task: asyncio.Task) -> None:
        """A step task ended: turn its exception into state (it has emitted its own events)."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        sid = task.get_name()
        step = self.ctx.pipeline.steps[sid]
        if isinstance(exc, BudgetExceeded):
            self._stop("budget_exceeded", str(exc))
        elif step.on_error == "fail":
            self._stop("failed", str(exc) if isinstance(exc, OrcError) else f"step '{sid}': {_describe(exc)}")

    def _start(self, sid: str):
        """Start a ready step: returns a task, or None when it finished (or was skipped) at once."""
        ctx = self.ctx
        st = ctx.states[sid]
        if st.status in ("succeeded", "skipped"):       # restored by resume
            return None
        step = ctx.pipeline.steps[sid]
        if ctx.stop_reason:
            st.reason = "run stopped"
            return None
        blocked = skip_reason = None
        for dep in step.deps:
            ds = ctx.states[dep].status
            if ds in ("waiting", "pending", "running", "cancelled"):
                blocked = dep
            elif ds == "failed":
                skip_reason = f"upstream step '{dep}' failed"
            elif ds == "skipped" and step.when is None:
                skip_reason = skip_reason or f"upstream step '{dep}' was skipped"
        if blocked:
            st.reason = f"waiting for '{blocked}'"
            return None
        if skip_reason:
            self._skip(sid, skip_reason)
            return None
        if step.when is not None:
            try:
                ok = step.when.render(ctx.scope)
            except Exception as e:
                self._fail_now(sid, f"when: {_describe(e)}")
                return None
            if not _truthy(ok):
                self._skip(sid, "condition is false")
                return None
        if step.inline:
            err = self._run_inline(sid, step, st)
            if err is None:
                return None
            return self._spawn(sid, self._run_step(step, st, first=err))
        if step.direct:
            return self._spawn(sid, self._run_direct(sid, step, st))
        return self._spawn(sid, self._run_step(step, st))

    def _spawn(self, sid: str, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=sid)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._finished.append(task)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _skip(self, sid: str, reason: str) -> None:
        ctx = self.ctx
        ctx.set_result(sid, "skipped")
        ctx.states[sid].reason = reason
        now = time.time()
        ctx.emit("step_finished", sid, -1, 1, status="skipped", output=None, error=reason,
                 started=now, cached=False, model=None)

    def _fail_now(self, sid: str, error: str) -> None:
        ctx = self.ctx
        ctx.set_result(sid, "failed", error=error)
        ctx.emit("step_finished", sid, -1, 1, status="failed", output=None, error=error,
                 started=time.time(), cached=False, model=None)
        if ctx.pipeline.steps[sid].on_error == "fail":
            self._stop("failed", f"step '{sid}': {error}")

    # inline fast path ------------------------------------------------------------------------
    def _run_inline(self, sid, step, st):
        """First attempt of a plain sync python step, right here. Returns None when finished,
        else the (exception, feedback) the task path should continue from."""
        ctx = self.ctx
        attempt = st.base_attempt.get(-1, 0) + 1 if st.base_attempt else 1
        st.status, st.attempt = "running", attempt
        started = time.time()
        ctx.emit("step_started", sid, -1, attempt)
        try:
            params = kinds.render_params(step, ctx.scope) if step.params else {}
            output = self.callables[sid](**params)
        except Exception as e:
            self._attempt_failed(sid, -1, attempt, started, e)
            return (e, None, attempt, started)
        if step.check is None:
            self._succeed(sid, -1, attempt, started, output)
            return None
        return (None, output, attempt, started)  # let the task path run the check

    async def _run_direct(self, sid, step, st):
        """A plain async python step (no check, cache, timeout or fan-out): awaited right here,
        without the general path's layers. A failure continues on the general path (retries)."""
        ctx = self.ctx
        attempt = st.base_attempt.get(-1, 0) + 1 if st.base_attempt else 1
        st.status, st.attempt = "running", attempt
        started = time.time()
        ctx.emit("step_started", sid, -1, attempt, awaits=True)
        try:
            output = await self.callables[sid](**(kinds.render_params(step, ctx.scope) if step.params else {}))
        except asyncio.CancelledError:
            self._finish(sid, -1, attempt, started, "cancelled", None, "cancelled")
            ctx.set_result(sid, "cancelled", error="cancelled")
            raise
        except Exception as e:
            self._attempt_failed(sid, -1, attempt, started, e)
            await self._run_item(step, ctx.scope, -1, first=(e, None, attempt, started))
            return
        self._succeed(sid, -1, attempt, started, output)

    # a whole step ----------------------------------------------------------------------------
    async def _run_step(self, step, st, first=None):
        ctx = self.ctx
        sid = step.id
        st.status = "running"
        if getattr(step, "while") is not None:
            return await self._run_while(step, st)
        if step.for_each is None:
            try:
                await self._run_item(step, ctx.scope, -1, first=first)
            except Deferred:
                pass
            return
        started = time.time()
        try:
            items = step.for_each.render(ctx.scope) if hasattr(step.for_each, "render") else step.for_each
        except Exception as e:
            self._fail_now(sid, f"for_each: {_describe(e)}")
            raise StepFailed(sid, f"for_each: {_describe(e)}") from None
        if isinstance(items, dict):
            items = list(items.items())
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            msg = f"for_each must give a list, got {type(items).__name__}"
            self._fail_now(sid, msg)
            raise StepFailed(sid, msg)
        items = list(items)
        ctx.emit("step_started", sid, -1, 1, items=len(items))
        done = st.items or {}
        results = [done.get(i) for i in range(len(items))]
        sem = asyncio.Semaphore(step.max_parallel or max(1, len(items)))

        async def one(i, item):
            async with sem:
                scope = dict(ctx.scope)
                scope["item"], scope["index"] = item, i
                results[i] = await self._run_item(step, scope, i)

        pending = [asyncio.ensure_future(one(i, x)) for i, x in enumerate(items) if i not in done]
        try:
            if pending:
                finished, rest = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                failures = [t for t in finished if not t.cancelled() and t.exception() is not None]
                if failures:
                    for t in rest:
                        t.cancel()
                    if rest:
                        await asyncio.wait(rest)
                    exc = failures[0].exception()
                    if isinstance(exc, Deferred):
                        raise exc
                    msg = _describe(exc)
                    self._finish(sid, -1, 1, started, "failed", None, msg)
                    ctx.set_result(sid, "failed", error=msg)
                    raise exc
        except asyncio.CancelledError:
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)
            self._finish(sid, -1, 1, started, "cancelled", None, "cancelled")
            ctx.set_result(sid, "cancelled", error="cancelled")
            raise
        except Deferred:
            return
        self._succeed(sid, -1, 1, started, results)

    async def _run_while(self, step, st) -> None:
        """A `while` step: run again while its condition holds (checked before each iteration,
        with `iteration` and `previous` in scope), at most `max_iterations` times. Iterations are
        recorded as items, so a resumed run does not repeat them; the output is their list."""
        from .pipeline import MAX_ITERATIONS
        ctx, sid = self.ctx, step.id
        started = time.time()
        cond, done, outputs = getattr(step, "while"), st.items or {}, []

        def fail(msg):
            self._finish(sid, -1, 1, started, "failed", None, msg)
            ctx.set_result(sid, "failed", error=msg)
            return StepFailed(sid, msg)

        try:
            cap = step.max_iterations
            cap = MAX_ITERATIONS if cap is None else int(cap.render(ctx.scope) if hasattr(cap, "render") else cap)
        except Exception as e:
            raise fail(f"max_iterations: {_describe(e)}") from None
        ctx.emit("step_started", sid, -1, 1)
        try:
            for i in range(cap):
                scope = dict(ctx.scope)
                scope["iteration"], scope["previous"], scope["index"] = i, (outputs[-1] if outputs else None), i
                if i in done:
                    outputs.append(done[i])
                    continue
                try:
                    go = cond.render(scope) if hasattr(cond, "render") else cond
                except Exception as e:
                    raise fail(f"while: {_describe(e)}") from None
                if not _truthy(go):
                    break
                try:
                    outputs.append(await self._run_item(step, scope, i))
                except (Deferred, asyncio.CancelledError):
                    raise
                except Exception as e:
                    fail(_describe(e))  # recorded; the exception itself tells the scheduler why
                    raise
        except asyncio.CancelledError:
            self._finish(sid, -1, 1, started, "cancelled", None, "cancelled")
            ctx.set_result(sid, "cancelled", error="cancelled")
            raise
        except Deferred:
            return
        self._succeed(sid, -1, 1, started, outputs)

    # one item (or the whole step when there is no fan-out) -----------------------------------
    async def _run_item(self, step, scope, item: int, first=None):
        """Attempts with retry, timeout and check. Returns the output or raises StepFailed."""
        ctx = self.ctx
        sid = step.id
        retry = step.retry or ctx.pipeline.default_retry
        check = step.check
        errors = check_fails = 0
        st = ctx.states[sid]
        attempt = st.base_attempt.get(item, 0) if st.base_attempt else 0
        feedback = None
        pending_output = None
        if first is not None:
            exc, pending_output, attempt, started = first
            if exc is not None:
                errors = 1
                if not (retry.retries(exc) and errors < retry.attempts):
                    return self._give_up(sid, item, exc)
                await self._backoff(sid, item, attempt, retry, exc)
        while True:
            if pending_output is None:
                attempt += 1
                started = time.time()
                st.attempt, st.cached = attempt, False
                ctx.emit("step_started", sid, item, attempt, awaits=step.kind in _AWAITING)
                try:
                    coro = kinds.run(self, step, scope, item, attempt, feedback)
                    timeout = step.timeout or ctx.pipeline.defaults.get("timeout")
                    output = await (asyncio.wait_for(coro, timeout) if timeout else coro)
                    attempt = max(attempt, st.attempt)  # approvals count their own rounds
                except asyncio.CancelledError:
                    self._finish(sid, item, attempt, started, "cancelled", None, "cancelled")
                    if item < 0:
                        ctx.set_result(sid, "cancelled", error="cancelled")
                    raise
                except Deferred:
                    raise
                except (BudgetExceeded, ApprovalRejected, SpecError) as e:
                    self._attempt_failed(sid, item, attempt, started, e)
                    if item < 0:
                        ctx.set_result(sid, "failed", error=_describe(e))
                    raise
                except Exception as e:
                    if isinstance(e, asyncio.TimeoutError) or isinstance(e, TimeoutError):
                        e = TimeoutError(f"timed out after {timeout:g} s")
                    self._attempt_failed(sid, item, attempt, started, e)
                    errors += 1
                    if retry.retries(e) and errors < retry.attempts:
                        await self._backoff(sid, item, attempt + 1, retry, e)
                        continue
                    return self._give_up(sid, item, e)
            else:
                output, pending_output = pending_output, None
            if check is not None:
                try:
                    problem = await kinds.run_check(self, step, check, scope, output)
                except BudgetExceeded as e:
                    self._attempt_failed(sid, item, attempt, started, e)
                    raise
                except Exception as e:
                    problem = f"check could not run: {_describe(e)}"
                if problem:
                    check_fails += 1
                    msg = f"check failed: {problem}"
                    self._finish(sid, item, attempt, started, "failed", to_jsonable(output), msg)
                    ctx.emit("check_failed", sid, item, attempt, message=problem)
                    if check_fails >= check.max_attempts:
                        return self._give_up(sid, item, CheckFailed(
                            f"check failed {check_fails} time(s), last: {problem}"))
                    feedback = kinds.Feedback(previous=output, message=problem, kind="check")
                    continue
            self._succeed(sid, item, attempt, started, output)
            return output

    async def _backoff(self, sid, item, next_attempt, retry, exc) -> None:
        delay = retry.delay_before(next_attempt)
        self.ctx.emit("step_retry", sid, item, next_attempt, error=_describe(exc), delay=delay)
        if delay:
            await asyncio.sleep(delay)

    def _give_up(self, sid, item, exc):
        msg = _describe(exc)
        if item < 0:
            self.ctx.set_result(sid, "failed", error=msg)
        raise StepFailed(sid, msg) from (exc if isinstance(exc, BaseException) else None)

    def _attempt_failed(self, sid, item, attempt, started, exc) -> None:
        self._finish(sid, item, attempt, started, "failed", None, _describe(exc))

    def _succeed(self, sid, item, attempt, started, output) -> None:
        ctx = self.ctx
        if item < 0:
            ctx.set_result(sid, "succeeded", output)
        self._finish(sid, item, attempt, started, "succeeded", output, None)

    def _finish(self, sid, item, attempt, started, status, output, error) -> None:
        ctx = self.ctx
        st = ctx.states[sid]
        if item < 0:
            st.started = st.started or started
            st.ended = time.time()
        if ctx.bus.subscribers:
            ctx.emit("step_finished", sid, item, attempt, status=status, output=output, error=error,
                     started=started, cached=st.cached, model=st.model)

    # approvals: regenerate upstream work with a reviewer's comment ----------------------------
    async def revise(self, target: str, approval_sid: str, comment: str) -> None:
        """Run ``target`` again with the comment as feedback, then every step between it and
        the approval, so the reviewer sees the new version."""
        ctx = self.ctx
        pipeline = ctx.pipeline
        between = _between(pipeline, target, approval_sid)
        step = pipeline.steps[target]
        feedback = kinds.Feedback(previous=ctx.outputs.get(target), message=comment, kind="review")
        output = await self._rerun(step, feedback)
        ctx.set_result(target, "succeeded", output)
        for sid in pipeline.order:
            if sid in between:
                s = pipeline.steps[sid]
                ctx.set_result(sid, "succeeded", await self._rerun(s, None))

    async def _rerun(self, step, feedback):
        ctx = self.ctx
        st = ctx.states[step.id]
        attempt = st.attempt + 1
        st.attempt, st.cached = attempt, False
        started = time.time()
        ctx.emit("step_started", step.id, -1, attempt)
        try:
            output = await kinds.run(self, step, ctx.scope, -1, attempt, feedback, use_cache=False)
        except Exception as e:
            self._attempt_failed(step.id, -1, attempt, started, e)
            raise StepFailed(step.id, f"revision failed: {_describe(e)}") from e
        self._finish(step.id, -1, attempt, started, "succeeded", output, None)
        return output


def _between(pipeline, start: str, end: str) -> set[str]:
    """Steps that depend (transitively) on ``start`` and that ``end`` depends on."""
    down, stack = set(), [start]
    children: dict[str, list[str]] = {}
    for sid, deps in pipeline.graph.items():
        for d in deps:
            children.setdefault(d, []).append(sid)
    while stack:
        for c in children.get(stack.pop(), ()):
            if c not in down:
                down.add(c)
                stack.append(c)
    up, stack = set(), [end]
    while stack:
        for d in pipeline.graph.get(stack.pop(), ()):
            if d not in up:
                up.add(d)
                stack.append(d)
    return (down & up) - {start, end}


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0", "none", "off")
    return bool(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StepFailed):
        return str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
    if isinstance(exc, OrcError):
        return str(exc)
    text = str(exc).strip().split("\n", 1)[0]  # one line (DuckDB appends a caret diagram)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
