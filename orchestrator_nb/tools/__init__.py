"""Tools that models (and `call:` steps) use: built-ins, Python functions and MCP servers' tools.

The core's tool loop (``core.kinds.toolloop``) only sees ``Tool`` objects (``tools.base``) through
the run's toolbox (``tools.toolbox.Toolbox``), which the api layer hands in as ``Services.tools``.
"""
from __future__ import annotations

from .base import Tool, ToolError
from .toolbox import BUILTINS, Toolbox, check_pipeline

__all__ = ["BUILTINS", "Tool", "ToolError", "Toolbox", "check_pipeline"]
