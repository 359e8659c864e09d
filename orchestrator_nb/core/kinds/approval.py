"""`approval:` steps: a human gate. Approve, reject, or request changes (the upstream step is
regenerated with the comment and the reviewer is asked again)."""
from __future__ import annotations

import json

from ...errors import ApprovalRejected, SpecError


def shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


async def run_approval(question, params, ctx):
    step = ctx.step
    target = step.revises            # what 'request changes' regenerates (set when the pipeline links)
    max_revisions = step.max_revisions or 5
    while True:
        if step.show is not None:
            show = shown(ctx.render(step.show))
        else:
            show = shown(ctx.outputs.get(target)) if target else ""
        decision = await ctx.ask(str(question), show, revise=target)
        if decision.decision == "approved":
            out = {"decision": "approved", "comment": decision.comment, "decided_by": decision.decided_by,
                   "round": ctx.attempt}
            if step.input is not None:
                out["input"] = decision.input if decision.input is not None else {}
            if decision.edited is not None and target is not None:
                out["edited"] = target
            return out
        if decision.decision == "rejected":
            who = decision.decided_by or decision.mode
            raise ApprovalRejected(f"rejected by {who}" + (f": {decision.comment}" if decision.comment else ""))
        # changes requested
        if target is None:
            raise SpecError(f"approval '{step.id}' has nothing to revise", hint="set `revise: <step id>`")
        if ctx.attempt >= max_revisions:
            raise ApprovalRejected(f"changes requested {ctx.attempt} times; giving up (max_revisions: {max_revisions})")
        await ctx.revise(target, decision.comment or "Please improve it.")
        question = ctx.render(step.action)
