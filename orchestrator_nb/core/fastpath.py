"""The fast paths' pieces (see ``Executor._run_inline`` and ``_run_direct``): a plain python
step's first try without an ``Attempt`` object, and its `{{ steps.<id>.output }}` params read
straight from the run's states through a plan made once per step. The cost of a step in a chain
of small ones; results, errors and events are those of the general path."""
from __future__ import annotations

import time

from .context import NOTHING, StepsScope
from ..spec.templates import Template, render_field


def begin(run, sid, st, hold: bool = False, **data) -> tuple[int, float]:
    """``Attempt(...)`` of a fast path's first try, without the object: (its number, its start).
    ``hold``: its `step_started` waits for the bus's release (``Bus.hold``)."""
    number = (0 if st.base_attempt is NOTHING else st.base_attempt.get(-1, 0)) + 1
    started = time.time()
    st.status, st.attempt, st.cached = "running", number, False
    if run.bus.subscribers:
        if hold:
            run.bus.hold("step_started", run.run_id, sid, -1, number, data)
        else:
            run.emit("step_started", sid, -1, number, **data)
    return number, started


def succeeded(run, sid, st, number: int, started: float, output) -> None:
    """``Attempt.end("succeeded", output, final=True)`` of a fast path's try, without the object."""
    st.started = st.started or started
    st.ended = ended = time.time()
    st.status, st.output, st.error = "succeeded", output, None
    if run.bus.subscribers:
        run.bus.step_succeeded(run.run_id, sid, number, output, started, ended, st.cached, st.model)


_NO_STATE = object()


def _params_plan(params):
    """((key, ref, compiled value), ...) for a dict of params: ref is the step id where the value
    is exactly `{{ steps.<id>.output }}`, the ids where it is a list of those, False for a
    constant (what rendering gives back unchanged), else None; None for params of another shape,
    ``_AS_GIVEN`` when they are all constants."""
    if type(params) is not dict:
        return None
    plan = []
    for key, value in params.items():
        if isinstance(value, (Template, dict)):
            ref = _output_of(value)
        elif isinstance(value, list):
            refs = tuple(_output_of(v) for v in value)
            ref = refs if refs and all(refs) else None
        else:
            ref = False
        plan.append((key, ref, value))
    if all(ref is False for _, ref, _ in plan):
        return _AS_GIVEN
    return tuple(plan)


_AS_GIVEN = object()  # the plan of params that are all constants other than lists and dicts: the step's
# own dict is passed (a call with **params makes its own; rendering would give the same values)


def params_plan(step):
    """The step's plan (``_params_plan``), made on first need and kept with the step."""
    plan = step._params_plan
    if plan is None or plan[0] is not step.params:
        plan = step._params_plan = (step.params, _params_plan(step.params))
    return plan[1]


def _output_of(value) -> str | None:
    """The step id when ``value`` is the template `{{ steps.<id>.output }}`."""
    path = value.path if isinstance(value, Template) and value.kind == "expr" else None
    if path is not None and path.root == "steps" and len(path.ops) == 2 \
            and path.ops[0][0] and path.ops[1] == (True, "output"):
        return path.ops[0][1]
    return None


def step_params(step, scope) -> dict:
    """``render_field(step.params, run.scope)`` of a python step run on a fast path: each
    `{{ steps.<id>.output }}` (alone, or in a list of them) read from the step's state (what
    the template's own path gives when the value is no callable; anything else, and a
    callable, is rendered by the template), and constants taken as they are."""
    params = step.params
    plan = step._params_plan  # (params_plan(step), without the call: a chain of small steps' cost)
    plan = plan[1] if plan is not None and plan[0] is params else params_plan(step)
    if plan is _AS_GIVEN:
        return params
    steps = scope.get("steps")
    if plan is None or type(steps) is not StepsScope:
        return render_field(params, scope)
    states, out = steps._states, {}
    for key, ref, value in plan:
        if ref is False:
            out[key] = value
        elif ref is None:
            out[key] = render_field(value, scope)
        elif type(ref) is str:
            st = states.get(ref)
            v = _NO_STATE if st is None else st.output
            out[key] = value.render(scope) if v is _NO_STATE or callable(v) else v
        else:
            items = []
            for sid, t in zip(ref, value):
                st = states.get(sid)
                v = _NO_STATE if st is None else st.output
                items.append(t.render(scope) if v is _NO_STATE or callable(v) else v)
            out[key] = items
    return out

