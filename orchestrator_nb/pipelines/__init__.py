"""Built-in pipelines: ``orc run NAME`` and ``%orc run NAME`` find ``<NAME>.yaml`` in this folder.

``project`` is the flagship (requirements -> analysis -> plan -> user stories -> implementation
plans, with approval gates); ``project_files`` holds its python steps. To edit a built-in, copy
its file: ``cp "$(python -c 'import orchestrator_nb.pipelines as p; print(p.path("project"))')" my.yaml``.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """The built-in pipeline names."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def path(name: str) -> Path:
    """The YAML file of a built-in pipeline."""
    p = HERE / f"{name}.yaml"
    if not p.is_file():
        raise LookupError(f"no built-in pipeline {name!r} (built in: {', '.join(names()) or 'none'})")
    return p
