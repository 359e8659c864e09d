"""Commands that live in their own modules. Each module defines ``NAME``, ``add_parser(sub)``
and ``run(args) -> exit code``; keep their top-level imports light (the parser is built on
every `orc` call)."""
from __future__ import annotations

from importlib import import_module

MODULES: list[str] = [
    "orchestrator_nb.cli.notebook",   # orc notebook (papermill)
    "orchestrator_nb.cli.batch",      # orc batch (parameter sweeps)
    "orchestrator_nb.cli.convert",    # orc convert (py-orc dialect -> native YAML)
    "orchestrator_nb.cli.tools",      # orc tools (built-in and MCP tools)
    "orchestrator_nb.cli.stats",      # orc stats (cost and latency)
    "orchestrator_nb.cli.budget",     # orc budget (cross-run budgets)
    "orchestrator_nb.cli.export",     # orc export otlp (stored runs as OpenTelemetry traces)
]


def add_commands(sub, commands: dict) -> None:
    """Register each command module present into the parser and the ``commands`` table."""
    from importlib.util import find_spec

    for name in MODULES:
        if find_spec(name) is None:  # that front-end is not part of this build
            continue
        mod = import_module(name)
        mod.add_parser(sub)
        commands[mod.NAME] = mod.run
