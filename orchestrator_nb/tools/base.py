"""A tool as the model sees it (name, description, JSON Schema of its arguments) and as a run
calls it (``await tool.run(arguments, ctx)``), whatever stands behind it: a built-in, a Python
function, or an MCP server's tool."""
from __future__ import annotations

import re

from ..errors import OrcError

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what every vendor accepts as a tool name


class ToolError(OrcError):
    """A tool call that cannot be done as asked (bad arguments, a path outside the confinement, a
    page that does not load...). The model gets the message as the call's result and may try again;
    the step goes on."""


class Tool:
    """One callable tool.

    ``ref``: how the pipeline names it (``fetch``, ``mypkg.tools:add``, ``mcp:files/read``);
    ``source``: builtin | python | mcp; ``identity``: what a cached result is keyed by besides the
    arguments (a function's code hash, an MCP server's command); ``cacheable``: results may be
    replayed (no side effects); ``runs_code``: python / shell, allowed only by the pipeline."""

    cacheable = True
    runs_code = False
    source = "builtin"

    def __init__(self, name: str, description: str, parameters: dict, ref: str | None = None,
                 identity: str | None = None):
        if not NAME.match(name):
            raise OrcError(f"tool name {name!r} is not allowed by model APIs (letters, digits, '_' and '-', "
                           "at most 64)")
        self.name, self.description, self.parameters = name, description, parameters
        self.ref = ref or name
        self.identity = identity or self.ref

    @property
    def spec(self) -> dict:
        """What the model is told about the tool."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    async def run(self, arguments: dict, ctx):
        """The result (text or JSON-able data); raise ToolError for a failure the model should hear."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Tool {self.name} ({self.source}: {self.ref})>"


def object_schema(properties: dict, required=()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def need(arguments: dict, key: str, kind=str):
    """An argument the model must give, of a type; else a ToolError it can act on."""
    value = arguments.get(key)
    if value is None:
        raise ToolError(f"missing argument '{key}'")
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ToolError(f"argument '{key}' must be {_kind_word(kind)}, not {type(value).__name__}")
    return value


def _kind_word(kind) -> str:
    words = {str: "text", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}
    return words.get(kind, str(kind))
