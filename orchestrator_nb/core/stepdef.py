"""A step, compiled: the action key and its value, the common keys, each checked as it comes in.

``StepDef(id, **keys)`` is what YAML steps (after the pydantic check) and the Python API's
``step(...)`` both build. Errors carry ``loc`` (the key) so the loader can add file and line.
"""
from __future__ import annotations

import re

from ..errors import SpecError, suggest
from ..spec.templates import Template, compile_field, field_templates
from .policy import Check, RetryPolicy, callable_ref

ACTIONS = ("prompt", "python", "code", "sql", "approval", "write", "pipeline")
OUTPUT_FORMATS = ("text", "json", "markdown")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Keys a step may carry besides its action key; the pydantic schema mirrors this list.
STEP_KEYS = ("id", "name", "description", "needs", "when", "for_each", "max_parallel", "while",
             "max_iterations", "retry",
             "timeout", "cache", "check", "model", "task", "system", "output", "params",
             "temperature", "max_tokens", "show", "revise", "max_revisions", "policy",
             "on_error", "thread")

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
        self.inline = False   # a sync python step run in the scheduler itself (set by prepare)
        self.direct = False   # a plain async python step awaited without the general path
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
        from .pipeline import Pipeline
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




def _number(value, field):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SpecError(f"must be a number, not {value!r}", loc=(field,))
    return value




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
    from .pipeline import Pipeline
    if isinstance(value, Pipeline):
        return value.to_dict() if getattr(value, "inline", False) else (value.source_file or value.name)
    if callable(value) and not isinstance(value, type):
        return callable_ref(value)
    if isinstance(value, type):
        return f"{value.__module__}:{value.__qualname__}"
    return value
