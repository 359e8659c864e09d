"""The async DAG executor.

Scheduling follows ``graphlib.TopologicalSorter``'s protocol (``core.schedule``): ``get_ready()``
gives steps whose dependencies are done, ``done()`` releases their dependents. Plain synchronous
python steps run inline (no task, no thread: they would block the loop anyway); everything else
is an asyncio task. Every try of a step is an ``Attempt``; the work itself is the step's kind,
called through the one kind contract (``core.kinds``) with a ``StepContext``.
The executor knows nothing of storage or display: it changes run state and emits events.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import inspect
import time
from collections import deque

from ..errors import ApprovalRejected, BudgetExceeded, CheckFailed, OrcError, SpecError, StepFailed, describe
from . import kinds, stepcache
from .attempt import Attempt
from .checks import failure
from .context import NOTHING
from .stepcontext import Feedback, StepContext, Waiting
from .fastpath import begin as _begin, params_plan, step_params, succeeded as _succeeded
from .revisions import Revisions
from .stepdef import MAX_ITERATIONS
from ..spec.templates import render_field

# What a step's own code raises fails the step: any exception, sys.exit() and other BaseExceptions
# too (they must not end the process, take a Jupyter kernel down or leave the step 'running').
# Not these: Ctrl-C and a cancellation stop the run, and GeneratorExit closes a coroutine.
PASSED_ON = (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit)
SYNC_PASSED_ON = (KeyboardInterrupt, asyncio.CancelledError)  # where no coroutine is closed

_NOT_RETRIED = (BudgetExceeded, ApprovalRejected, SpecError)
# Ready steps are started this many at a time: in a fan-out of 200, the first ones are under way
# (waiting on their I/O) while the rest are made, rather than all waiting for the last one's task.
BURST = 16
PAUSE_GC = 0.01  # seconds: the longest garbage collection waits for a burst (see Executor._pause_gc)


class Executor(Revisions):
    def __init__(self, run):
        self.run = run
        self.tasks: dict[asyncio.Task, str] = {}
        # finished step tasks, queued by their done-callback: O(1) per step, where asyncio.wait
        # would re-register a callback on every pending task each time one finishes
        self._finished: deque[asyncio.Task] = deque()
        self._wake: asyncio.Future | None = None
        self._sorter = None  # the run's ready-set (core.schedule), while execute() runs
        self._new_task = None  # what makes a step's task in this run's loop (_task_maker), set by execute()
        self._planned = False  # whether the params of the steps still to come were readied (_under_way)
        self._gc_paused = 0.0  # since when garbage collection waits for a burst of starts (see _pause_gc)
        # what _task_done runs in (it reads no context variables), rather than a copy per task; one
        # per run: a context is entered by one thread at a time
        self._no_vars = contextvars.Context()
        self.callables = run.pipeline.callables

    # the scheduler ---------------------------------------------------------------------------
    async def execute(self) -> str:
        run = self.run
        sorter = self._sorter = run.pipeline.plan.start()
        tasks = self.tasks
        start, ready, done = self._start, sorter.get_ready, sorter.done
        me = asyncio.current_task()
        self._new_task = _task_maker(asyncio.get_running_loop())
        try:
            while sorter.is_active():
                progressed = False
                started = 0
                for sid in ready():
                    task = start(sid)
                    if task is None:
                        done(sid)
                        progressed = True
                    else:
                        tasks[task] = sid
                        started += 1
                        if started % BURST == 0:  # let these begin (their I/O under way) while the rest are made
                            self._pause_gc(started == BURST)
                            await asyncio.sleep(0)
                if progressed or sorter.has_ready():  # (a direct step that ended during the burst)
                    # inline steps may have made more steps ready; but a Ctrl-C (or cancel) that came
                    # while one held the loop waits for our next await: start nothing more meanwhile
                    if me is not None and me.cancelling():
                        raise asyncio.CancelledError()
                    continue
                if not tasks:  # pragma: no cover - the graph is validated acyclic
                    break
                if not self._finished:
                    if self._gc_paused or run.bus.held:
                        asyncio.get_running_loop().call_soon(self._under_way)
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
            run.stop_reason = run.stop_reason or "cancelled"
            await self._cancel_all()
            raise
        finally:
            if self._gc_paused or run.bus.held:
                self._under_way()
        return self.final_status()

    def _pause_gc(self, first: bool) -> None:
        """Garbage collection waits while a burst of steps starts: every object a starting step
        makes lives on while it waits, so a collection in the middle of the burst only scans them,
        on the way to the last step's start; once they all wait, one collection does it. From the
        burst's first chunk until ``_under_way``; not past PAUSE_GC (checked between chunks: steps whose
        code runs long before its first `await`), nor while a step that holds the loop runs."""
        if first and not self._gc_paused and gc.isenabled():
            gc.disable()
            self._gc_paused = time.monotonic()
        elif self._gc_paused and time.monotonic() - self._gc_paused > PAUSE_GC:
            self._resume_gc()

    def _resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = 0.0
            gc.enable()

    def _under_way(self) -> None:
        """A burst of steps has started (called at the loop's next iteration, after their first
        steps): their starts are announced, and garbage collection, paused meanwhile, resumes."""
        self._resume_gc()
        try:
            self.run.bus.release()
        except Exception as e:  # the store cannot record them: the run stops, as when a step's own start fails
            self._stop("failed", str(e) if isinstance(e, OrcError) else describe(e))
        if not self._planned:
            self._plan_ahead()

    def _plan_ahead(self) -> None:
        """While the first steps wait: how the python steps still to come will read their params
        (``fastpath.params_plan``), made now rather than when they start (a join of 200 values:
        50 µs less between the last of them and the join)."""
        self._planned = True
        steps = self.run.pipeline.steps
        for sid, st in self.run.states.items():
            step = steps[sid]
            if st.status == "pending" and step.params and (step.inline or step.direct):
                params_plan(step)

    def final_status(self) -> str:
        run = self.run
        if run.stop_reason:
            return run.stop_reason
        late = []
        for sid, s in run.states.items():  # (one pass: a run's end costs little next to its steps)
            status = s.status
            if status == "waiting":
                return "waiting"
            if status == "failed" and run.pipeline.steps[sid].on_error == "fail_at_end":
                late.append(sid)
        if late:  # the run went on past these failures, as asked; now it reports them
            run.error = run.error or "step" + ("s " if len(late) > 1 else " ") + ", ".join(
                f"'{sid}'" for sid in late) + " failed (on_error: fail_at_end)" + _first_error(run, late)
            return "failed"
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
        run = self.run
        if run.stop_reason is None:
            run.stop_reason, run.error = reason, error
        if reason == "cancelled":
            for t in self.tasks:
                t.cancel()
        # budget_exceeded: nothing new starts; calls in flight were admitted within the budget
        # (providers.budget) and are paid for, so they finish rather than being thrown away

    def _collect(self, task: asyncio.Task) -> None:
        """A step task ended: turn its exception into the run's state (it recorded itself)."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self._failed(task.get_name(), exc)

    def _failed(self, sid: str, exc: BaseException) -> None:
        if isinstance(exc, BudgetExceeded):
            self._stop("budget_exceeded", str(exc))
        elif self.run.pipeline.steps[sid].on_error == "fail":
            self._stop("failed", str(exc) if isinstance(exc, OrcError) else f"step '{sid}': {describe(exc)}")

    def _start(self, sid: str):
        """Start a ready step: returns a task, or None when it finished (or was skipped) at once."""
        run = self.run
        st = run.states[sid]
        if st.status in ("succeeded", "skipped"):       # restored by resume
            return None
        step = run.pipeline.steps[sid]
        if run.stop_reason:
            st.reason = "run stopped"
            return None
        blocked = skip_reason = None
        states = run.states
        for dep in step.deps:
            ds = states[dep].status
            if ds == "succeeded":
                continue
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
            self._settle(sid, "skipped", skip_reason)
            return None
        if step.when is not None:
            try:
                ok = step.when.render(run.scope)
            except Exception as e:
                self._settle(sid, "failed", f"when: {describe(e)}")
                return None
            if not _truthy(ok):
                self._settle(sid, "skipped", "condition is false")
                return None
        if step.inline:
            if self._gc_paused:  # (such a step may run long)
                self._resume_gc()
            first = self._run_inline(sid, step, st)
            if first is None:
                return None
            return self._spawn(sid, self._run_step(step, first))
        if step.direct:
            return self._spawn(sid, self._run_direct(sid, step, st))
        return self._spawn(sid, self._run_step(step))

    def _spawn(self, sid: str, coro) -> asyncio.Task:
        task = self._new_task(coro, name=sid)
        task.add_done_callback(self._task_done, context=self._no_vars)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._finished.append(task)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _settle(self, sid: str, status: str, reason: str) -> None:
        """A step that ends without running: skipped, or failed before its first try."""
        run = self.run
        st = run.states[sid]
        st.status, st.output, st.error = status, None, reason
        if status == "skipped":
            st.reason = reason
        run.emit("step_finished", sid, -1, 1, status=status, output=None, error=reason, started=time.time(),
                 cached=False, model=None)
        if status == "failed" and run.pipeline.steps[sid].on_error == "fail":
            self._stop("failed", f"step '{sid}': {reason}")

    def _first_number(self, st, item: int) -> int:
        return 0 if st.base_attempt is NOTHING else st.base_attempt.get(item, 0)

    # fast paths for plain python steps ---------------------------------------------------------
    def _run_inline(self, sid, step, st):
        """First try of a plain sync python step (or of code without `await`), right here. None
        when it succeeded, else the (attempt number, exception) the task path continues from (retries).

        A python step's try does what ``Attempt`` and ``Attempt.end`` do without making the object
        (it is made only when the try fails), and reads its `{{ steps.<id>.output }}` params
        straight from the run's states (``_params``): the cost of a step in a chain of small ones."""
        run = self.run
        if step.kind != "python":
            return self._run_inline_kind(sid, step, st)
        number, started = _begin(run, sid, st)
        try:
            output = self.callables[sid](**(step_params(step, run.scope) if step.params else {}))
        except KeyboardInterrupt:  # Ctrl-C while it held the loop: the run is cancelled
            Attempt.begun(run, sid, -1, number, started).end("cancelled", None, "cancelled", final=True)
            raise
        except BaseException as e:
            if isinstance(e, SYNC_PASSED_ON):
                raise
            Attempt.begun(run, sid, -1, number, started).end("failed", None, describe(e))
            return number, e
        _succeeded(run, sid, st, number, started, output)
        return None

    def _run_inline_kind(self, sid, step, st):
        """`code` without `await`: its kind, called here instead of in a task."""
        run = self.run
        att = Attempt(run, sid, -1, self._first_number(st, -1) + 1)
        try:
            params = render_field(step.params, run.scope) if step.params else {}
            ctx = StepContext(run, step, run.scope, -1, att.number, None, hooks=self)
            ctx._att = att
            output = kinds.get(step.kind).fn(step.action, params, ctx)
        except KeyboardInterrupt:
            att.end("cancelled", None, "cancelled", final=True)
            raise
        except BaseException as e:
            if isinstance(e, SYNC_PASSED_ON):
                raise
            att.end("failed", None, describe(e))
            return att.number, e
        att.end("succeeded", output, final=True)
        return None

    async def _run_direct(self, sid, step, st):
        """A plain async python step (no check, cache, timeout or fan-out): awaited right here,
        without the general path's layers. A failure continues on the general path (retries).
        Its try's bookkeeping is ``Attempt``'s, done in place as in ``_run_inline``."""
        run = self.run
        number, started = _begin(run, sid, st, hold=True, awaits=True)
        try:
            output = await self.callables[sid](**(step_params(step, run.scope) if step.params else {}))
        except asyncio.CancelledError:
            Attempt.begun(run, sid, -1, number, started).end("cancelled", None, "cancelled", final=True)
            raise
        except BaseException as e:
            if isinstance(e, PASSED_ON):
                raise
            Attempt.begun(run, sid, -1, number, started).end("failed", None, describe(e))
            await self._tries(step, run.scope, -1, first=(number, e))
            return
        _succeeded(run, sid, st, number, started, output)
        self._ended_here(sid)

    def _ended_here(self, sid: str) -> None:
        """A direct step's success, told to the scheduler by its own task rather than through the
        task's done-callback and a turn of the scheduler's task: in a fan-out most ends make nothing
        ready, and now wake nothing (200 parallel steps: 200 turns less, as their ends come in)."""
        task = asyncio.current_task()
        task.remove_done_callback(self._task_done)
        del self.tasks[task]
        sorter = self._sorter
        sorter.done(sid)
        if sorter.has_ready() or not sorter.is_active():
            wake = self._wake
            if wake is not None and not wake.done():
                wake.set_result(None)

    # a whole step ----------------------------------------------------------------------------
    async def _run_step(self, step, first=None):
        if getattr(step, "while") is not None:
            return await self._run_while(step)
        if step.for_each is not None:
            return await self._fan_out(step)
        try:
            await self._tries(step, self.run.scope, -1, first=first)
        except Waiting:
            pass

    async def _fan_out(self, step) -> None:
        """`for_each`: one series of tries per item, in parallel up to `max_parallel`."""
        run, sid = self.run, step.id
        st = run.states[sid]
        try:
            items = render_field(step.for_each, run.scope)
        except Exception as e:
            self._settle(sid, "failed", f"for_each: {describe(e)}")
            raise StepFailed(sid, f"for_each: {describe(e)}") from None
        if isinstance(items, dict):
            items = list(items.items())
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            msg = f"for_each must give a list, got {type(items).__name__}"
            self._settle(sid, "failed", msg)
            raise StepFailed(sid, msg)
        items = list(items)
        whole = Attempt(run, sid, -1, 1, items=len(items))
        done = st.items or {}
        results = [done.get(i) for i in range(len(items))]
        sem = asyncio.Semaphore(step.max_parallel or max(1, len(items)))

        async def one(i, item):
            async with sem:
                scope = dict(run.scope)
                scope["item"], scope["index"] = item, i
                results[i] = await self._tries(step, scope, i)

        pending = [asyncio.ensure_future(one(i, x)) for i, x in enumerate(items) if i not in done]
        try:
            if pending:
                finished, rest = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                failures = [t for t in finished if not t.cancelled() and t.exception() is not None]
                if failures:
                    exc = failures[0].exception()
                    if not isinstance(exc, BudgetExceeded):  # a budget stop lets admitted calls finish
                        for t in rest:
                            t.cancel()
                    if rest:
                        await asyncio.wait(rest)
                        for t in rest:  # retrieved, so no "exception was never retrieved" at garbage collection
                            t.cancelled() or t.exception()
                    if isinstance(exc, Waiting):
                        return  # an item waits: so does the step (its state says so)
                    whole.end("failed", None, describe(exc), final=True)
                    raise exc
        except asyncio.CancelledError:
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)
            whole.end("cancelled", None, "cancelled", final=True)
            raise
        whole.end("succeeded", results, final=True)

    async def _run_while(self, step) -> None:
        """A `while` step: run again while its condition holds (checked before each iteration,
        with `iteration` and `previous` in scope), at most `max_iterations` times. Iterations are
        recorded as items, so a resumed run does not repeat them; the output is their list."""
        run, sid = self.run, step.id
        cond, done, outputs = getattr(step, "while"), run.states[sid].items or {}, []
        try:
            cap = step.max_iterations
            cap = MAX_ITERATIONS if cap is None else int(render_field(cap, run.scope))
        except Exception as e:
            self._settle(sid, "failed", f"max_iterations: {describe(e)}")
            raise StepFailed(sid, f"max_iterations: {describe(e)}") from None
        whole = Attempt(run, sid, -1, 1)
        try:
            for i in range(cap):
                scope = dict(run.scope)
                scope["iteration"], scope["previous"], scope["index"] = i, (outputs[-1] if outputs else None), i
                if i in done:
                    outputs.append(done[i])
                    continue
                try:
                    go = render_field(cond, scope)
                except Exception as e:
                    whole.end("failed", None, f"while: {describe(e)}", final=True)
                    raise StepFailed(sid, f"while: {describe(e)}") from None
                if not _truthy(go):
                    break
                try:
                    outputs.append(await self._tries(step, scope, i))
                except (Waiting, asyncio.CancelledError):
                    raise
                except Exception as e:
                    whole.end("failed", None, describe(e), final=True)
                    raise
        except asyncio.CancelledError:
            whole.end("cancelled", None, "cancelled", final=True)
            raise
        except Waiting:
            return
        whole.end("succeeded", outputs, final=True)

    # the tries of one step or item ----------------------------------------------------------
    async def _tries(self, step, scope, item: int, first=None):
        """Tries with retry, timeout and check. Returns the output, raises StepFailed when it
        gives up, and lets Waiting, cancellation and run-stopping errors through."""
        run, sid = self.run, step.id
        policy = step.retry or run.pipeline.default_retry
        timeout = step.timeout or run.pipeline.defaults.get("timeout")
        kind = kinds.get(step.kind)
        check = step.check
        errors = check_fails = 0
        number = self._first_number(run.states[sid], item)
        feedback = None
        if first is not None:  # the first try already ran (and failed) on a fast path
            number, exc = first
            errors = 1
            if not (policy.retries(exc) and errors < policy.attempts):
                return self._give_up(sid, item, exc)
            await self._backoff(sid, item, number + 1, policy, exc)
        while True:
            number += 1
            ctx = StepContext(run, step, scope, item, number, feedback, hooks=self)
            att = ctx._att = Attempt(run, sid, item, number, awaits=kind.awaits)
            try:
                output = await self._call(kind, step, ctx, timeout)
            except Waiting as w:
                ctx._att.end("waiting", w.output, w.reason, final=True)
                run.states[sid].status = "waiting"  # an item that waits holds its whole step
                raise
            except asyncio.CancelledError:
                ctx._att.end("cancelled", None, "cancelled", final=True)
                raise
            except _NOT_RETRIED as e:
                ctx._att.end("failed", None, describe(e), final=True)
                raise
            except BaseException as e:
                if isinstance(e, PASSED_ON):
                    raise
                if isinstance(e, TimeoutError) and timeout and not str(e):
                    e = TimeoutError(f"timed out after {timeout:g} s")
                ctx._att.end("failed", None, describe(e))
                errors += 1
                number = ctx._att.number
                if policy.retries(e) and errors < policy.attempts:
                    await self._backoff(sid, item, number + 1, policy, e)
                    continue
                return self._give_up(sid, item, e)
            att, number = ctx._att, ctx._att.number  # an approval's rounds advance the attempt
            if check is not None:
                try:
                    problem = await failure(check, ctx, output)
                except BudgetExceeded as e:
                    att.end("failed", None, describe(e), final=True)
                    raise
                except Exception as e:
                    problem = f"check could not run: {describe(e)}"
                if problem:
                    check_fails += 1
                    att.end("failed", output, f"check failed: {problem}")
                    run.emit("check_failed", sid, item, number, message=problem)
                    if check_fails >= check.max_attempts:
                        return self._give_up(sid, item, CheckFailed(
                            f"check {check.name} failed {check_fails} time(s), last: {problem}"))
                    feedback = Feedback(previous=output, message=problem, kind="check")
                    continue
            att.end("succeeded", output, final=True)
            if item >= 0:  # a revision of this for_each step numbers the item's next try after this one
                run.states[sid].set_base_attempt(item, number)
            return output

    async def _call(self, kind, step, ctx, timeout, use_cache: bool = True):
        """One try of the kind: its action and params rendered, the cache and the timeout applied."""
        run = self.run
        if kind.takes == "rendered":
            action = render_field(step.action, ctx.scope)
        elif kind.takes == "function":
            action = self.callables[step.id]
        else:
            action = step.action
        params = render_field(step.params, ctx.scope) if step.params else {}
        if kind.setup is not None:  # outside the timeout: the step's own work has not started yet
            await kind.setup(ctx)
        if kind.cacheable and run.cache is not None and stepcache.cache_on(run.pipeline, step):
            work = stepcache.cached(run, kind, step, action, params, ctx, use_cache)
        else:
            work = kind.fn(action, params, ctx)
            if not inspect.isawaitable(work):
                return work
        if timeout and not kind.own_timeout:
            try:
                return await asyncio.wait_for(work, timeout)
            except TimeoutError:
                raise TimeoutError(f"timed out after {timeout:g} s") from None
        return await work

    async def _backoff(self, sid, item, next_attempt, policy, exc) -> None:
        delay = policy.delay_before(next_attempt)
        self.run.emit("step_retry", sid, item, next_attempt, error=describe(exc), delay=delay)
        if delay:
            await asyncio.sleep(delay)

    def _give_up(self, sid, item, exc):
        msg = describe(exc)
        if item < 0:
            st = self.run.states[sid]
            st.status, st.output, st.error = "failed", None, msg
        raise StepFailed(sid, msg) from (exc if isinstance(exc, BaseException) else None)


def _task_maker(loop):
    """``loop.create_task``, or when the loop is asyncio's own with no task factory what it would
    do, without its checks (a step's start in a fan-out: ~0.5 µs of its ~5)."""
    if type(loop).create_task is not asyncio.BaseEventLoop.create_task or loop.get_task_factory() is not None \
            or loop.get_debug():
        return loop.create_task
    return functools.partial(asyncio.Task, loop=loop)


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0", "none", "off")
    return bool(value)


def _first_error(run, sids: list[str]) -> str:
    """': <the first failed step's error>' (one line), to say why without opening the store."""
    err = run.states[sids[0]].error
    return f": {str(err).splitlines()[0][:200]}" if err else ""
