"""orchestrator-nb: multi-step AI pipelines in Jupyter, recorded in DuckDB.

    import orchestrator_nb as orc
    pipeline = orc.load("pipeline.yaml")          # or orc.Pipeline("name", [orc.step(...), ...])
    result = pipeline.run({"topic": "tides"})     # `await pipeline.arun(...)` inside Jupyter
    result.status, result["summary"], result.cost

In a notebook: ``%load_ext orchestrator_nb`` then ``%%orc`` cells.

``import orchestrator_nb`` brings in what building and running a pipeline needs (the core, the run
lifecycle, the journal: small modules, ~10 ms) so a first run is not slowed by imports; everything
heavier comes when first used: YAML, Jinja, DuckDB, model SDKs, the notebook and server parts.
"""
from __future__ import annotations

from .version import __version__
from . import credentials as _credentials  # noqa: F401 - installs key redaction into every error message
from .api import runner as _runner  # noqa: F401 - the run path, imported with the package (see above)
from .core import pipeline as _pipeline  # noqa: F401 - and what building one needs
from .spec import paths as _paths  # noqa: F401

_EXPORTS = {
    "load": ("orchestrator_nb.api", "load"),
    "Pipeline": ("orchestrator_nb.core.pipeline", "Pipeline"),
    "step": ("orchestrator_nb.core.stepdef", "step"),
    "StepDef": ("orchestrator_nb.core.stepdef", "StepDef"),
    "RetryPolicy": ("orchestrator_nb.core.policy", "RetryPolicy"),
    "Check": ("orchestrator_nb.core.policy", "Check"),
    "RunResult": ("orchestrator_nb.core.result", "RunResult"),
    "run": ("orchestrator_nb.api", "run"),
    "arun": ("orchestrator_nb.api", "arun"),
    "resume": ("orchestrator_nb.api", "resume"),
    "aresume": ("orchestrator_nb.api", "aresume"),
    "approve": ("orchestrator_nb.api", "approve"),
    "runs": ("orchestrator_nb.api", "runs"),
    "show": ("orchestrator_nb.api", "show"),
    "sql": ("orchestrator_nb.api", "sql"),
    "models": ("orchestrator_nb.api", "models"),
    "Store": ("orchestrator_nb.store", "Store"),
    "OrcError": ("orchestrator_nb.errors", "OrcError"),
    "SpecError": ("orchestrator_nb.errors", "SpecError"),
    "StepFailed": ("orchestrator_nb.errors", "StepFailed"),
    "ProviderError": ("orchestrator_nb.errors", "ProviderError"),
    "StoreError": ("orchestrator_nb.errors", "StoreError"),
}

__all__ = sorted(_EXPORTS) + ["load_ipython_extension", "__version__"]


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'orchestrator_nb' has no attribute '{name}'")
    from importlib import import_module
    import_module("orchestrator_nb.api")  # registers the runner that Pipeline.run() uses
    value = getattr(import_module(target[0]), target[1])
    globals()[name] = value
    return value


def load_ipython_extension(ipython) -> None:
    """``%load_ext orchestrator_nb``: registers the ``%%orc`` / ``%orc`` magics."""
    from .notebook.magics import load_ipython_extension as _load
    _load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .notebook.magics import unload_ipython_extension as _unload
    _unload(ipython)


def _jupyter_labextension_paths():
    """For `jupyter labextension develop`: where the built frontend extension lives."""
    return [{"src": "labextension", "dest": "orchestrator-nb"}]
