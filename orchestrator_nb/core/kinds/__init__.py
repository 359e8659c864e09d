"""Step kinds: what each action key does, behind one contract.

A kind is a function ``kind(action, params, ctx) -> output`` (or an awaitable of it):

- ``action``: the value of the step's action key, rendered in the step's scope (prompt text,
  SQL, a write spec, a plugin's own value...), or as compiled for the kinds that say so
  (``python``: the function; ``code``: the compiled code; ``pipeline``: the child Pipeline);
- ``params``: the step's ``params``, rendered;
- ``ctx``: a ``StepContext`` (``core.stepcontext``): the kind's only door to the run.

Built-ins and third-party kinds (entry point group ``orchestrator_nb.steps``) share it. A kind
raises to fail (retries and checks are the executor's business) and raises ``Waiting`` to wait.
"""
from __future__ import annotations

from ...errors import SpecError
from ...spec.plugins import plugin_kinds
from . import approval, call, code, prompt, python, sql, subpipeline, write


class Kind:
    """``takes``: "rendered" (the action rendered), "compiled" (as the step holds it) or
    "function" (python steps: the resolved function). ``awaits``: the work waits on the loop
    (models, people, child runs) instead of holding it. ``cacheable``: may use the step cache.
    ``setup(ctx)``: awaited before each try, outside the step's timeout (SDK imports).
    ``own_timeout``: the kind keeps to ``ctx.timeout`` itself (the model gateway bounds each call,
    leaving out client set-up), so the executor does not cut it off."""

    __slots__ = ("name", "fn", "takes", "awaits", "cacheable", "setup", "own_timeout")

    def __init__(self, name: str, fn, *, takes: str = "rendered", awaits: bool = False, cacheable: bool = False,
                 setup=None, own_timeout: bool = False):
        self.name, self.fn, self.takes, self.awaits, self.cacheable = name, fn, takes, awaits, cacheable
        self.setup, self.own_timeout = setup, own_timeout

    def __repr__(self) -> str:
        return f"<Kind {self.name}>"


BUILTIN = {
    "prompt": Kind("prompt", prompt.run_prompt, awaits=True, setup=prompt.warm_models, own_timeout=True),
    "python": Kind("python", python.run_python, takes="function", cacheable=True),
    "code": Kind("code", code.run_code, takes="compiled", cacheable=True),
    "sql": Kind("sql", sql.run_sql, cacheable=True),
    "write": Kind("write", write.run_write),
    "approval": Kind("approval", approval.run_approval, awaits=True, own_timeout=True),  # timeout: on_timeout
    "pipeline": Kind("pipeline", subpipeline.run_subpipeline, takes="compiled", awaits=True),
    "call": Kind("call", call.run_call, takes="compiled", awaits=True),
}
_loaded: dict[str, Kind] = {}


def get(name: str) -> Kind:
    """The kind for an action key (a plugin's code is imported on first use)."""
    kind = BUILTIN.get(name) or _loaded.get(name)
    if kind is None:
        ep = plugin_kinds().get(name)
        if ep is None:
            raise SpecError(f"unknown step kind '{name}'")
        try:
            fn = ep.load()
        except Exception as e:
            raise SpecError(f"step kind '{name}' could not be loaded: {type(e).__name__}: {e}",
                            hint=f"check the package that provides the '{name}' entry point") from None
        kind = _loaded[name] = Kind(name, fn)
    return kind
