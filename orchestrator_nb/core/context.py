"""Per-run state: inputs, step states, scope for templates, cost, and the run's services."""
from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from pathlib import Path

from ..errors import BudgetExceeded, OrcError
from .events import Bus, Event
from .isolation import limits_of
from .services import Services

FINAL = frozenset({"succeeded", "skipped", "failed", "cancelled"})
NO_USAGE = (0, 0, 0.0)


class _Nothing(Mapping):
    """An empty mapping nobody can write to: a step state's default for what most steps never
    keep (``StepState.set_base_attempt``, ``save``). It pickles and copies as itself."""

    __slots__ = ()

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __reduce__(self):
        return "NOTHING"

    def __repr__(self) -> str:
        return "{}"


NOTHING = _Nothing()
DONE = frozenset({"succeeded", "skipped"})


class StepState:
    """What is known about one step in this run; templates see it as ``steps.<id>``
    (``.output``, ``.status``, ``.error``; printed, it is its output)."""

    __slots__ = ("status", "output", "error", "attempt", "started", "ended", "model", "cached",
                 "items", "rounds", "reason", "usage", "base_attempt", "asked", "suspended")

    def __init__(self):
        self.status = "pending"
        self.output = None
        self.error = None
        self.attempt = 0
        self.started = self.ended = None
        self.model = None
        self.cached = False
        self.items: dict[int, object] | None = None   # finished for_each items (for resume)
        self.rounds = 0                               # approval rounds already decided
        self.reason = None                            # why skipped / not run
        self.usage = NO_USAGE                         # tokens in, tokens out, cost (all attempts)
        self.base_attempt: Mapping[int, int] = NOTHING  # item -> attempts already made (resume)
        self.asked: float | None = None               # when an approval was first asked (its timeout)
        self.suspended: Mapping[int, dict] = NOTHING  # item -> what a waiting try saved (resume goes on from it)
        # (the shared read-only defaults: most steps never use these, and a run makes one state per step)

    def add_usage(self, tokens_in: int, tokens_out: int, cost: float) -> None:
        u = self.usage
        self.usage = (u[0] + tokens_in, u[1] + tokens_out, u[2] + cost)

    def set_base_attempt(self, item: int, number: int) -> None:
        if self.base_attempt is NOTHING:
            self.base_attempt = {}
        self.base_attempt[item] = number

    def save(self, item: int, saved: dict) -> None:
        """What a waiting try of ``item`` saved (a resumed run goes on from it: ``take_saved``)."""
        if self.suspended is NOTHING:
            self.suspended = {}
        self.suspended[item] = saved

    def take_saved(self, item: int):
        return None if self.suspended is NOTHING else self.suspended.pop(item, None)

    def __str__(self) -> str:  # `{{ steps.x }}` reads as its output
        return "" if self.output is None else str(self.output)


class StepsScope:
    """``steps`` in templates: ``steps.<id>`` and ``steps['<id>']``. No public methods, so a step
    may be called `items` or `get` (a dict would answer with its method)."""

    __slots__ = ("_states",)

    def __init__(self, states: dict):
        self._states = states

    def __getattr__(self, sid: str):
        try:
            return self._states[sid]
        except KeyError:
            raise AttributeError(sid) from None

    def __getitem__(self, sid: str):
        return self._states[sid]

    def __contains__(self, sid) -> bool:
        return sid in self._states

    def __iter__(self):
        return iter(self._states)


class Outputs(Mapping):
    """Outputs of the steps that have finished (None for skipped ones), by id: a read-only view of
    the run's states, so reading it costs the same in a step of a 10-step run as of a 1,000-step one."""

    __slots__ = ("_states",)

    def __init__(self, states: dict):
        self._states = states

    def __getitem__(self, sid: str):
        st = self._states[sid]
        if st.status in DONE:
            return st.output
        raise KeyError(sid)

    def __iter__(self):
        return (sid for sid, st in self._states.items() if st.status in DONE)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


class RunInfo:
    __slots__ = ("id", "name", "outdir")

    def __init__(self, id: str, name: str, outdir: str):
        self.id, self.name, self.outdir = id, name, outdir

    def __str__(self) -> str:
        return self.id



@functools.lru_cache(maxsize=32)
def _path(outdir) -> Path:
    """The output directory as a Path: the same few folders run after run (Paths never change)."""
    return Path(outdir)


class RunContext:
    def __init__(self, pipeline, run_id: str, inputs: dict, *, services: Services | None = None,
                 bus: Bus | None = None, outdir: str | Path = ".", scope=None, source: str = "api",
                 notebook_path: str | None = None, parent=None, use_cache: bool = True,
                 approval_policy: str | None = None, isolate: bool = False):
        self.pipeline, self.run_id, self.inputs = pipeline, run_id, inputs
        self.services = services = services or Services()
        self.store, self.cache, self.approver = services.store, services.cache, services.approver
        self.bus = bus or Bus()
        self.outdir = _path(outdir)
        self.source, self.notebook_path, self.parent = source, notebook_path, parent
        self.use_cache = use_cache
        self.approval_policy = approval_policy
        self.isolate = isolate  # `--isolate`: every code/python step in a confined child process
        self.states: dict[str, StepState] = {sid: StepState() for sid in pipeline.steps}
        self.cost_usd = 0.0
        self.tokens_in = self.tokens_out = 0
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.started = time.time()
        self.ended: float | None = None
        self.child_runner = None  # set by core.runner: starts `pipeline:` steps' child runs
        self._llm = None
        self._tools = None
        self.tool_calls: list[dict] = []  # this run's tool calls, in order (for results and views)
        self.scope_extra = dict(scope or {})
        self.scope = {**self.scope_extra, "inputs": inputs, "steps": StepsScope(self.states),
                      "run": RunInfo(run_id, pipeline.name, str(self.outdir))}

    # events ----------------------------------------------------------------------------------
    def emit(self, kind: str, step_id: str | None = None, item: int = -1, attempt: int = 0, **data) -> None:
        if self.bus.subscribers:
            self.bus.emit(Event(kind, self.run_id, step_id, item, attempt, data))

    def log(self, message: str, level: str = "info", step_id: str | None = None) -> None:
        self.emit("log", step_id, level=level, message=message)

    # results ---------------------------------------------------------------------------------
    def set_result(self, sid: str, status: str, output=None, error=None) -> None:
        st = self.states[sid]
        st.status, st.output, st.error = status, output, error

    @property
    def outputs(self) -> Outputs:
        """Outputs of the steps that have finished (None for skipped ones), by id (a live view)."""
        return Outputs(self.states)

    def isolation(self, step) -> dict | None:
        """The limits of a step's child process, or None when it runs in-process."""
        if step.kind not in ("code", "python"):
            return None
        if self.isolate:  # the person running the pipeline decides, whatever the pipeline says
            return limits_of("process")
        setting = step.isolation if step.isolation is not None else self.pipeline.defaults.get("isolation")
        return limits_of(setting)

    # services --------------------------------------------------------------------------------
    @property
    def llm(self):
        """The model gateway of this run (made on first use)."""
        if self._llm is None:
            if self.services.gateway is None:
                raise OrcError("this run has no model gateway: start it through orchestrator_nb.run() "
                               "(or the CLI / magics), which provides one")
            self._llm = self.services.gateway(self)
        return self._llm

    @property
    def toolbox(self):
        """The tools of this run (made on first use; MCP servers it starts stop with the run)."""
        if self._tools is None:
            if self.services.tools is None:
                raise OrcError("this run has no tools: start it through orchestrator_nb.run() (or the CLI / "
                               "magics), which provides them")
            self._tools = self.services.tools(self)
        return self._tools

    async def aclose(self) -> None:
        if self._tools is not None:
            tools, self._tools = self._tools, None
            await tools.aclose()
        if self._llm is not None:
            await self._llm.aclose()

    # accounting ------------------------------------------------------------------------------
    def check_budget(self) -> None:
        """Raise BudgetExceeded when this run (or a parent) has spent its budget already (a tool
        loop asks before each turn: parallel steps may have spent it meanwhile)."""
        self._within_budget()
        if self.parent is not None:
            self.parent.check_budget()

    def add_usage(self, cost_usd: float, tokens_in: int, tokens_out: int) -> None:
        self.cost_usd += cost_usd
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        if self.parent is not None:
            self.parent.add_usage(cost_usd, tokens_in, tokens_out)
        self._within_budget()

    def _within_budget(self) -> None:
        budget = self.pipeline.budget
        if budget:
            cap = budget.get("max_cost_usd")
            if cap is not None and self.cost_usd > cap:
                raise BudgetExceeded(f"budget exceeded: ${self.cost_usd:.4f} spent, limit ${cap}")
            cap = budget.get("max_tokens")
            if cap is not None and self.tokens_in + self.tokens_out > cap:
                raise BudgetExceeded(f"token budget exceeded: {self.tokens_in + self.tokens_out} > {cap}")
