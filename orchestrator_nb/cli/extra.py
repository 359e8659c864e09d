"""Commands that live in their own modules. Each module defines ``NAME``, ``add_parser(sub)``
and ``run(args) -> exit code``; keep their top-level imports light (the parser is built on
every `orc` call)."""
from __future__ import annotations

from importlib import import_module

MODULES: dict[str, str] = {  # command name -> its module (which defines NAME = that name)
    "notebook": "orchestrator_nb.cli.notebook",   # papermill
    "batch": "orchestrator_nb.cli.batch",         # parameter sweeps
    "convert": "orchestrator_nb.cli.convert",     # py-orc dialect -> native YAML
    "tools": "orchestrator_nb.cli.tools",         # built-in and MCP tools
    "stats": "orchestrator_nb.cli.stats",         # cost and latency
    "budget": "orchestrator_nb.cli.budget",       # cross-run budgets
    "export": "orchestrator_nb.cli.export",       # stored runs as OpenTelemetry traces
}


def add_commands(sub, commands: dict) -> None:
    """Register each command module present into the parser and the ``commands`` table; only the
    command being run is imported (``sub.only``: see ``main._Subcommands``)."""
    from importlib.util import find_spec

    only = getattr(sub, "only", None)
    for name, module in MODULES.items():
        if only is not None and name != only:
            sub.name_only(name)
            continue
        if find_spec(module) is None:  # that front-end is not part of this build
            continue
        mod = import_module(module)
        mod.add_parser(sub)
        commands[mod.NAME] = mod.run
