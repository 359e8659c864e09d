"""Functions named by pipelines (`python:` steps, `check: {python: ...}`, `output: mod:Model`):
resolving 'module:function', telling async from sync, and a stable identity for cache keys."""
from __future__ import annotations

import hashlib
import importlib
import inspect
import marshal

from ..errors import SpecError

_ids: dict = {}
_async_memo: dict = {}


def resolve_callable(ref):
    """'pkg.mod:func' (or 'pkg.mod:Class.method') -> the object. This imports the module, so it
    runs the module's code: only the run itself calls it (validation checks references statically)."""
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
    try:
        return _async_memo[fn]
    except (KeyError, TypeError):
        pass
    result = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
    try:
        _async_memo[fn] = result
    except TypeError:
        pass
    return result


def callable_ref(fn) -> str:
    name = getattr(fn, "__qualname__", None)
    return f"{getattr(fn, '__module__', '?')}:{repr(fn) if name is None else name}"
