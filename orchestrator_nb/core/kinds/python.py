"""`python: module:function` and inline `code:` steps."""
from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import marshal

from ...errors import SpecError
from . import render_params

_ids: dict = {}


def resolve_callable(ref):
    """'pkg.mod:func' (or 'pkg.mod:Class.method') -> the callable."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    try:
        obj = importlib.import_module(module)
    except Exception as e:  # ImportError, or an error raised while importing
        raise SpecError(f"cannot import module '{module}': {type(e).__name__}: {e}",
                        hint="is it installed, next to the pipeline file, or in the working directory?") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SpecError(f"module '{module}' has no '{attr}'") from None
    if not callable(obj):
        raise SpecError(f"'{ref}' is not callable")
    return obj


def identity(fn) -> str:
    """Stable identity of a function's code, for cache keys: name + hash of its bytecode."""
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__call__", None), "__code__", None)
    key = id(code) if code is not None else id(fn)
    cached = _ids.get(key)
    if cached is None or cached[0] is not code:
        digest = hashlib.sha256(marshal.dumps(code)).hexdigest()[:16] if code is not None else "?"
        name = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
        cached = (code, f"{name}#{digest}")
        _ids[key] = cached
    return cached[1]


def is_async(fn) -> bool:
    from ..pipeline import _is_async
    return _is_async(fn)


def accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def run_python(ex, step, scope, item, attempt, feedback):
    """Returns the function's result, or an awaitable of it (async functions, threads)."""
    fn = ex.resolved(step)
    kwargs = render_params(step, scope) if step.params else {}
    if feedback is not None and accepts(fn, "feedback"):
        kwargs["feedback"] = str(feedback)
    if (step.thread or step.timeout) and not is_async(fn):
        return asyncio.to_thread(fn, **kwargs)
    return fn(**kwargs)


async def run_code(ex, step, scope, item, attempt, feedback):
    code, _source = step.action
    ctx = ex.ctx
    ns = {
        "params": render_params(step, scope), "inputs": ctx.inputs, "steps": dict(ctx.outputs),
        "item": scope.get("item"), "index": scope.get("index"), "run_id": ctx.run_id,
        "feedback": str(feedback) if feedback is not None else None, "output": None,
        "log": lambda message, level="info": ctx.log(str(message), level, step.id),
        "__name__": f"orc_code_{step.id}",
    }
    ns.update({k: v for k, v in ctx.scope_extra.items() if k not in ns})
    result = eval(code, ns)  # noqa: S307 - the pipeline author's own code, like a notebook cell
    if code.co_flags & inspect.CO_COROUTINE:
        await result
    return ns.get("output")
