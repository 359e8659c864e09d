"""`pipeline:` steps: run another pipeline as a child run; its outputs are this step's output."""
from __future__ import annotations

from ...errors import StepFailed
from ..stepcontext import Waiting


async def run_subpipeline(pipeline, params, ctx):
    result = await ctx.run_child(pipeline, params)
    if result.status == "succeeded":
        return result.outputs
    if result.status == "waiting":
        raise Waiting({"run_id": result.run_id}, f"sub-pipeline run {result.run_id} is waiting for approval")
    raise StepFailed(ctx.step_id, f"sub-pipeline '{pipeline.name}' (run {result.run_id}) ended {result.status}: "
                                  f"{result.error or ''}".rstrip(": "))
