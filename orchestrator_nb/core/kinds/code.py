"""Inline `code:` steps: Python source run with the run's values in scope; `output` is the result."""
from __future__ import annotations

import inspect

from ..isolation import run_isolated


async def run_code(compiled, params, ctx):
    limits = ctx.isolation
    if limits is not None:  # a child process with JSON values only (no notebook variables)
        return await run_isolated("code", compiled, params, ctx, limits, ctx.timeout)
    code, _source = compiled
    scope = ctx.scope
    ns = {
        "params": params, "inputs": ctx.inputs, "steps": dict(ctx.outputs),
        "item": scope.get("item"), "index": scope.get("index"), "run_id": ctx.run_id,
        "iteration": scope.get("iteration"), "previous": scope.get("previous"),
        "feedback": str(ctx.feedback) if ctx.feedback is not None else None, "output": None,
        "log": ctx.log, "__name__": f"orc_code_{ctx.step_id}",
    }
    ns.update({k: v for k, v in ctx.extra_names.items() if k not in ns})
    try:
        result = eval(code, ns)  # noqa: S307 - the pipeline author's own code, like a notebook cell
        if code.co_flags & inspect.CO_COROUTINE:
            await result
    except NameError as e:  # most often a template-style {{ name }} or a value never passed in
        raise NameError(f"{e}: `code:` is Python, not a template; it sees params, inputs, steps, item, "
                        "index, run_id, feedback and log (pass other values with params:)") from None
    return ns.get("output")
