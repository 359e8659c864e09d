"""The runtime pipeline: steps compiled once, dependencies known, graph checked.

Two front doors lead here: the YAML/dict loader (validated by the pydantic models in
``spec.model``) and the Python API (``Pipeline(name, steps=[step(...), ...])``). Both end in
``Pipeline.__init__``, which checks ids, references and cycles and locates errors by
``loc`` so the loader can add file and line.
"""
from __future__ import annotations

import difflib
import re
from graphlib import CycleError, TopologicalSorter

from ..errors import SpecError
from ..spec.templates import Template, compile_field, field_templates
from .policy import Check, RetryPolicy, callable_ref

ACTIONS = ("prompt", "python", "code", "sql", "approval", "write", "pipeline")
OUTPUT_FORMATS = ("text", "json", "markdown")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
BASE_NAMES = frozenset({"inputs", "steps", "run"})
INPUT_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
               "array": list, "object": dict, "any": object}

# Keys a step may carry besides its action key; the pydantic schema mirrors this list.
STEP_KEYS = ("id", "name", "description", "needs", "when", "for_each", "max_parallel", "while",
             "max_iterations", "retry",
             "timeout", "cache", "check", "model", "task", "system", "output", "params",
             "temperature", "max_tokens", "show", "revise", "max_revisions", "policy",
             "on_error", "thread")
DEFAULT_KEYS = ("timeout", "retry", "temperature", "max_tokens", "cache", "model", "system")


def suggest(word: str, options) -> str | None:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class StepDef:
    """One step, compiled. ``kind`` is the action key; ``action`` its compiled value.
    Optional keys default to the class attributes below; only given keys are stored."""

    name = description = when = for_each = max_parallel = retry = timeout = cache = check = None
    model = task = system = output = temperature = max_tokens = show = revise = max_revisions = None
    policy = max_iterations = None
    needs: tuple = ()
    params: dict = {}
    on_error = "fail"
    thread = False

    def __init__(self, id: str, **fields):
        if not isinstance(id, str) or not ID_RE.match(id):
            raise SpecError(f"invalid step id {id!r}", loc=("id",),
                            hint="use letters, digits and '_', starting with a letter")
        self.id = id
        kinds = [k for k in fields if k in ACTIONS] or [k for k in fields if k in _plugin_kinds()]
        if not kinds:  # a misspelt action reads better as "unknown key 'promt' (did you mean...)"
            for key in fields:
                if key not in _FIELDS:
                    raise SpecError(f"unknown key '{key}'", loc=(key,),
                                    hint=suggest(key, STEP_KEYS + ACTIONS) or "see `orc schema`")
        if len(kinds) != 1:
            raise SpecError(("has no action" if not kinds else "has several actions: " + ", ".join(kinds)),
                            hint="give exactly one of " + ", ".join(ACTIONS))
        kind = self.kind = kinds[0]
        try:
            self.action = _compile_action(kind, fields[kind])
        except SpecError as e:
            raise e.within(kind) from None
        given = [kind]
        for key, value in fields.items():
            if key == kind or value is None:
                continue
            given.append(key)
            check = _FIELDS.get(key)
            if check is None:
                hint = suggest(key, STEP_KEYS + ACTIONS) or "see `orc schema`"
                raise SpecError(f"unknown key '{key}'", loc=(key,), hint=hint)
            try:
                setattr(self, key, check(value))
            except SpecError as e:
                raise e.within(key) from None
        if kind != "approval":
            for key in ("show", "revise", "max_revisions", "policy"):
                if getattr(self, key) is not None:
                    raise SpecError(f"'{key}' only applies to approval steps", loc=(key,))
        if getattr(self, "while") is not None and self.for_each is not None:
            raise SpecError("a step takes `for_each` or `while`, not both", loc=("while",))
        if self.max_iterations is not None and getattr(self, "while") is None:
            raise SpecError("'max_iterations' only applies to `while` steps", loc=("max_iterations",))
        self.deps: frozenset[str] = frozenset()
        self.inline = False
        self.template_fields = tuple("action" if n == kind else n for n in given
                                     if (n == kind or n in _TEMPLATE_FIELDS)
                                     and _holds_template(self.action if n == kind else getattr(self, n)))

    def templates(self):
        """(field, Template) for every template of the step."""
        for name in self.template_fields:
            for t in field_templates(getattr(self, name)):
                yield (self.kind if name == "action" else name), t
        if self.check:
            for t in self.check.templates():
                yield "check", t

    def to_dict(self) -> dict:
        """The step as it would be written in YAML (callables become 'module:qualname')."""
        out = {"id": self.id, self.kind: _plain(self.action)}
        for key in STEP_KEYS[1:]:
            value = getattr(self, key)
            if value is None or value == () or value == {} or (key == "on_error" and value == "fail") \
                    or (key == "thread" and not value):
                continue
            if key == "retry":
                value = value.to_dict()
            elif key == "check":
                value = value.to_dict()
            out[key] = _plain(value)
        return out

    def __repr__(self) -> str:
        return f"<StepDef {self.id} ({self.kind})>"


setattr(StepDef, "while", None)  # `while` is a keyword: read it with getattr(step, "while")
MAX_ITERATIONS = 10              # a `while` step's cap when it gives no max_iterations


APPROVAL_POLICIES = ("ask", "auto", "reject", "defer", "fail")


def _needs(value):
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(n, str) for n in value):
        raise SpecError("must be a step id or a list of step ids")
    return tuple(value)


def _for_each(value):
    if not isinstance(value, (str, list, tuple)):
        raise SpecError("must be a list or a template that gives a list",
                        hint='e.g. for_each: "{{ steps.plan.output.milestones }}"')
    return _compile(list(value) if isinstance(value, tuple) else value, "for_each")


def _model(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(m, str) for m in value):
        return tuple(value)
    raise SpecError("must be a model id, an alias or a list of them")


def _params(value):
    if not isinstance(value, dict):
        raise SpecError("must be a mapping of names to values")
    return _compile(value, "params")


def _policy(value):
    if value not in APPROVAL_POLICIES:
        raise SpecError(f"unknown approval policy '{value}'", hint="use " + ", ".join(APPROVAL_POLICIES))
    return value


def _on_error(value):
    if value not in ("fail", "continue"):
        raise SpecError(f"must be 'fail' or 'continue', not {value!r}")
    return value


def _text(value):
    if not isinstance(value, str):
        raise SpecError(f"must be text, not {value!r}")
    return value


def _flag(value):
    if not isinstance(value, bool):
        raise SpecError(f"must be true or false, not {value!r}")
    return value


def _count(value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"must be an integer >= 1, not {value!r}")
    return value


def _seconds(value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise SpecError(f"must be a number of seconds > 0, not {value!r}")
    return float(value)


def _real(value):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SpecError(f"must be a number, not {value!r}")
    return value


# key -> check/compile function (returns the stored value, raises SpecError)
_FIELDS = {
    "name": _text, "description": _text, "needs": _needs,
    "when": lambda v: _compile(v if not isinstance(v, bool) else str(v).lower(), "when", expression=True),
    "for_each": _for_each, "max_parallel": _count, "retry": RetryPolicy.coerce, "timeout": _seconds,
    "cache": _flag, "check": Check.coerce, "model": _model, "task": _text,
    "system": lambda v: _compile(v, "system"), "output": lambda v: _output_format(v), "params": _params,
    "temperature": _real, "max_tokens": _count, "show": lambda v: _compile(v, "show"), "revise": _text,
    "max_revisions": _count, "policy": _policy, "on_error": _on_error, "thread": _flag,
    "while": lambda v: _compile(v if not isinstance(v, bool) else str(v).lower(), "while", expression=True),
    "max_iterations": lambda v: _compile(v, "max_iterations") if isinstance(v, str) else _count(v),
}
_TEMPLATE_FIELDS = ("action", "when", "for_each", "system", "params", "show", "while", "max_iterations")


def _holds_template(value) -> bool:
    if value is None or callable(value) or isinstance(value, (int, float, bool)):
        return False
    return next(field_templates(value), None) is not None


def step(id: str, **fields) -> StepDef:
    """Python API: ``step("summarize", prompt="Summarize {{ inputs.text }}", model="local")``."""
    return StepDef(id, **fields)


class InputDef:
    __slots__ = ("name", "type", "default", "required", "description", "choices")

    def __init__(self, name: str, type: str = "any", default=None, required: bool | None = None,
                 description: str | None = None, choices=None):
        if type not in INPUT_TYPES:
            raise SpecError(f"unknown type '{type}'", loc=("type",), hint=suggest(type, INPUT_TYPES)
                            or "use " + ", ".join(INPUT_TYPES))
        self.name, self.type, self.default, self.description = name, type, default, description
        self.required = (default is None) if required is None else bool(required)
        self.choices = list(choices) if choices is not None else None

    @classmethod
    def coerce(cls, name: str, value) -> "InputDef":
        if isinstance(value, InputDef):
            return value
        if isinstance(value, dict) and value and set(value) <= set(cls.__slots__[1:]):
            return cls(name, **value)
        return cls(name, type="any", default=value, required=False)

    def convert(self, value):
        """Coerce a value (often a string from `-p k=v`) to the declared type."""
        t = self.type
        if isinstance(value, str) and t in ("integer", "number", "boolean", "array", "object"):
            import json
            try:
                value = _BOOLS[value.lower()] if t == "boolean" else json.loads(value)
            except (KeyError, ValueError):
                import yaml
                try:
                    value = yaml.safe_load(value) if t in ("array", "object") else value
                except yaml.YAMLError:
                    pass
        if t == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if not isinstance(value, int) else value
        ok = isinstance(value, INPUT_TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
        if not ok:
            raise SpecError(f"expected {t}, got {value!r}", loc=("inputs", self.name))
        if self.choices is not None and value not in self.choices:
            raise SpecError(f"{value!r} is not one of {self.choices}", loc=("inputs", self.name))
        return value

    def to_dict(self) -> dict:
        out = {"type": self.type}
        for k in ("default", "description", "choices"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.required != (self.default is None):  # only when it differs from the default rule
            out["required"] = self.required
        return out


_BOOLS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False,
          "off": False}


class Pipeline:
    """A validated pipeline, ready to run any number of times."""

    def __init__(self, name: str, steps, *, description: str | None = None, inputs=None,
                 models=None, routing=None, defaults=None, budget=None, version=None,
                 source_file: str | None = None, source_text: str | None = None, names=(),
                 prices=None):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SpecError(f"invalid pipeline name {name!r}", loc=("name",),
                            hint="start with a letter; letters, digits, '_' and '-'")
        self.name, self.description, self.version = name, description, version
        self.source_file, self.source_text = source_file, source_text
        self.prices = dict(prices or {})
        self.inputs = {}
        for key, value in (inputs or {}).items():
            try:
                self.inputs[key] = InputDef.coerce(key, value)
            except SpecError as e:
                raise e.within("inputs", key) from None
        self.models = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in (models or {}).items()}
        self.routing = dict(routing or {})
        self.defaults = dict(defaults or {})
        for key in self.defaults:
            if key not in DEFAULT_KEYS:
                raise SpecError(f"unknown key '{key}'", loc=("defaults", key),
                                hint=suggest(key, DEFAULT_KEYS) or "defaults take " + ", ".join(DEFAULT_KEYS))
        try:
            self.default_retry = RetryPolicy.coerce(self.defaults.get("retry"))
        except SpecError as e:
            raise e.within("defaults", "retry") from None
        self.budget = dict(budget or {})
        for key, value in self.budget.items():
            if key not in ("max_cost_usd", "max_tokens"):
                raise SpecError(f"unknown key '{key}'", loc=("budget", key), hint="use max_cost_usd or max_tokens")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise SpecError("must be a number > 0", loc=("budget", key))
        steps = list(steps)
        if not steps:
            raise SpecError("a pipeline needs at least one step", loc=("steps",))
        self.steps: dict[str, StepDef] = {}
        for i, s in enumerate(steps):
            if not isinstance(s, StepDef):
                raise SpecError("must be a step", loc=("steps", i))
            if s.id in self.steps:
                raise SpecError(f"duplicate step id '{s.id}'", loc=("steps", i, "id"),
                                hint="each step needs its own id")
            self.steps[s.id] = s
        self.index = {sid: i for i, sid in enumerate(self.steps)}
        self.order_hint = tuple(self.steps)
        self._link(names)

    def _link(self, names) -> None:
        """Resolve dependencies, check references and names, find cycles."""
        ids = self.steps
        self.callables: dict = {}     # python step id -> function (strings resolved by prepare)
        self.prepared = False
        for sid, s in ids.items():
            i = self.index[sid]
            deps = set()
            for j, dep in enumerate(s.needs):
                if dep not in ids:
                    raise SpecError(f"unknown step '{dep}'", loc=("steps", i, "needs", j),
                                    hint=suggest(dep, ids) or "needs lists step ids")
                deps.add(dep)
            allowed = BASE_NAMES | ({"item", "index"} if s.for_each is not None else set()) | (
                {"iteration", "previous"} if getattr(s, "while") is not None else set())
            for fieldname, t in s.templates():
                if fieldname in ("for_each", "max_iterations"):
                    scope_names = BASE_NAMES
                elif fieldname == "while":
                    scope_names = BASE_NAMES | {"iteration", "previous"}
                elif fieldname == "check":
                    scope_names = allowed | {"output", "feedback"}
                else:
                    scope_names = allowed
                for ref in t.steps:
                    if ref not in ids:
                        raise SpecError(f"unknown step '{ref}' in template", loc=("steps", i, fieldname),
                                        hint=suggest(ref, ids) or "steps.<id> must name a step")
                    if ref == sid:
                        raise SpecError("a step cannot read its own output", loc=("steps", i, fieldname))
                    deps.add(ref)
                if names is not None:
                    for n in t.names:
                        if n not in scope_names and n not in names:
                            hint = suggest(n, set(scope_names) | set(names)) or (
                                "item/index only exist in for_each steps" if n in ("item", "index")
                                else f"use inputs.{n} and declare it under inputs, or pass it with -p")
                            raise SpecError(f"unknown name '{n}' in template", loc=("steps", i, fieldname),
                                            hint=hint)
                if self.inputs:
                    for key in _input_refs(t):
                        if key not in self.inputs:
                            raise SpecError(f"unknown input '{key}'", loc=("steps", i, fieldname),
                                            hint=suggest(key, self.inputs) or "declare it under inputs")
            if s.kind == "approval" and not deps and i > 0:
                deps.add(self.order_hint[i - 1])  # an approval with nothing named reviews the step before it
            if s.kind == "approval" and s.revise is not None and s.revise not in ids:
                raise SpecError(f"unknown step '{s.revise}'", loc=("steps", i, "revise"),
                                hint=suggest(s.revise, ids))
            if s.kind == "approval" and s.revise is not None:
                deps.add(s.revise)
            if s.kind == "code":
                for ref in code_refs(s.action[1]):
                    if ref not in ids:
                        raise SpecError(f"unknown step '{ref}' in code", loc=("steps", i, "code"),
                                        hint=suggest(ref, ids) or "steps[...] must name a step")
                    if ref != sid:
                        deps.add(ref)
            s.deps = frozenset(deps)
            if s.kind == "python" and callable(s.action):
                self.callables[sid] = s.action
                s.inline = _inlinable(s, s.action)
        self.graph = {sid: s.deps for sid, s in ids.items()}
        from .schedule import Plan
        self.plan = Plan(self.graph)
        self.order = self.plan.order()
        if len(self.order) < len(ids):  # graphlib names the cycle for the message
            try:
                TopologicalSorter(self.graph).prepare()
            except CycleError as e:
                cycle = list(e.args[1])
                raise SpecError("dependency cycle: " + " -> ".join(reversed(cycle)), loc=("steps", self.index[cycle[0]]),
                                hint="remove one of these dependencies") from None
        # (kind, output format) per step, plain data for results
        self.meta = {sid: (s.kind, s.output if not isinstance(s.output, type) else _plain(s.output))
                     for sid, s in ids.items()}

    # running -------------------------------------------------------------------------------
    def run(self, inputs: dict | None = None, **options):
        """Run to completion and return a ``RunResult``. See ``core.runner.run_pipeline``."""
        from .runner import run_pipeline_sync
        return run_pipeline_sync(self, inputs, **options)

    async def arun(self, inputs: dict | None = None, **options):
        from .runner import run_pipeline
        return await run_pipeline(self, inputs, **options)

    def to_dict(self) -> dict:
        out: dict = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.version is not None:
            out["version"] = self.version
        if self.inputs:
            out["inputs"] = {k: v.to_dict() for k, v in self.inputs.items()}
        for key in ("models", "routing", "defaults", "budget", "prices"):
            if getattr(self, key):
                out[key] = _plain(getattr(self, key))
        out["steps"] = [s.to_dict() for s in self.steps.values()]
        return out

    def to_yaml(self) -> str:
        """The pipeline as YAML (the file's own text when it was loaded from one)."""
        if self.source_text is not None:
            return self.source_text
        from ..spec.yamlio import dump_yaml
        return dump_yaml(self.to_dict())

    def spec_text(self) -> str:
        """The text stored with every run (for `orc resume`): the file's own text, or for a
        pipeline built in Python its JSON form (JSON is YAML, and ~50x faster to write)."""
        if self.source_text is None:
            import json
            self.source_text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False, default=str)
        return self.source_text

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}: {len(self.steps)} steps>"


def code_refs(source: str) -> set[str]:
    """Step ids an inline `code:` step reads: steps["x"], steps['x'], steps.get("x")."""
    import ast
    refs = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return refs
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "steps" \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            refs.add(node.slice.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "steps" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            refs.add(node.args[0].value)
    return refs


def _input_refs(t: Template):
    """Keys of `inputs.X` a template reads (only static attribute access)."""
    if t.kind == "const" or "inputs" not in t.names:
        return ()
    return re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_]*)", t.source)


def _inlinable(s: StepDef, fn) -> bool:
    """Plain sync python steps run inline in the scheduler (no task): same blocking, less cost."""
    return (not _is_async(fn) and not s.thread and s.timeout is None and s.for_each is None
            and getattr(s, "while") is None)


_async_memo: dict = {}


def _is_async(fn) -> bool:
    try:
        return _async_memo[fn]
    except (KeyError, TypeError):
        pass
    import inspect
    result = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
    try:
        _async_memo[fn] = result
    except TypeError:
        pass
    return result


def _plugin_kinds():
    from .kinds import plugin_kinds
    return plugin_kinds()


def _compile(value, field: str, expression: bool = False):
    if value is None:
        return None
    try:
        return compile_field(value, expression=expression)
    except SpecError as e:
        raise e.within(field) from None


def _compile_action(kind: str, value):
    if kind in ("prompt", "approval", "sql"):
        if not isinstance(value, str):
            raise SpecError("must be text")
        return compile_field(value)
    if kind == "python":
        if callable(value):
            return value
        if not isinstance(value, str) or not re.match(r"^[\w.]+:[\w.]+$", value):
            raise SpecError(f"must be 'module:function', not {value!r}", hint="e.g. python: mypkg.steps:save")
        return value
    if kind == "code":
        if not isinstance(value, str):
            raise SpecError("must be Python source text")
        import ast
        try:
            return compile(value, "<code>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True), value
        except SyntaxError as e:
            raise SpecError(f"Python syntax error: {e.msg}", hint=f"code line {e.lineno}") from None
    if kind == "write":
        if not isinstance(value, dict) or "path" not in value:
            raise SpecError("must be a mapping with `path` and `content`",
                            hint='e.g. write: {path: out/plan.md, content: "{{ steps.plan.output }}"}')
        unknown = set(value) - {"path", "content", "format"}
        if unknown:
            raise SpecError(f"unknown key '{sorted(unknown)[0]}'", hint="write takes path, content, format")
        if value.get("format", "auto") not in ("auto", "text", "json", "yaml"):
            raise SpecError("format must be auto, text, json or yaml", loc=("format",))
        path = value["path"]
        if not isinstance(path, str) or not path:
            raise SpecError("must be a relative file path", loc=("path",))
        if "{{" not in path and "{%" not in path:
            import posixpath
            if posixpath.isabs(path) or path.startswith("~") or posixpath.normpath(path).split("/")[0] == "..":
                raise SpecError(f"{path!r} is outside the output directory", loc=("path",),
                                hint="write paths are relative to --outdir and may not climb out of it")
        return compile_field(dict(value))
    if kind == "pipeline":
        if isinstance(value, Pipeline):
            return value
        if not isinstance(value, str):
            raise SpecError("must be a path or the name of a built-in pipeline")
        return value
    return compile_field(value)  # a plugin kind: templates are rendered before it is called


def _output_format(value):
    if value is None or value in OUTPUT_FORMATS:
        return value
    if isinstance(value, dict) and set(value) == {"schema"} and isinstance(value["schema"], dict):
        return value
    if isinstance(value, str) and re.match(r"^[\w.]+:[\w.]+$", value):
        return value
    if isinstance(value, type):
        return value
    raise SpecError(f"unknown output format {value!r}", loc=("output",),
                    hint="use text, json, markdown, {schema: ...} or 'module:PydanticModel'")


def _positive_int(value, field):
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"must be an integer >= 1, not {value!r}", loc=(field,))
    return value


def _positive_number(value, field):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise SpecError(f"must be a number of seconds > 0, not {value!r}", loc=(field,))
    return float(value)


def _number(value, field):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SpecError(f"must be a number, not {value!r}", loc=(field,))
    return value


def _optional_bool(value, field):
    if value is None or isinstance(value, bool):
        return value
    raise SpecError(f"must be true or false, not {value!r}", loc=(field,))


def _optional_str(value, field):
    if value is None or isinstance(value, str):
        return value
    raise SpecError(f"must be text, not {value!r}", loc=(field,))


def _plain(value):
    """Compiled field -> what YAML would hold."""
    if isinstance(value, Template):
        return value.source
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[1], str) and type(value[0]).__name__ == "code":
            return value[1]
        return [_plain(v) for v in value]
    if isinstance(value, Pipeline):
        return value.to_dict() if getattr(value, "inline", False) else (value.source_file or value.name)
    if callable(value) and not isinstance(value, type):
        return callable_ref(value)
    if isinstance(value, type):
        return f"{value.__module__}:{value.__qualname__}"
    return value
