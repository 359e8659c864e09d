"""Inline `code:` steps: Python source run with the run's values in scope; `output` is the result."""
from __future__ import annotations

import inspect

from ..isolation import run_isolated
from ..threads import in_thread


def run_code(compiled, params, ctx):
    """The code's `output`; an awaitable of it for code with top-level `await`, or isolated."""
    limits = ctx.isolation
    if limits is not None:  # a child process with JSON values only (no notebook variables)
        return run_isolated("code", compiled, params, ctx, limits, ctx.timeout)
    code, _source = compiled
    scope = ctx.scope
    ns = {
        "params": params, "inputs": ctx.inputs, "steps": ctx.outputs,
        "item": scope.get("item"), "index": scope.get("index"), "run_id": ctx.run_id,
        "iteration": scope.get("iteration"), "previous": scope.get("previous"),
        "feedback": str(ctx.feedback) if ctx.feedback is not None else None, "output": None,
        "log": ctx.log, "__name__": f"orc_code_{ctx.step_id}",
    }
    extra = ctx.extra_names
    if extra:
        ns.update({k: v for k, v in extra.items() if k not in ns})
    if code.co_flags & inspect.CO_COROUTINE:
        try:
            result = eval(code, ns)  # noqa: S307 - the pipeline author's own code, like a notebook cell
        except NameError as e:
            raise _explained(e) from None
        return _finish(result, ns)
    step = ctx.step
    if step.thread or step.timeout:  # a timeout can only cut off what does not hold the loop
        return in_thread(_output, code, ns)
    return _output(code, ns)


def _output(code, ns):
    try:
        eval(code, ns)  # noqa: S307 - the pipeline author's own code, like a notebook cell
    except NameError as e:
        raise _explained(e) from None
    return ns.get("output")


def awaits(compiled) -> bool:
    """Does the code use top-level `await` (then it runs as a task, not inline)?"""
    return bool(compiled[0].co_flags & inspect.CO_COROUTINE)


async def _finish(result, ns):
    try:
        await result
    except NameError as e:
        raise _explained(e) from None
    return ns.get("output")


def _explained(e: NameError) -> NameError:
    """Most often a template-style {{ name }} or a value never passed in."""
    return NameError(f"{e}: `code:` is Python, not a template; it sees params, inputs, steps, item, "
                     "index, run_id, feedback and log (pass other values with params:)")
