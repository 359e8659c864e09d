"""Approvals that send work back. "Request changes" runs the reviewed step again with the
reviewer's comment as feedback, then every step between it and the gate, so the reviewer sees the
new version; an edit replaces the reviewed step's output (a new attempt: the store keeps both) and
runs the steps between again on it. A part of the ``Executor`` (``StepContext`` reaches it as its
hooks): the steps run through the executor's own ``_call``.
"""
from __future__ import annotations

import asyncio

from ..errors import StepFailed, describe
from ..spec.templates import render_field
from . import kinds
from .attempt import Attempt
from .stepcontext import Feedback, StepContext


class Revisions:
    """The executor's methods for approvals that send work back (``Executor`` derives from it)."""

    async def revise(self, ctx: StepContext, target: str, comment: str) -> int:
        """For ``StepContext.revise``: end the approval's round, run ``target`` again with the
        comment as feedback, then every step between it and the approval (so the reviewer sees
        the new version), and start the next round. Returns the new attempt number."""
        ctx._att.end("failed", None, f"changes requested: {comment}".strip())
        run = self.run
        pipeline = run.pipeline
        between = _between(pipeline, target, ctx.step.id)
        feedback = Feedback(previous=run.outputs.get(target), message=comment, kind="review")
        await self._rerun(pipeline.steps[target], feedback)
        for sid in pipeline.order:
            if sid in between:
                await self._rerun(pipeline.steps[sid], None)
        ctx._att = ctx._att.next()
        return ctx._att.number

    async def replace_output(self, ctx: StepContext, target: str, value, who: str) -> None:
        """For ``StepContext.ask``: an approval with edits. ``target``'s output becomes the reviewer's
        version (a new attempt, so the store keeps both), and the steps between it and the approval
        run again on it."""
        run = self.run
        att = Attempt(run, target, -1, run.states[target].attempt + 1, edited_by=who)
        att.end("succeeded", value, final=True)
        run.log(f"output edited by {who} at approval '{ctx.step.id}'", "info", target)
        pipeline = run.pipeline
        between = _between(pipeline, target, ctx.step.id)
        for sid in pipeline.order:
            if sid in between:
                await self._rerun(pipeline.steps[sid], None)

    async def _rerun(self, step, feedback) -> None:
        if step.for_each is not None:
            return await self._rerun_each(step, feedback)
        run = self.run
        st = run.states[step.id]
        ctx = StepContext(run, step, run.scope, -1, st.attempt + 1, feedback, hooks=self)
        att = ctx._att = Attempt(run, step.id, -1, ctx.attempt)
        try:
            output = await self._call(kinds.get(step.kind), step, ctx, None, use_cache=False)
        except Exception as e:
            att.end("failed", None, describe(e))
            raise StepFailed(step.id, f"revision failed: {describe(e)}") from e
        att.end("succeeded", output, final=True)

    async def _rerun_each(self, step, feedback) -> None:
        """A revised `for_each` step: every item asked again, in parallel, each with its own
        previous output and the reviewer's comment (a new attempt of each item and of the step)."""
        run, sid = self.run, step.id
        st = run.states[sid]
        try:
            items = render_field(step.for_each, run.scope)
            items = list(items.items()) if isinstance(items, dict) else list(items)
        except Exception as e:
            raise StepFailed(sid, f"revision failed: for_each: {describe(e)}") from None
        before = feedback.previous if feedback is not None and isinstance(feedback.previous, list) else []
        whole = Attempt(run, sid, -1, st.attempt + 1, items=len(items))
        kind = kinds.get(step.kind)

        async def one(i, item):
            scope = dict(run.scope)
            scope["item"], scope["index"] = item, i
            told = None if feedback is None else Feedback(previous=before[i] if i < len(before) else None,
                                                          message=feedback.message, kind=feedback.kind)
            number = self._first_number(st, i) + 1
            ctx = StepContext(run, step, scope, i, number, told, hooks=self)
            att = ctx._att = Attempt(run, sid, i, number)
            try:
                output = await self._call(kind, step, ctx, None, use_cache=False)
            except Exception as e:
                att.end("failed", None, describe(e))
                raise
            att.end("succeeded", output)
            st.set_base_attempt(i, number)
            return output

        done = await asyncio.gather(*(one(i, x) for i, x in enumerate(items)), return_exceptions=True)
        failed = next((d for d in done if isinstance(d, BaseException)), None)
        if failed is not None:
            whole.end("failed", None, describe(failed), final=True)
            raise StepFailed(sid, f"revision failed: {describe(failed)}") from failed
        whole.end("succeeded", list(done), final=True)


def _between(pipeline, start: str, end: str) -> set[str]:
    """Steps that depend (transitively) on ``start`` and that ``end`` depends on."""
    down, stack = set(), [start]
    children: dict[str, list[str]] = {}
    for sid, deps in pipeline.graph.items():
        for d in deps:
            children.setdefault(d, []).append(sid)
    while stack:
        for c in children.get(stack.pop(), ()):
            if c not in down:
                down.add(c)
                stack.append(c)
    up, stack = set(), [end]
    while stack:
        for d in pipeline.graph.get(stack.pop(), ()):
            if d not in up:
                up.add(d)
                stack.append(d)
    return (down & up) - {start, end}
