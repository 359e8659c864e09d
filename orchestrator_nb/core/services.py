"""What a run needs from the layers above the core, handed in by whoever starts it.

The core runs pipelines; it knows neither DuckDB nor vendor SDKs. ``Services`` carries them in:
the store (decisions made elsewhere, records of earlier runs), the cache, who decides approvals,
the model gateway, and the tools (built-ins, Python functions, MCP servers). ``orchestrator_nb.api`` builds them for every front-end; a run started
from the core alone (``Pipeline.run`` before the api layer is imported) gets ``Services()``:
no store, no models, approvals by policy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Services:
    store: Any = None          # find_decision(run_id, step_id, round), load_run(run_id)
    cache: Any = None          # core.cache.Cache
    approver: Any = None       # decide(ApprovalRequest) -> Decision | None
    gateway: Callable | None = None      # gateway(run) -> an object with complete() and aclose()
    check_model: Callable | None = None  # check_model(pipeline, step) raises SpecError (prepare time)
    tools: Callable | None = None        # tools(run) -> a toolbox: await resolve(refs, step) -> tools; aclose()


_runner = None


def set_runner(module) -> None:
    """The api layer registers the module whose ``run``/``arun`` ``Pipeline.run()`` calls (store on,
    providers), so the core does not import the layers above it."""
    global _runner
    _runner = module


def runner():
    return _runner
