"""`pipeline:` steps: run another pipeline as a child run; its outputs are this step's output."""
from __future__ import annotations

from ...errors import StepFailed
from . import render_params


async def run_subpipeline(ex, step, scope, item, attempt, feedback):
    from ..executor import Deferred
    from ..runner import run_child

    sub = step.action
    if isinstance(sub, str):
        from ...spec.loader import load
        sub = load(sub)
    inputs = render_params(step, scope)
    result = await run_child(ex.ctx, sub, inputs, step_id=step.id)
    if result.status == "succeeded":
        return result.outputs
    if result.status == "waiting":
        ex.ctx.set_result(step.id, "waiting", {"run_id": result.run_id})
        ex._finish(step.id, item, attempt, 0, "waiting", {"run_id": result.run_id},
                   f"sub-pipeline run {result.run_id} is waiting for approval")
        raise Deferred(step.id)
    raise StepFailed(step.id, f"sub-pipeline '{sub.name}' (run {result.run_id}) ended {result.status}: "
                              f"{result.error or ''}".rstrip(": "))
