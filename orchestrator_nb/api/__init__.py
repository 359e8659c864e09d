"""The Python API in a few functions (the CLI and magics call the same layer underneath)."""
from __future__ import annotations

import sys

from ..core.result import RunResult
from ..core.services import set_runner
from ..errors import OrcError
from ..store import Store

__all__ = ["load", "run", "arun", "resume", "aresume", "approve", "runs", "show", "sql", "models", "RunResult"]


def load(source, **options):
    """A path, a built-in name, YAML text or a dict -> a ``Pipeline`` (see ``core.loader.load``)."""
    from ..core.loader import load as _load  # PyYAML and the format checks, when first needed
    return _load(source, **options)


def run(pipeline, inputs: dict | None = None, **options) -> RunResult:
    """Load (if needed) and run a pipeline; blocks until it ends. See ``api.runner.run_pipeline``."""
    sync = _run_sync or _load_run_sync()
    return sync(pipeline, inputs, **options)


_run_sync = None


def _load_run_sync():
    """``runner.run_pipeline_sync``, imported on first use (then kept: an import statement per run costs)."""
    global _run_sync
    from .runner import run_pipeline_sync
    _run_sync = run_pipeline_sync
    return _run_sync


async def arun(pipeline, inputs: dict | None = None, **options) -> RunResult:
    from .runner import run_pipeline
    return await run_pipeline(pipeline, inputs, **options)


def resume(run_id: str, **options) -> RunResult:
    import asyncio
    from .blocking import run_blocking
    from .runner import resume_run
    if asyncio._get_running_loop() is not None:
        raise OrcError("an event loop is already running here (Jupyter?): use `await orc.aresume(...)` "
                       "or `%orc resume RUN`")
    return run_blocking(resume_run(run_id, **options))


async def aresume(run_id: str, **options) -> RunResult:
    from .runner import resume_run
    return await resume_run(run_id, **options)


def approve(run_id: str, step_id: str, decision: str = "approve", comment: str | None = None,
            db=None, decided_by: str | None = None, mode: str = "cli") -> dict:
    """Decide a pending approval (approve | reject | changes); `resume` continues a stored run."""
    from ..store.queries import decide
    return decide(Store(db), run_id, step_id, decision, comment, decided_by, mode)


def runs(limit: int = 20, db=None, **filters) -> list[dict]:
    from ..store.queries import list_runs
    return list_runs(Store(db), limit=limit, **filters)


def show(run_id: str, db=None) -> dict:
    from ..store.queries import run_detail
    return run_detail(Store(db), run_id)


def sql(query: str, db=None, limit: int | None = 1000):
    """(columns, rows) of a query over the store."""
    from ..store.queries import sql as _sql
    return _sql(Store(db), query, limit)


def models() -> list[dict]:
    """Providers: name, whether a key is present (never the key), base URL, known models."""
    from ..providers.listing import provider_table
    return provider_table()


set_runner(sys.modules[__name__])  # Pipeline.run() / .arun() call run / arun above
