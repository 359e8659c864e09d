"""Step kinds: what each action key does. ``run`` dispatches and applies the step cache.

Third-party kinds register a callable under the ``orchestrator_nb.steps`` entry point:
``fn(action, params, context) -> output`` (may be async), where ``context`` is a ``StepContext``.
"""
from __future__ import annotations

import inspect
from functools import lru_cache

from ...spec.templates import render_field
from ..cache import MISS
from ..serialize import content_hash, to_jsonable


class Feedback:
    """Why a step runs again: a failed check or a reviewer's requested changes."""

    __slots__ = ("previous", "message", "kind")

    def __init__(self, previous, message: str, kind: str):
        self.previous, self.message, self.kind = previous, message, kind

    def __str__(self) -> str:
        return self.message


class StepContext:
    """What a plugin step (and ``ctx`` parameters of python steps) can see."""

    def __init__(self, ex, step, item: int, attempt: int, feedback):
        self.run_id = ex.ctx.run_id
        self.step_id, self.item, self.attempt, self.feedback = step.id, item, attempt, feedback
        self.outdir = ex.ctx.outdir
        self._ctx = ex.ctx

    def log(self, message: str, level: str = "info") -> None:
        self._ctx.log(message, level, self.step_id)


def render_params(step, scope) -> dict:
    params = step.params
    if not params:
        return {}
    return render_field(params, scope)


def run(ex, step, scope, item, attempt, feedback, use_cache: bool = True):
    """The step's work as an awaitable (the kind's own coroutine when there is nothing to cache,
    saving a frame per step on the hot path)."""
    impl = _builtin(step.kind) or _plugin(step.kind)
    ctx = ex.ctx
    if step.kind in CACHEABLE and ctx.cache is not None and step_cache_on(ctx.pipeline, step):
        return _cached(ex, impl, step, scope, item, attempt, feedback, use_cache)
    return _awaitable(impl(ex, step, scope, item, attempt, feedback))


async def _cached(ex, impl, step, scope, item, attempt, feedback, use_cache):
    ctx = ex.ctx
    key = _step_key(ex, step, scope, item)
    if use_cache and feedback is None and ctx.use_cache:
        hit = ctx.cache.get("step", key)
        if hit is not MISS:
            ctx.states[step.id].cached = True
            return hit["value"]
    output = impl(ex, step, scope, item, attempt, feedback)
    if inspect.isawaitable(output):
        output = await output
    ctx.cache.put("step", key, {"step": step.id, "pipeline": ctx.pipeline.name, "value": to_jsonable(output)})
    return output


def _awaitable(value):
    if inspect.isawaitable(value):
        return value
    return _ready(value)


async def _ready(value):
    return value


CACHEABLE = frozenset({"python", "code", "sql"})


def step_cache_on(pipeline, step) -> bool:
    """python/code/sql results are cached only when asked (`cache: true` or defaults.cache):
    they may read files or clocks the cache key cannot see. Prompt steps cache by default."""
    if step.cache is not None:
        return step.cache
    return bool(pipeline.defaults.get("cache", False))


def _step_key(ex, step, scope, item) -> str:
    from .python import identity
    ctx = ex.ctx
    if step.kind == "python":
        what = identity(ex.resolved(step))
        data = render_params(step, scope)
    elif step.kind == "code":
        what = step.action[1]
        data = {"params": render_params(step, scope), "inputs": ctx.inputs,
                "steps": {d: ctx.outputs.get(d) for d in sorted(step.deps)},
                "item": scope.get("item"), "index": scope.get("index")}
    else:
        what = step.action.render(scope) if hasattr(step.action, "render") else step.action
        data = render_params(step, scope)
    return content_hash(step.kind, what, data, item if step.for_each is not None else None)


@lru_cache(maxsize=None)
def _builtin(kind: str):
    if kind == "prompt":
        from .prompt import run_prompt
        return run_prompt
    if kind == "python":
        from .python import run_python
        return run_python
    if kind == "code":
        from .python import run_code
        return run_code
    if kind == "sql":
        from .sql import run_sql
        return run_sql
    if kind == "write":
        from .write import run_write
        return run_write
    if kind == "approval":
        from .approval import run_approval
        return run_approval
    if kind == "pipeline":
        from .subpipeline import run_subpipeline
        return run_subpipeline
    return None


@lru_cache(maxsize=1)
def plugin_kinds() -> dict:
    from importlib.metadata import entry_points
    return {ep.name: ep for ep in entry_points(group="orchestrator_nb.steps")}


def _plugin(kind: str):
    fn = plugin_kinds()[kind].load()

    async def call(ex, step, scope, item, attempt, feedback):
        action = render_field(step.action, scope)
        out = fn(action, render_params(step, scope), StepContext(ex, step, item, attempt, feedback))
        return await out if inspect.isawaitable(out) else out

    return call


async def run_check(ex, step, check, scope, output) -> str | None:
    """None when the output passes, else the reason it failed (fed back to the next attempt)."""
    if check.expr is not None:
        local = dict(scope)
        local["output"] = output
        ok = check.expr.render(local)
        if not ok:
            return check.message or f"`{check.expr.source}` is false"
    if check.python is not None:
        from .python import resolve_callable
        fn = resolve_callable(check.python)
        result = fn(output)
        if inspect.isawaitable(result):
            result = await result
        if result is False:
            return check.message or f"{check.python if isinstance(check.python, str) else fn.__name__} said no"
        if isinstance(result, str) and result:
            return result
    if check.judge is not None:
        from .prompt import run_judge
        return await run_judge(ex, step, check, scope, output)
    return None
