"""`approval:` steps: a human gate. Approve, reject, or request changes (the upstream step is
regenerated with the comment and the reviewer is asked again)."""
from __future__ import annotations

import asyncio
import json

from ...errors import ApprovalRejected, SpecError
from ...spec.templates import render_field
from ..approvals import ApprovalRequest


def revise_target(pipeline, step) -> str | None:
    """The step a 'request changes' regenerates: `revise:`, else the latest dependency."""
    if step.revise:
        return step.revise
    deps = [d for d in step.deps if pipeline.steps[d].kind != "approval"]
    if not deps:
        return None
    order = {sid: i for i, sid in enumerate(pipeline.order)}
    return max(deps, key=order.__getitem__)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


async def run_approval(ex, step, scope, item, attempt, feedback):
    from ..executor import Deferred

    ctx = ex.ctx
    st = ctx.states[step.id]
    target = revise_target(ctx.pipeline, step)
    max_revisions = step.max_revisions or 5
    round_ = attempt
    while True:
        question = str(render_field(step.action, scope))
        if step.show is not None:
            show = _shown(render_field(step.show, scope))
        else:
            show = _shown(ctx.outputs.get(target)) if target else ""
        req = ApprovalRequest(run_id=ctx.run_id, step_id=step.id, round=round_, question=question, show=show,
                              revise=target, policy=step.policy or ctx.approval_policy)
        decision = None
        if ctx.store is not None:  # decided already (`orc approve`, the JupyterLab panel) before a resume?
            decision = await asyncio.to_thread(ctx.store.find_decision, ctx.run_id, step.id, round_)
        if decision is None:
            if getattr(ctx.approver, "waits", True):  # someone is asked: say so (and record it)
                ctx.emit("step_waiting", step.id, item, round_, question=question, show=show, round=round_,
                         revise=target)
            decision = await ctx.approver.decide(req)
            if decision is None:
                ctx.set_result(step.id, "waiting")
                ex._finish(step.id, item, round_, st.started or 0, "waiting",
                           {"question": question, "show": show, "round": round_, "revise": target},
                           "waiting for approval")
                raise Deferred(step.id)
            ctx.emit("approval", step.id, item, round_, round=round_, **decision.as_dict())
        st.rounds = round_
        if decision.decision == "approved":
            return {"decision": "approved", "comment": decision.comment, "decided_by": decision.decided_by,
                    "round": round_}
        if decision.decision == "rejected":
            who = decision.decided_by or decision.mode
            raise ApprovalRejected(f"rejected by {who}" + (f": {decision.comment}" if decision.comment else ""))
        # changes requested
        if target is None:
            raise SpecError(f"approval '{step.id}' has nothing to revise", hint="set `revise: <step id>`")
        if round_ >= max_revisions:
            raise ApprovalRejected(f"changes requested {round_} times; giving up (max_revisions: {max_revisions})")
        ex._finish(step.id, item, round_, st.started or 0, "failed", None,
                   f"changes requested: {decision.comment or ''}".strip())
        await ex.revise(target, step.id, decision.comment or "Please improve it.")
        round_ += 1
        st.attempt = round_
        ctx.emit("step_started", step.id, item, round_)
