"""`python: module:function` steps: the function gets the rendered params as keyword arguments."""
from __future__ import annotations

import inspect

from ..callables import is_async
from ..isolation import run_isolated
from ..threads import in_thread


def accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def run_python(fn, params, ctx):
    """The function's result, or an awaitable of it (async functions, worker threads, or a child
    process under `isolation: process`, where ``fn`` is still its 'module:function' name)."""
    limits = ctx.isolation
    if limits is not None:
        return run_isolated("python", fn, dict(params or {}), ctx, limits, ctx.timeout)
    kwargs = dict(params) if params else {}
    if ctx.feedback is not None and accepts(fn, "feedback"):
        kwargs["feedback"] = str(ctx.feedback)
    step = ctx.step
    if (step.thread or step.timeout) and not is_async(fn):
        return in_thread(fn, **kwargs)  # a timeout can only cut off what does not hold the loop
    return fn(**kwargs)
