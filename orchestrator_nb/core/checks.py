"""Quality gates (`check:`) on a step's output: an expression, a Python function, a model judge."""
from __future__ import annotations

import inspect

from ..spec.templates import render_field
from .callables import resolve_callable
from .kinds.prompt import judge


async def failure(check, ctx, output) -> str | None:
    """None when ``output`` passes, else why it failed (fed back to the next attempt)."""
    if check.expr is not None:
        local = dict(ctx.scope)
        local["output"] = output
        if not check.expr.render(local):
            return check.message or f"`{check.expr.source}` is false"
    if check.python is not None:
        fn = resolve_callable(check.python)
        params = render_field(check.params, ctx.scope) if check.params else {}
        result = fn(output, **params)
        if inspect.isawaitable(result):
            result = await result
        if result is False:
            return check.message or f"{check.python if isinstance(check.python, str) else fn.__name__} said no"
        if isinstance(result, str) and result:
            return result
    if check.judge is not None:
        return await judge(ctx, check, output)
    return None
