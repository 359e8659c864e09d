"""The step cache: python/code/sql results kept by a content hash of what went in.

Off unless asked (`cache: true`, or `defaults.cache`): such steps may read files or clocks that
the key cannot see. (Prompt steps cache by default, in the model gateway.)"""
from __future__ import annotations

import inspect

from .cache import MISS
from .callables import identity
from .serialize import content_hash, to_jsonable


def cache_on(pipeline, step) -> bool:
    if step.cache is not None:
        return step.cache
    return bool(pipeline.defaults.get("cache", False))


def key(run, step, action, params, scope) -> str:
    if step.kind == "python":
        what = identity(action)
    elif step.kind == "code":
        what = action[1]
        params = {"params": params, "inputs": run.inputs,
                  "steps": {d: run.states[d].output for d in sorted(step.deps)},
                  "item": scope.get("item"), "index": scope.get("index")}
    else:
        what = action
    return content_hash(step.kind, what, params, scope.get("index") if step.for_each is not None else None)


async def cached(run, kind, step, action, params, ctx, use_cache: bool):
    """The kind's output, from the cache when the same work was done before."""
    k = key(run, step, action, params, ctx.scope)
    if use_cache and ctx.feedback is None and run.use_cache:
        hit = run.cache.get("step", k)
        if hit is not MISS:
            run.states[step.id].cached = True
            return hit["value"]
    output = kind.fn(action, params, ctx)
    if inspect.isawaitable(output):
        output = await output
    run.cache.put("step", k, {"step": step.id, "pipeline": run.pipeline.name, "value": to_jsonable(output)})
    return output
