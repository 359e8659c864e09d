"""The core: pipelines (steps compiled, graph checked), the executor, step kinds and runs.

Pure: it imports no front-end, no store and no vendor SDK. What a run needs from outside comes in
through ``core.services.Services`` (built by ``orchestrator_nb.api``)."""
