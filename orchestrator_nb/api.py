"""The Python API in a few functions (the CLI and magics call the same core underneath)."""
from __future__ import annotations

from .core.result import RunResult


def run(pipeline, inputs: dict | None = None, **options) -> RunResult:
    """Load (if needed) and run a pipeline; blocks until it ends. See ``core.runner.run_pipeline``."""
    from .core.runner import run_pipeline_sync
    return run_pipeline_sync(pipeline, inputs, **options)


async def arun(pipeline, inputs: dict | None = None, **options) -> RunResult:
    from .core.runner import run_pipeline
    return await run_pipeline(pipeline, inputs, **options)


def resume(run_id: str, **options) -> RunResult:
    import asyncio
    from .core.runner import resume_run
    return asyncio.run(resume_run(run_id, **options))


async def aresume(run_id: str, **options) -> RunResult:
    from .core.runner import resume_run
    return await resume_run(run_id, **options)


def approve(run_id: str, step_id: str, decision: str = "approve", comment: str | None = None,
            db=None, decided_by: str | None = None, mode: str = "cli") -> dict:
    """Decide a pending approval (approve | reject | changes); `resume` continues a stored run."""
    from .store import Store
    from .store.queries import decide
    return decide(Store(db), run_id, step_id, decision, comment, decided_by, mode)


def runs(limit: int = 20, db=None, **filters) -> list[dict]:
    from .store import Store
    from .store.queries import list_runs
    return list_runs(Store(db), limit=limit, **filters)


def show(run_id: str, db=None) -> dict:
    from .store import Store
    from .store.queries import run_detail
    return run_detail(Store(db), run_id)


def sql(query: str, db=None, limit: int | None = 1000):
    """(columns, rows) of a query over the store."""
    from .store import Store
    from .store.queries import sql as _sql
    return _sql(Store(db), query, limit)


def models() -> list[dict]:
    """Providers: name, whether a key is present (never the key), base URL, known models."""
    from .providers.listing import provider_table
    return provider_table()
