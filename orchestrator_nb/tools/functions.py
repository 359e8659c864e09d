"""Python functions as tools: ``tools: [mypkg.tools:add]`` (or the function itself in Python).

The model is told the function's name, its docstring's first paragraph, and a JSON Schema of its
parameters built from the signature (types from annotations, defaults, and each parameter's line
in the docstring: Google ``Args:``, reST ``:param x:`` or NumPy ``Parameters``). Arguments are
checked and converted with pydantic before the call; a sync function runs in a worker thread so
the run's loop (approval clicks, other steps) keeps going. ``fn.orc_cache = False`` says its
results must not be replayed from the cache (it has side effects).
"""
from __future__ import annotations

import inspect
import re
from typing import Any

from ..core.callables import identity, is_async, resolve_callable
from ..core.serialize import to_jsonable
from ..core.threads import in_thread
from ..errors import SpecError
from .base import NAME, Tool, ToolError


class FunctionTool(Tool):
    source = "python"

    def __init__(self, fn, ref: str | None = None):
        name = getattr(fn, "__name__", None) or type(fn).__name__
        if not NAME.match(name):
            raise SpecError(f"tool function {name!r} needs a name of letters, digits and '_'")
        self.fn = fn
        self.model, self.takes_kwargs = _arguments_model(fn, name)
        summary, params = parse_docstring(inspect.getdoc(fn) or "")
        schema = self.model.model_json_schema()
        schema.pop("title", None)
        for pname, prop in (schema.get("properties") or {}).items():
            prop.pop("title", None)
            if pname in params and "description" not in prop:
                prop["description"] = params[pname]
        schema.setdefault("properties", {})
        schema["type"] = "object"
        ref = ref or f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', name)}"
        super().__init__(name, summary or f"the Python function {ref}", schema, ref=ref, identity=identity(fn))
        self.cacheable = getattr(fn, "orc_cache", True) is not False

    async def run(self, arguments: dict, ctx):
        from pydantic import ValidationError
        try:
            checked = self.model.model_validate(arguments)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                                 for err in e.errors(include_url=False)[:5])
            raise ToolError(f"invalid arguments: {problems}") from None
        kwargs = {k: getattr(checked, k) for k in type(checked).model_fields if k in arguments or
                  type(checked).model_fields[k].is_required()}
        if self.takes_kwargs:
            kwargs.update({k: v for k, v in arguments.items() if k not in type(checked).model_fields})
        if is_async(self.fn):
            value = await self.fn(**kwargs)
        else:
            value = await in_thread(self.fn, **kwargs)
        return to_jsonable(value)


def function_tool(ref) -> FunctionTool:
    """'module:function' (imported now: only a run calls this) or a function -> a tool."""
    fn = resolve_callable(ref)
    return FunctionTool(fn, ref if isinstance(ref, str) else None)


def _arguments_model(fn, name: str):
    """A pydantic model of the function's parameters, and whether it takes **kwargs."""
    from pydantic import ConfigDict, create_model
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise SpecError(f"tool function {name!r} has no signature to describe its arguments") from None
    try:
        hints = _type_hints(fn)
    except Exception:
        hints = {}
    fields: dict[str, Any] = {}
    takes_kwargs = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            takes_kwargs = True
            continue
        if p.kind is p.VAR_POSITIONAL or p.name in ("self", "cls"):
            continue
        annotation = hints.get(p.name, p.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (annotation, default)
    # numbers given for text parameters are taken as text (models and templates often do that)
    config = ConfigDict(extra="allow" if takes_kwargs else "forbid", arbitrary_types_allowed=True,
                        coerce_numbers_to_str=True)
    return create_model(f"{name}_arguments", __config__=config, **fields), takes_kwargs


def _type_hints(fn) -> dict:
    import typing
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)
    return typing.get_type_hints(target)


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Returns?|Raises|Yields|Examples?|Notes?)"
                      r"\s*:?\s*$", re.I)


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: description}) from a Google, reST or NumPy style docstring."""
    lines = doc.strip().splitlines()
    summary_lines = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()) or line.strip().startswith(":"):
            break
        summary_lines.append(line.strip())
    params: dict[str, str] = {}
    for m in re.finditer(r"^\s*:param\s+(?:[\w\[\], .]+\s+)?(\w+)\s*:\s*(.+)$", doc, re.M):  # reST
        params[m.group(1)] = m.group(2).strip()
    section, current = None, None
    for raw in lines:
        stripped = raw.strip()
        head = _SECTION.match(stripped)
        if head:
            section, current = head.group(1).lower(), None
            continue
        if section in ("args", "arguments", "parameters", "params", "keyword args"):
            if set(stripped) <= {"-"} and stripped:
                continue  # NumPy underline
            numpy = re.match(r"^(\w+)\s+:\s*[\w\[\], .|]*$", stripped)     # "name : type"
            google = re.match(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?:\s*(.*)$", stripped)  # "name (type): text"
            indent = len(raw) - len(raw.lstrip())
            if numpy and indent <= 4:
                current = numpy.group(1)
                params.setdefault(current, "")
            elif google and indent <= 4:
                current = google.group(1).lstrip("*")
                params[current] = google.group(2).strip()
            elif current and stripped:
                params[current] = (params.get(current, "") + " " + stripped).strip()
            elif not stripped:
                current = None
    return " ".join(summary_lines), {k: v for k, v in params.items() if v}
