"""What a step kind sees of its run: ``StepContext``, plus ``Feedback`` and ``Waiting``.

Every kind, built-in or plugin, is called as ``kind(action, params, ctx)`` (see ``core.kinds``).
The context is the kind's only door to the run: reading finished outputs, rendering fields,
logging and emitting events, asking models, calling tools, asking people (approvals) and having
upstream work revised. Kinds never touch the executor or the run's bookkeeping directly.
"""
from __future__ import annotations

import asyncio
import time
import uuid

from ..errors import ApprovalRejected
from ..spec.templates import render_field
from .approvals import ApprovalRequest, Decision
from .schemas import output_schema, problem


class Feedback:
    """Why a step runs again: a failed check or a reviewer's requested changes."""

    __slots__ = ("previous", "message", "kind")

    def __init__(self, previous, message: str, kind: str):
        self.previous, self.message, self.kind = previous, message, kind

    def __str__(self) -> str:
        return self.message


class Waiting(Exception):
    """Raised by a kind when its step must wait (for a person, or a child run that waits).

    The attempt ends ``waiting`` with ``output`` (what a later resume needs) and ``reason``;
    the run ends ``waiting`` once nothing else can go on."""

    def __init__(self, output=None, reason: str = "waiting for approval"):
        super().__init__(reason)
        self.output, self.reason = output, reason


class StepContext:
    """One attempt of one step (or one for_each item), as its kind sees it."""

    __slots__ = ("step", "item", "attempt", "feedback", "scope", "_run", "_hooks", "_att")

    def __init__(self, run, step, scope: dict, item: int, attempt: int, feedback, hooks=None):
        self._run, self.step, self.scope = run, step, scope
        self.item, self.attempt, self.feedback = item, attempt, feedback
        self._hooks = hooks  # the executor's side of revisions (see ``revise``)
        self._att = None     # this try's Attempt (the executor's bookkeeping)

    # what the step can read ------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def step_id(self) -> str:
        return self.step.id

    @property
    def pipeline(self):
        return self._run.pipeline

    @property
    def inputs(self) -> dict:
        return self._run.inputs

    @property
    def outputs(self):
        """Outputs of the steps finished so far, by id (a read-only mapping)."""
        return self._run.outputs

    @property
    def outdir(self):
        return self._run.outdir

    @property
    def extra_names(self) -> dict:
        """Names the caller put in scope (a notebook's variables)."""
        return self._run.scope_extra

    @property
    def state(self):
        """This step's state (status, usage, model...), read-mostly."""
        return self._run.states[self.step.id]

    @property
    def isolation(self) -> dict | None:
        """The limits of this step's child process (`isolation: process`), or None: in-process."""
        return self._run.isolation(self.step)

    @property
    def timeout(self) -> float | None:
        return self.step.timeout or self._run.pipeline.defaults.get("timeout")

    def render(self, value):
        """A compiled field of the step, rendered in this attempt's scope."""
        return render_field(value, self.scope)

    # telling ---------------------------------------------------------------------------------
    def log(self, message: str, level: str = "info") -> None:
        self._run.log(str(message), level, self.step.id)

    def emit(self, kind: str, **data) -> None:
        self._run.emit(kind, self.step.id, self.item, self.attempt, **data)

    # services --------------------------------------------------------------------------------
    async def warm_models(self) -> None:
        """Make the step's models ready to call (SDK imports) without counting against its timeout."""
        warm = getattr(self._run.llm, "warm", None)
        if warm is not None:
            await warm(self.step)

    async def complete(self, messages: list[dict], *, system=None, output=None, model=None, task=None,
                       purpose: str = "step", item: int | None = None, attempt: int | None = None, tools=None):
        """Ask a model (through the run's gateway: routing, fallbacks, cache, records, budget).
        ``tools``: specs the model may call; the answer then may be tool calls (``.tool_calls``)."""
        extra = {"tools": tools} if tools else {}
        check = self.step.check
        if purpose == "step" and check is not None and check.retry_temperature is not None \
                and self.feedback is not None and self.feedback.kind == "check":
            extra["temperature"] = check.retry_temperature  # a try after a failed check
        return await self._run.llm.complete(
            step=self.step, item=self.item if item is None else item,
            attempt=self.attempt if attempt is None else attempt, messages=messages, system=system,
            output=output, model=model, task=task, purpose=purpose, **extra)

    async def tools(self, refs) -> list:
        """The tools named by ``refs`` (built-in names, module:function, mcp:server[/tool]) for this run."""
        return await self._run.toolbox.resolve(list(refs), self.step)

    def record_tool(self, **call) -> None:
        """Record one tool call (a `tool_call` event: the store's tool_calls table, the views)."""
        call.setdefault("item_index", self.item)
        call.setdefault("attempt", self.attempt)
        call.setdefault("id", uuid.uuid4().hex)  # the row's own id (a model's call ids repeat on replays)
        call.setdefault("created_at", time.time())
        self._run.tool_calls.append(dict(call, step_id=self.step.id))
        self.emit("tool_call", **{k: v for k, v in call.items() if k not in ("item_index", "attempt")})

    @property
    def cache(self):
        """The run's result cache (None without a store)."""
        return self._run.cache

    @property
    def use_cache(self) -> bool:
        """Whether this run may answer from the cache (not with --no-cache)."""
        return self._run.use_cache

    @property
    def mode(self) -> str:
        """normal | replay | live (``ORC_MODE``, as the model gateway reads it)."""
        return getattr(self._run.llm, "mode", "normal")

    @property
    def resume_state(self):
        """What this step (or item) saved when it last waited, for a resumed run to go on from; None."""
        return self.state.take_saved(self.item)

    def check_budget(self) -> None:
        self._run.check_budget()

    def write_file(self, rel: str, data: bytes) -> dict:
        """Write an artifact under the output directory and record it: {path, sha256, bytes}."""
        from .artifacts import write_artifact
        return write_artifact(self._run, self.step.id, rel, data)

    async def run_child(self, pipeline, inputs: dict):
        """Run a sub-pipeline as a child run sharing this run's services; its RunResult."""
        return await self._run.child_runner(self._run, pipeline, inputs, self.step.id)

    # people ----------------------------------------------------------------------------------
    async def ask(self, question: str, show: str, revise: str | None = None):
        """The decision on this approval round (the attempt number), or raise ``Waiting``.

        A gate with `timeout:` takes `on_timeout` (approve/reject) once that long has passed since
        it was first asked (a resumed run counts the time it spent waiting); without `on_timeout`
        the step fails. An approval with edits replaces the reviewed output (``revise``'s) before
        later steps see it; a form's values are checked against its schema."""
        run, step, sid, round_ = self._run, self.step, self.step.id, self.attempt
        schema = step.input["schema"] if step.input else None
        edits = output_schema(run.pipeline.steps[revise]) if revise is not None else None  # what an edit must fit
        decision = None
        if run.store is not None:  # decided already (`orc approve`, the sidebar) before a resume?
            decision = await asyncio.to_thread(run.store.find_decision, run.run_id, sid, round_)
        if decision is None:
            state = self.state
            asked = state.asked = state.asked or time.time()
            left = step.timeout - (time.time() - asked) if step.timeout else None
            if left is not None and left <= 0:
                decision = self._timed_out()
            else:
                req = ApprovalRequest(run_id=run.run_id, step_id=sid, round=round_, question=question, show=show,
                                      revise=revise, policy=step.policy or run.approval_policy,
                                      input_schema=schema, editable=revise is not None)
                if getattr(run.approver, "waits", True):  # someone is asked: say so (and record it)
                    self.emit("step_waiting", question=question, show=show, round=round_, revise=revise,
                              input_schema=schema, editable=revise is not None, timeout=step.timeout,
                              edit_schema=edits)
                try:
                    decision = await (asyncio.wait_for(run.approver.decide(req), left) if left is not None
                                      else run.approver.decide(req))
                except asyncio.TimeoutError:
                    decision = self._timed_out()
                if decision is None:
                    raise Waiting({"question": question, "show": show, "round": round_, "revise": revise,
                                   "input_schema": schema, "editable": revise is not None, "asked_at": asked,
                                   "timeout": step.timeout, "on_timeout": step.on_timeout, "edit_schema": edits})
            self.emit("approval", round=round_, **decision.as_dict())
        if decision.decision == "approved":
            if schema is not None:
                wrong = problem(decision.input if decision.input is not None else {}, schema)
                if wrong:
                    raise ApprovalRejected(f"the reviewer's input does not fit the gate's form: {wrong}")
            if decision.edited is not None and revise is not None:
                wrong = problem(decision.edited, edits) if edits is not None else None
                if wrong:  # (front-ends check it when the decision is made: `orc approve`, REST)
                    raise ApprovalRejected(f"the reviewer's edit of '{revise}' does not fit its output: {wrong}")
                await self._hooks.replace_output(self, revise, decision.edited,
                                                 decision.decided_by or decision.mode)
        self.state.rounds = round_
        return decision

    async def ask_tool(self, question: str, show: str, tool: dict, round: int | None = None):
        """The decision on one tool call (``tool``: {name, ref, arguments, call_id, turn}), or raise
        ``Waiting``. Its round is the step's next one, or ``round`` when asked again after a resume
        (its decision is stored under it). Edited arguments come back as ``decision.edited``."""
        run, sid, st = self._run, self.step.id, self.state
        round_ = round if round is not None else st.rounds + 1
        st.rounds = max(st.rounds, round_)  # taken now: calls asked in parallel get their own rounds
        decision = None
        if run.store is not None:  # decided already (`orc approve`, the sidebar) before a resume?
            decision = await asyncio.to_thread(run.store.find_decision, run.run_id, sid, round_)
        if decision is None:
            req = ApprovalRequest(run_id=run.run_id, step_id=sid, round=round_, question=question, show=show,
                                  policy=run.approval_policy, tool=tool)
            if getattr(run.approver, "waits", True):  # someone is asked: say so (and record it)
                self.emit("step_waiting", question=question, show=show, round=round_, revise=None, tool=tool)
            decision = await run.approver.decide(req)
            if decision is None:
                raise Waiting({"question": question, "show": show, "round": round_, "revise": None, "tool": tool})
            self.emit("approval", round=round_, **decision.as_dict())
        return decision

    def _timed_out(self):
        step = self.step
        if step.on_timeout is None:
            raise TimeoutError(f"no decision within {step.timeout:g} s (set on_timeout: approve|reject "
                               "to decide by default)")
        word = "approved" if step.on_timeout == "approve" else "rejected"
        return Decision(word, comment=f"no decision within {step.timeout:g} s", decided_by="timeout", mode="auto")

    async def revise(self, target: str, comment: str) -> None:
        """End this round as 'changes requested', regenerate ``target`` (and the steps between
        it and this one) with the comment as feedback, then go on as the next attempt."""
        self.attempt = await self._hooks.revise(self, target, comment)
