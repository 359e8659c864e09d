"""Third-party step kinds, found through the ``orchestrator_nb.steps`` entry point group.

Kept apart from ``core.kinds`` so that reading a step (``stepdef``) can tell a plugin's action
key from a misspelt one without importing any kind."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def plugin_kinds() -> dict:
    """name -> entry point (not loaded: loading imports the plugin's code)."""
    from importlib.metadata import entry_points
    return {ep.name: ep for ep in entry_points(group="orchestrator_nb.steps")}
