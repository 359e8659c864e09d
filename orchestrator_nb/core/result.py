"""RunResult: what a run gives back to Python (and, through its display, to the notebook)."""
from __future__ import annotations

from ..errors import OrcError, suggest


class RunResult:
    """``.status``, ``.outputs``, ``result["step"]``, ``.cost``, ``.tokens``, ``.run_id``, ``.steps``."""

    def __init__(self, ctx, status: str):
        self.run_id = ctx.run_id
        self.pipeline = ctx.pipeline.name
        self.status = status
        self.error = ctx.error if status != "succeeded" else None
        self.inputs = ctx.inputs
        self.outputs = {sid: st.output for sid, st in ctx.states.items() if st.status == "succeeded"}
        self.cost = ctx.cost_usd
        self.tokens_in, self.tokens_out = ctx.tokens_in, ctx.tokens_out
        self.started, self.ended = ctx.started, ctx.ended
        self.outdir = str(ctx.outdir)
        self.tool_calls = list(ctx.tool_calls)  # [{step_id, turn, tool, arguments, result, error, ...}]
        # plain data only (results travel between processes in batch runs); summaries are built lazily
        self._states = ctx.states
        self._meta = ctx.pipeline.meta
        self._graph = ctx.pipeline.graph

    @property
    def graph(self) -> dict[str, list[str]]:
        """step id -> the ids it depends on."""
        return {sid: sorted(deps) for sid, deps in self._graph.items()}

    @property
    def steps(self) -> list[dict]:
        """One summary per step: id, kind, status, attempts, model, tokens, cost, seconds, cached..."""
        return [
            {"id": sid, "kind": self._meta[sid][0], "status": st.status, "attempts": st.attempt,
             "model": st.model, "tokens_in": st.usage[0], "tokens_out": st.usage[1], "cost": st.usage[2],
             "seconds": (st.ended - st.started) if st.started and st.ended else None, "cached": st.cached,
             "error": st.error, "reason": st.reason if isinstance(st.reason, str) else None,
             "output_format": self._meta[sid][1]}
            for sid, st in self._states.items()]

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def seconds(self) -> float | None:
        return (self.ended - self.started) if self.ended else None

    def __getitem__(self, step_id: str):
        if step_id in self.outputs:
            return self.outputs[step_id]
        known = [s["id"] for s in self.steps]
        if step_id in known:
            status = next(s["status"] for s in self.steps if s["id"] == step_id)
            raise KeyError(f"step '{step_id}' has no output: it is {status}")
        raise KeyError(f"no step '{step_id}' in {self.pipeline}" + (f" ({suggest(step_id, known)})"
                                                                    if suggest(step_id, known) else ""))

    def __contains__(self, step_id: str) -> bool:
        return step_id in self.outputs

    def raise_for_status(self) -> "RunResult":
        if not self.ok:
            raise OrcError(f"run {self.run_id} ({self.pipeline}) {self.status}" + (f": {self.error}" if self.error else ""))
        return self

    def __repr__(self) -> str:
        return (f"<RunResult {self.run_id} {self.pipeline}: {self.status}, {len(self._states)} steps, "
                f"{self.tokens} tokens, ${self.cost:.4f}>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..report.html import run_result_bundle  # display only: not on a run's path
        return run_result_bundle(self)
