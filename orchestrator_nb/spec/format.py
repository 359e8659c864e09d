"""The pipeline format, defined once.

Every key a pipeline file (or the Python API) may hold is declared here with its type, default
and description. From these declarations come:
- the checks: ``PIPELINE.check(data)`` for a loaded file, ``STEP.check(fields)`` for
  ``orc.step(...)``, ``RETRY``/``CHECK``/``DEFAULTS``/... for the runtime objects; each failure a
  one-line ``SpecError`` located by ``loc`` (the loader adds file and line);
- ``json_schema()``: the JSON Schema that `orc schema` prints for editors.
So a key cannot be accepted in one place and refused in another. Values only the Python API can
give (functions, classes, a Pipeline object) are accepted by ``check(..., python=True)`` and
left out of the JSON Schema.
"""
from __future__ import annotations

import math
import re

from ..errors import SpecError, suggest
from .plugins import plugin_kinds

_ID = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"
_REF = r"^[\w.]+:[\w.]+$"
MAX_INT_DIGITS = 18  # bigger numbers in a spec are mistakes (and slow to convert)
MAX_SECONDS = 10_000_000  # a timeout longer than ~4 months is a mistake (and overflows the OS's timers)


def short(value) -> str:
    """A value as an error message shows it: repr, one line, at most 40 characters."""
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - a broken __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


class Type:
    """A kind of value. ``check`` returns the value (maybe normalised) or raises SpecError."""

    doc = "a value"
    python_only = False

    def fits(self, value) -> bool:
        """Whether the value has this type's shape (picks the branch that explains an error)."""
        return True

    def check(self, value, loc: tuple, python: bool):
        return value

    def schema(self) -> dict:
        return {}

    def fail(self, value, loc, what=None):
        raise SpecError(f"expected {what or self.doc}, got {short(value)}", loc=loc)


class Anything(Type):
    pass


class Bool(Type):
    doc = "true or false"

    def fits(self, value):
        return isinstance(value, bool)

    def check(self, value, loc, python):
        if not isinstance(value, bool):
            self.fail(value, loc)
        return value

    def schema(self):
        return {"type": "boolean"}


class Num(Type):
    """A number (``integer=True``: whole numbers only), with optional bounds."""

    def __init__(self, integer: bool = False, gt=None, ge=None, le=None):
        self.integer, self.gt, self.ge, self.le = integer, gt, ge, le
        self.doc = "an integer" if integer else "a number"

    def fits(self, value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def check(self, value, loc, python):
        ok = isinstance(value, int) if self.integer else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            self.fail(value, loc)
        if isinstance(value, int) and value.bit_length() > 60:
            raise SpecError(f"number too large ({MAX_INT_DIGITS} digits at most)", loc=loc)
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"must be a finite number, not {short(value)}", loc=loc)
        for bound, bad, word in ((self.gt, lambda b: value <= b, ">"), (self.ge, lambda b: value < b, ">="),
                                 (self.le, lambda b: value > b, "<=")):
            if bound is not None and bad(bound):
                raise SpecError(f"must be {self.doc} {word} {bound}, not {short(value)}", loc=loc)
        return value

    def schema(self):
        out = {"type": "integer" if self.integer else "number"}
        for key, bound in (("exclusiveMinimum", self.gt), ("minimum", self.ge), ("maximum", self.le)):
            if bound is not None:
                out[key] = bound
        return out


def Int(**bounds) -> Num:
    return Num(integer=True, **bounds)


class Text(Type):
    def __init__(self, pattern: str | None = None, doc: str = "text", hint: str | None = None):
        self.pattern = re.compile(pattern) if pattern else None
        self.doc, self.hint = doc, hint

    def fits(self, value):
        return isinstance(value, str)

    def check(self, value, loc, python):
        if not isinstance(value, str):
            self.fail(value, loc)
        if self.pattern is not None and not self.pattern.match(value):
            raise SpecError(f"invalid {self.doc} {short(value)}", loc=loc, hint=self.hint)
        return value

    def schema(self):
        out = {"type": "string"}
        if self.pattern is not None:
            out["pattern"] = self.pattern.pattern
        return out


class OneOf(Type):
    """One of a fixed set of words (or values)."""

    def __init__(self, *choices):
        self.choices = choices
        self.doc = "one of " + ", ".join(str(c) for c in choices)

    def fits(self, value):
        return isinstance(value, str) and all(isinstance(c, str) for c in self.choices)

    def check(self, value, loc, python):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in self.choices:
            return value
        if isinstance(value, str):
            raise SpecError(f"{short(value)} is not {self.doc}", loc=loc, hint=suggest(value, self.choices))
        self.fail(value, loc)

    def schema(self):
        return {"enum": list(self.choices)}


class ListOf(Type):
    def __init__(self, item: Type, min_items: int = 0, too_few: str | None = None):
        self.item, self.min_items = item, min_items
        self.too_few = too_few or f"needs at least {min_items} item(s)"
        self.doc = "a list"

    def fits(self, value):
        return isinstance(value, (list, tuple))

    def check(self, value, loc, python):
        if not isinstance(value, list) and not (python and isinstance(value, tuple)):
            self.fail(value, loc)
        if len(value) < self.min_items:
            raise SpecError(self.too_few, loc=loc)
        return [self.item.check(v, loc + (i,), python) for i, v in enumerate(value)]

    def schema(self):
        out = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            out["minItems"] = self.min_items
        return out


class MapOf(Type):
    """A mapping of names to values of one type."""

    def __init__(self, value: Type, doc: str = "a mapping"):
        self.value, self.doc = value, doc

    def fits(self, value):
        return isinstance(value, dict)

    def check(self, value, loc, python):
        if not isinstance(value, dict):
            self.fail(value, loc)
        for k in value:
            if not isinstance(k, str):
                raise SpecError(f"keys must be text, not {short(k)}", loc=loc)
        return {k: self.value.check(v, loc + (k,), python) for k, v in value.items()}

    def schema(self):
        return {"type": "object", "additionalProperties": self.value.schema()}


class Either(Type):
    """Any of several types. An error is explained by the one branch of the value's shape."""

    def __init__(self, *types: Type):
        self.types = types
        self.doc = " or ".join(t.doc for t in types if not t.python_only)

    def fits(self, value):
        return any(t.fits(value) for t in self.types)

    def check(self, value, loc, python):
        shaped, first = 0, None
        for t in self.types:
            if (python or not t.python_only) and t.fits(value):
                shaped += 1
                try:
                    return t.check(value, loc, python)
                except SpecError as e:
                    first = first or e
        if shaped == 1:
            raise first
        self.fail(value, loc)

    def schema(self):
        return {"anyOf": [t.schema() for t in self.types if not t.python_only]}


class Python(Type):
    """A value only Python code can give (a function, a class, a Pipeline object)."""

    python_only = True

    def __init__(self, test, doc: str):
        self.test, self.doc = test, doc

    def fits(self, value):
        return not isinstance(value, (str, int, float, bool, list, dict, tuple, type(None))) and self.test(value)

    def check(self, value, loc, python):
        if not python or not self.test(value):
            self.fail(value, loc)
        return value


class Field:
    __slots__ = ("type", "default", "description", "required")

    def __init__(self, type: Type, description: str = "", default=None, required: bool = False):
        self.type, self.description, self.default, self.required = type, description, default, required


class Record(Type):
    """A mapping with known keys (each a Field). Unknown keys are errors that suggest the closest."""

    doc = "a mapping"

    def __init__(self, name: str, description: str, fields: dict[str, Field], extra: bool = False):
        self.name, self.description, self.fields, self.extra = name, description, fields, extra
        self.required = tuple(k for k, f in fields.items() if f.required)  # (not all ~50 of a step's)

    def fits(self, value):
        return isinstance(value, dict)

    def check(self, value, loc=(), python=False):
        if not isinstance(value, dict):
            self.fail(value, loc)
        out = {}
        for key, v in value.items():
            f = self.fields.get(key) if isinstance(key, str) else None
            if f is None:
                if self.extra and isinstance(key, str):
                    out[key] = v
                    continue
                self.unknown(key, loc)
            out[key] = None if v is None and not f.required else f.type.check(v, loc + (key,), python)
        for key in self.required:
            if value.get(key) is None:
                raise SpecError(f"missing required key '{key}'", loc=loc)
        return out

    def unknown(self, key, loc):
        if not isinstance(key, str):
            raise SpecError(f"keys must be text, not {short(key)}", loc=loc)
        raise SpecError(f"unknown key {short(key)}", loc=loc + (key,),
                        hint=suggest(key, self.fields) or f"{self.name} takes " + ", ".join(self.fields))

    def schema(self):
        return {"$ref": f"#/$defs/{self.name}"}

    def definition(self) -> dict:
        props = {}
        for key, f in self.fields.items():
            if f.type.python_only:
                continue
            p = dict(f.type.schema())
            if f.description:
                p["description"] = f.description
            if f.default is not None:
                p["default"] = f.default
            props[key] = p
        out = {"type": "object", "description": self.description, "properties": props,
               "additionalProperties": self.extra}
        required = [k for k, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        return out


# the sections ---------------------------------------------------------------------------------
def is_function(v) -> bool:
    """What a `python:` step, check or tool may be in Python: something callable that is not a class."""
    return callable(v) and not isinstance(v, type)



Ref = Text(_REF, doc="'module:function' reference", hint="e.g. mypkg.steps:save")
# a tool: a built-in name, module:function, mcp:server or mcp:server/tool (checked further at prepare time)
_TOOL = r"^(?:[A-Za-z_][\w-]*|[\w.]+:[\w.]+|mcp:[A-Za-z0-9_-]+(?:/[\w.-]+)?)$"
_TOOL_HINT = "a built-in name (fetch, search, ...), module:function, mcp:server or mcp:server/tool"
ModelRef = Either(Text(doc="a model id or alias"), ListOf(Text(doc="a model id or alias"), min_items=1))
Template = Text(doc="text (a template)")
Condition = Either(Text(doc="an expression"), Bool())

RETRY = Record("RetrySpec", "Retry policy: total attempts, delays and which failures to retry.", {
    "attempts": Field(Int(ge=1), "total tries (1 = no retry)", 1),
    "backoff": Field(Either(OneOf("none", "fixed", "linear", "exponential"), ListOf(Num(ge=0))),
                     "none | fixed | linear | exponential, or a list of delays in seconds", "exponential"),
    "delay": Field(Num(ge=0), "base delay in seconds", 1.0),
    "max_delay": Field(Num(ge=0), "longest delay in seconds", 60.0),
    "jitter": Field(Num(ge=0, le=1), "+- fraction of each delay", 0.0),
    "retry_on": Field(Either(Text(), ListOf(Text())),
                      "any | timeout | provider | rate_limit | server | connection | exception class names", "any"),
})
Retry = Either(Int(ge=1), RETRY, Python(lambda v: type(v).__name__ == "RetryPolicy", "a RetryPolicy"))

CHECK = Record("CheckSpec", "Quality gate. A failed check re-runs the step with the failure fed back.", {
    "expr": Field(Text(doc="an expression"), "expression over `output` that must be true"),
    "python": Field(Either(Ref, Python(is_function, "a function")),
                    "module:function(output, **params) -> bool or failure text"),
    "params": Field(MapOf(Anything()), "keyword arguments (templates) for the `python` check"),
    "judge": Field(Template, "question to a model; it answers PASS or FAIL + reasons"),
    "model": Field(ModelRef, "the judge's model"),
    "task": Field(Text(), "the judge's task type (routing)"),
    "max_attempts": Field(Int(ge=1), "total tries of the step", 3),
    "message": Field(Text(), "what the failure says (fed back to the next try)"),
    "retry_temperature": Field(Num(ge=0, le=2), "prompt steps: the sampling temperature of the tries after a failed "
                                                "check (default: the step's); a higher one keeps a model from "
                                                "writing its rejected answer again"),
    "retry_fresh": Field(Bool(), "prompt steps: the tries after a failed check see the failure but not the "
                                 "rejected answer, so the model writes anew instead of copying it", False),
})
Check = Either(Text(doc="an expression"), CHECK, Python(is_function, "a function"),
               Python(lambda v: type(v).__name__ == "Check", "a Check"))

WRITE = Record("WriteSpec", "An artifact file under the run's output directory.", {
    "path": Field(Template, "file path under the run's output directory", required=True),
    "content": Field(Anything(), "text, or data written as JSON/YAML", ""),
    "format": Field(OneOf("auto", "text", "json", "yaml"), "how content is written", "auto"),
})

OUTPUT = Either(OneOf("text", "json", "markdown"),
                Record("SchemaOutput", "structured output", {
                    "schema": Field(MapOf(Anything()), "JSON Schema the output must match", required=True)}),
                Text(_REF, doc="'module:PydanticModel' reference", hint="e.g. mypkg.models:Plan"),
                Python(lambda v: isinstance(v, type), "a pydantic model class"))

ISOLATION = Record("IsolationSpec", "A child process for `code`/`python` steps, with these limits.", {
    "memory_mb": Field(Int(ge=32), "address-space limit", 1024),
    "output_mb": Field(Num(gt=0), "largest result and largest file written", 16),
    "network": Field(Bool(), "allow network access", False),
})
Isolation = Either(OneOf("none", "process"), ISOLATION)

ACTIONS = {
    "prompt": Field(Template, "LLM prompt (template)"),
    "call": Field(Either(Text(_TOOL, doc="a tool", hint=_TOOL_HINT), Python(is_function, "a function")),
                  "run one tool directly (no model) with `params` as its arguments"),
    "python": Field(Either(Ref, Python(is_function, "a function")),
                    "module:function called with `params` as keyword arguments"),
    "code": Field(Text(doc="Python source text"), "inline Python; assign the result to `output`"),
    "sql": Field(Template, "DuckDB SQL (template); bind values with params: $name"),
    "approval": Field(Template, "question shown to the reviewer"),
    "write": Field(WRITE, "write an artifact file"),
    "pipeline": Field(Either(Text(doc="a path or built-in name"), MapOf(Anything(), doc="an inline pipeline"),
                             Python(lambda v: type(v).__name__ == "Pipeline", "a Pipeline")),
                      "sub-pipeline: a path, a built-in name, or an inline pipeline (a mapping with steps)"),
}
ACTION_KEYS = tuple(ACTIONS)

COMMON = {
    "id": Field(Text(_ID, doc="step id", hint="use letters, digits and '_', starting with a letter or '_'"),
                "unique id; `steps.<id>` in templates", required=True),
    "name": Field(Text(), "display name"),
    "description": Field(Text()),
    "needs": Field(Either(Text(), ListOf(Text())), "steps to run first (besides those its templates read)"),
    "when": Field(Condition, "condition; the step is skipped when false"),
    "for_each": Field(Either(Text(doc="text"), ListOf(Anything())), "fan out over a list; item/index in scope"),
    "max_parallel": Field(Int(ge=1), "at most this many items at once"),
    "while": Field(Condition, "repeat the step while this is true (checked before each iteration; "
                              "iteration/previous in scope); output: the list of iterations"),
    "max_iterations": Field(Either(Int(ge=1), Text(doc="a template")), "cap for `while` (default 10)"),
    "retry": Field(Retry, "an attempt count or a retry policy"),
    "timeout": Field(Num(gt=0, le=MAX_SECONDS), "seconds per attempt"),
    "cache": Field(Bool(), "reuse a result for the same inputs (prompt steps: on by default)"),
    "check": Field(Check, "quality gate: an expression or {expr|python|judge, params, max_attempts, message}"),
    "model": Field(ModelRef, "provider:model, an alias, or a fallback list"),
    "task": Field(Text(), "task type, routed through `routing`"),
    "system": Field(Template, "system prompt (template)"),
    "output": Field(OUTPUT, "text | json | markdown | {schema: JSON Schema} | module:PydanticModel"),
    "params": Field(MapOf(Anything()), "values (templates) passed to the step"),
    "temperature": Field(Num(), "sampling temperature"),
    "max_tokens": Field(Int(ge=1), "longest answer, in tokens"),
    "show": Field(Anything(), "approval: what the reviewer sees (template)"),
    "revise": Field(Text(), "approval: the step regenerated on 'request changes'"),
    "max_revisions": Field(Int(ge=1), "approval: rounds of changes before giving up (default 5)"),
    "policy": Field(OneOf("ask", "auto", "reject", "defer", "fail"), "approval: this gate's policy"),
    "input": Field(Record("InputForm", "A form the reviewer fills in at the gate.", {
        "schema": Field(MapOf(Anything()), "JSON Schema of the form (an object with properties)", required=True),
    }), "approval: a typed form; its values become the step's output `input`"),
    "on_timeout": Field(OneOf("approve", "reject"), "approval: the decision when `timeout` passes without one"),
    "on_error": Field(OneOf("fail", "continue", "fail_at_end"),
                      "fail: a failure stops the run; continue: later steps go on and the run can still succeed; "
                      "fail_at_end: later steps go on, and the run ends failed (exit 1) once they are done", "fail"),
    "thread": Field(Bool(), "run a blocking python step in a worker thread"),
    "files": Field(ListOf(Text(doc="a file path")), "sql: files the step may read or write besides the output "
                                                    "directory's (plain paths, relative to the output directory)"),
    "isolation": Field(Isolation, "code/python: none (in-process, the default) or process (a confined child "
                                  "process; a mapping sets its limits)"),
    "sql_access": Field(OneOf("confined", "full"), "sql: confined (the default: output directory and `files:` "
                                                   "only, no ATTACH or extensions) or full (all of DuckDB)"),
    "tools": Field(ListOf(Either(Text(_TOOL, doc="a tool", hint=_TOOL_HINT), Python(is_function, "a function"))),
                   "prompt: tools the model may call: built-in names, module:function, mcp:server, "
                   "mcp:server/tool"),
    "max_turns": Field(Int(ge=1), "prompt with tools: model turns before giving up (default 10)"),
    "approve_tools": Field(Either(OneOf("all"), ListOf(Text(doc="a tool name"))),
                           "tools whose every call waits for a person's approval, or `all`"),
}


class StepRecord(Record):
    """A step: an `id`, exactly one action key (or a plugin kind's key), and common keys."""

    def __init__(self):
        super().__init__("StepSpec", "A step: an `id`, exactly one action key, and common keys.",
                         {**COMMON, **ACTIONS})

    def check(self, value, loc=(), python=False):
        if not isinstance(value, dict):
            self.fail(value, loc, "a step (a mapping with `id` and an action)")
        actions = [k for k in value if k in ACTIONS and value[k] is not None]
        plugins = ()
        if not actions:  # a third-party kind's key? (looked up only then: it reads entry points)
            plugins = plugin_kinds()
            actions = [k for k in value if k in plugins]
        if len(actions) > 1:
            raise SpecError("has several actions: " + ", ".join(actions) + " (keep exactly one)", loc=loc)
        if not plugins and actions:  # a built-in kind (the common case): nothing to set aside
            return super().check(value, loc, python)
        known = {k: v for k, v in value.items() if k not in plugins or k in self.fields}
        out = super().check(known, loc, python)
        if not actions:
            raise SpecError("has no action", loc=loc, hint="give exactly one of " + ", ".join(ACTION_KEYS))
        for k in value:
            if k not in out:
                out[k] = value[k]  # the plugin's own action value
        return out

    def definition(self):
        out = super().definition()
        out["oneOf"] = [{"required": [k]} for k in ACTION_KEYS]
        return out


STEP = StepRecord()
STEP_KEYS = tuple(COMMON)

_INPUT_TYPES = ("string", "integer", "number", "boolean", "array", "object", "any")
INPUT = Record("InputSpec", "A typed input; -p key=value, papermill and the magics override it.", {
    "type": Field(OneOf(*_INPUT_TYPES), "", "any"),
    "default": Field(Anything(), "value when none is given"),
    "required": Field(Bool(), "must be given (default: when there is no default)"),
    "description": Field(Text(), "shown in help and forms"),
    "choices": Field(ListOf(Anything()), "the allowed values"),
})


class InputDecl(Type):
    """`inputs: {n: {type: integer, default: 3}}`, or the short form `inputs: {n: 3}` (a default)."""

    doc = "an input declaration"

    def check(self, value, loc, python):
        if isinstance(value, dict) and value and all(isinstance(k, str) and k in INPUT.fields for k in value):
            return INPUT.check(value, loc, python)
        if isinstance(value, dict) and value.get("type") in _INPUT_TYPES:
            # a declaration with a stray key, most often `{description: Who, and why}`: in a {...}
            # mapping an unquoted comma ends the value and starts a key
            key = next(k for k in value if k not in INPUT.fields)
            if value[key] is None and isinstance(key, str):
                raise SpecError(f"unknown key {short(key)}", loc=loc + (key,),
                                hint="inside {...} a comma ends an unquoted value and starts a key: quote the value")
            INPUT.unknown(key, loc)
        return value

    def schema(self):
        return {"anyOf": [INPUT.schema(), {}]}


DEFAULTS = Record("DefaultsSpec", "Defaults for every step.", {
    "timeout": Field(Num(gt=0, le=MAX_SECONDS), "seconds per attempt"),
    "retry": Field(Retry, "an attempt count or a retry policy"),
    "temperature": Field(Num(), "sampling temperature"),
    "max_tokens": Field(Int(ge=1), "longest answer, in tokens"),
    "cache": Field(Bool(), "step cache for python/code/sql steps; model answers are cached unless false"),
    "model": Field(ModelRef, "model for prompt steps that name none"),
    "system": Field(Text(), "system prompt for prompt steps that give none"),
    "isolation": Field(Isolation, "isolation of code/python steps that set none"),
})

BUDGET = Record("BudgetSpec", "A run stops cleanly (status budget_exceeded) past it.", {
    "max_cost_usd": Field(Num(gt=0), "dollars"),
    "max_tokens": Field(Int(ge=1), "input + output tokens"),
})

MCP_SERVER = Record("McpServerSpec", "An MCP server: `command` (stdio) or `url` (streamable HTTP).", {
    "command": Field(Either(Text(doc="a command"), ListOf(Text(doc="a command word"), min_items=1)),
                     "stdio: the program and its arguments"),
    "args": Field(ListOf(Text(doc="an argument")), "stdio: more arguments (as in other MCP clients' configs)"),
    "env": Field(MapOf(Text(doc="text")), "stdio: extra environment variables ($NAME reads this process's)"),
    "cwd": Field(Text(), "stdio: the server's working directory"),
    "url": Field(Text(r"^https?://", doc="an http(s) URL"), "streamable HTTP: the server's URL"),
    "headers": Field(MapOf(Text(doc="text")), "HTTP: request headers ($NAME reads this process's environment)"),
    "timeout": Field(Num(gt=0, le=MAX_SECONDS), "seconds to start and for each call (default 60)"),
})

FETCH = Record("FetchSpec", "`fetch`: HTTP GET of a page as text.", {
    "max_bytes": Field(Int(ge=1), "largest download (default 2000000)"),
    "timeout": Field(Num(gt=0, le=MAX_SECONDS), "seconds (default 20)"),
    "allow_private": Field(Bool(), "let model-chosen URLs reach this machine and private networks", False),
})
SEARCH = Record("SearchSpec", "`search`: a web search provider.", {
    "provider": Field(OneOf("auto", "duckduckgo", "brave", "tavily"),
                      "auto: a keyed provider whose key is set, else DuckDuckGo", "auto"),
    "max_results": Field(Int(ge=1, le=50), "results per search (default 5)"),
})
TOOLS = Record("ToolsSpec", "Settings of the built-in tools for every step of the pipeline.", {
    "allow": Field(ListOf(OneOf("python", "shell")),
                   "tools that run code on this machine, off unless listed here (and in a step's tools)"),
    "max_result_chars": Field(Int(ge=100), "longest tool result given back to the model (default 20000)"),
    "fetch": Field(FETCH, "fetch settings"),
    "search": Field(SEARCH, "search settings"),
    "timeout": Field(Num(gt=0, le=MAX_SECONDS), "seconds for one python/shell tool call (default 30)"),
})

PIPELINE = Record("PipelineSpec", "An orchestrator-nb pipeline.", {
    "name": Field(Text(_NAME, doc="pipeline name", hint="start with a letter; letters, digits, '_' and '-'"),
                  "[A-Za-z][A-Za-z0-9_-]*", required=True),
    "description": Field(Text()),
    "version": Field(Either(Text(), Num())),
    "inputs": Field(MapOf(InputDecl()), "typed parameters"),
    "models": Field(MapOf(ModelRef), "aliases; a list is a fallback chain, tried in order"),
    "routing": Field(MapOf(Text()), "task type -> model or alias"),
    "defaults": Field(DEFAULTS, "defaults for every step"),
    "budget": Field(BUDGET, "spending limits of a run"),
    "prices": Field(MapOf(MapOf(Num(ge=0))),
                    "per-model prices in USD per million tokens: {model: {input: x, output: y}}"),
    "mcp": Field(MapOf(MCP_SERVER), "MCP servers the steps' tools may name (mcp:NAME), started on demand"),
    "tools": Field(TOOLS, "settings of the built-in tools (allow python/shell, limits, search provider)"),
    "steps": Field(ListOf(STEP, min_items=1, too_few="a pipeline needs at least one step"), "the steps",
                   required=True),
})

SECTIONS = (PIPELINE, STEP, RETRY, CHECK, WRITE, DEFAULTS, BUDGET, INPUT, ISOLATION, MCP_SERVER, TOOLS, FETCH, SEARCH)

# settings: not part of a pipeline; ``.orc/settings.yaml`` next to the store (or ``ORC_SETTINGS``),
# read by ``spec.settings``. Environment variables (named in the descriptions) win over the file.
BUDGETS = Record("BudgetSettings", "Spending limits across runs, per UTC day, checked before each model call "
                 "from the store's records.", {
    "daily_usd": Field(Num(gt=0), "every run in this store, per day (ORC_BUDGET_DAILY_USD)"),
    "pipeline_daily_usd": Field(Num(gt=0), "each pipeline, per day (ORC_BUDGET_PIPELINE_DAILY_USD)"),
    "notebook_daily_usd": Field(Num(gt=0), "each notebook, per day (ORC_BUDGET_NOTEBOOK_DAILY_USD)"),
    "pipelines": Field(MapOf(Num(gt=0)), "per-day limits of named pipelines (over pipeline_daily_usd)"),
    "notebooks": Field(MapOf(Num(gt=0)), "per-day limits of notebooks, by path as recorded (over "
                                         "notebook_daily_usd)"),
})

TELEMETRY = Record("TelemetrySettings", "OpenTelemetry traces of runs, sent over OTLP/HTTP.", {
    "endpoint": Field(Text(pattern=r"^https?://", doc="an http(s) URL"),
                      "OTLP/HTTP base URL, e.g. http://localhost:4318 (OTEL_EXPORTER_OTLP_ENDPOINT and "
                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT win)"),
    "capture_content": Field(Bool(), "put prompts, completions and tool arguments in spans "
                                     "(ORC_OTEL_CAPTURE_CONTENT)", False),
    "enabled": Field(Bool(), "false: no export even when OTEL_ variables are set (ORC_OTEL=0)", True),
})

SETTINGS = Record("Settings", "orchestrator-nb settings: .orc/settings.yaml next to the store, or the file "
                  "ORC_SETTINGS names.", {
    "budgets": Field(BUDGETS, "spending limits across runs"),
    "telemetry": Field(TELEMETRY, "OpenTelemetry export"),
})


def json_schema() -> dict:
    """The format as a JSON Schema (draft 2020-12), for `orc schema` and editors."""
    defs = {r.name: r.definition() for r in SECTIONS[1:]}
    defs["SchemaOutput"] = OUTPUT.types[1].definition()
    out = PIPELINE.definition()
    out.update({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "orchestrator-nb pipeline",
                "$defs": defs})
    return out
