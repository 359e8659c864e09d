"""A step, compiled: the action key and its value, the common keys, templates compiled once.

``StepDef(id, **keys)`` is what YAML steps and the Python API's ``step(...)`` both build. The keys
are checked against the format (``spec.format.STEP``), so both front doors accept exactly the
same things; errors carry ``loc`` (the key) so the loader can add file and line.
"""
from __future__ import annotations

import io
import tokenize

from ..errors import SpecError
from ..spec.format import ACTION_KEYS as ACTIONS, STEP, STEP_KEYS, is_function
from ..spec.templates import Template, compile_field, field_templates, holds_template
from .callables import callable_ref
from .policy import Check, RetryPolicy
from .sqlquery import SqlQuery, compile_sql

OUTPUT_FORMATS = ("text", "json", "markdown")
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (without importing ast)
MAX_ITERATIONS = 10              # a `while` step's cap when it gives no max_iterations
APPROVAL_ONLY = ("show", "revise", "max_revisions", "policy", "input", "on_timeout")
SQL_ONLY = ("files", "sql_access")
CODE_KINDS = ("code", "python")
PROMPT_ONLY = ("tools", "max_turns")                 # tool calling belongs to prompt steps
# keys only some kinds take -> those kinds (a step of another kind that gives one is an error)
_ONLY_FOR = {**{k: ("approval",) for k in APPROVAL_ONLY}, **{k: ("prompt",) for k in PROMPT_ONLY},
             **{k: ("sql",) for k in SQL_ONLY}, "approve_tools": ("prompt", "call"), "isolation": CODE_KINDS}
_ONLY_FOR_TEXT = {("approval",): "approval", ("prompt",): "prompt", ("sql",): "sql",
                  ("prompt", "call"): "prompt and call", CODE_KINDS: "code and python"}
# fields holding templates (besides the action): compiled here, rendered by the executor
_TEMPLATE_FIELDS = ("when", "for_each", "system", "params", "show", "while", "max_iterations")


class StepDef:
    """One step, compiled. ``kind`` is the action key; ``action`` its compiled value.
    Optional keys default to the class attributes below; only given keys are stored."""

    name = description = when = for_each = max_parallel = retry = timeout = cache = check = None
    model = task = system = output = temperature = max_tokens = show = revise = max_revisions = None
    policy = max_iterations = files = sql_access = isolation = input = on_timeout = None
    tools = max_turns = approve_tools = None
    needs: tuple = ()
    params: dict = {}
    on_error = "fail"
    thread = False
    _params_plan = None  # (params, plan): how the executor's fast paths read params (core.executor)

    def __init__(self, id: str, **fields):
        if fields.keys() <= _QUICK_KEYS and self._quick(id, fields):
            return
        self._build(STEP.check({"id": id, **fields}, (), python=True))

    def _quick(self, id, fields: dict) -> bool:
        """The Python API's commonest step, ``step("x", python=fn, params={...})``, built directly:
        the format's rules for these keys (an id, a function, params named by text) checked here,
        without the general path's passes over keys the step does not have (2 µs, not 5: a 200-way
        fan-out built in Python). False, having set nothing, for anything else: the general path
        then builds it, or says what is wrong."""
        fn, params = fields.get("python"), fields.get("params")
        if type(id) is not str or not _ID.match(id) or fn is None or not is_function(fn) or params is not None \
                and (type(params) is not dict or not all(type(k) is str for k in params)):
            return False
        # (attributes in the order the general path sets them: steps share one layout of keys)
        self.id, self.kind, self.action = id, "python", fn
        if params is not None:
            try:
                self.params = compile_field(params)
            except SpecError as e:
                raise e.within("params") from None
        self.deps, self.revises, self.inline, self.direct = frozenset(), None, False, False
        self.template_fields = ("params",) if params and holds_template(self.params) else ()
        return True

    @classmethod
    def checked(cls, fields: dict) -> "StepDef":
        """A step from fields the format has checked already (a loaded file's steps: checked with
        the whole file, so not twice)."""
        step = cls.__new__(cls)
        step._build(dict(fields))
        return step

    def _build(self, fields: dict) -> None:
        self.id = fields.pop("id")
        for kind in fields:
            if kind in ACTIONS and fields[kind] is not None:
                break
        else:  # a plugin's kind
            kind = next(k for k in fields if k not in STEP.fields)
        self.kind = kind
        try:
            self.action = _compile_action(kind, fields[kind])
        except SpecError as e:
            raise e.within(kind) from None
        given = [kind]
        for key, value in fields.items():
            if key == kind or value is None:
                continue
            given.append(key)
            compile_ = _COMPILE.get(key)
            try:
                setattr(self, key, compile_(value) if compile_ else value)
            except SpecError as e:
                raise e.within(key) from None
        for key in given:  # keys that belong to other kinds
            kinds = _ONLY_FOR.get(key)
            if kinds is not None and kind not in kinds:
                raise SpecError(f"'{key}' only applies to {_ONLY_FOR_TEXT[kinds]} steps", loc=(key,))
        for i, name in enumerate(self.files or ()):
            if "{{" in name or "{%" in name:
                raise SpecError("files are named in the pipeline, not by templates", loc=("files", i),
                                hint="a value from a step or a model must not choose what a query can read")
        if self.on_timeout is not None and self.timeout is None:
            raise SpecError("'on_timeout' needs `timeout:` (seconds to wait for a decision)", loc=("on_timeout",))
        if self.input is not None:
            schema = self.input["schema"]
            if schema.get("type", "object") != "object" or not isinstance(schema.get("properties", {}), dict):
                raise SpecError("the form's schema must be an object with properties", loc=("input", "schema"),
                                hint="e.g. {type: object, properties: {budget: {type: number}}, required: [budget]}")
            from .schemas import schema_problem
            problem = schema_problem(schema)
            if problem:
                raise SpecError(f"not a valid JSON Schema: {problem}", loc=("input", "schema"))
        if getattr(self, "while") is not None and self.for_each is not None:
            raise SpecError("a step takes `for_each` or `while`, not both", loc=("while",))
        if self.max_iterations is not None and getattr(self, "while") is None:
            raise SpecError("'max_iterations' only applies to `while` steps", loc=("max_iterations",))
        self.deps: frozenset[str] = frozenset()
        self.revises: str | None = None  # approval: what 'request changes' regenerates (set by Pipeline)
        self.inline = False   # a sync python step run in the scheduler itself (set by prepare)
        self.direct = False   # a plain async python step awaited without the general path
        self.template_fields = tuple(
            "action" if n == kind else n for n in given
            if n == kind and holds_template(self.action) or n in _TEMPLATE_FIELDS and holds_template(getattr(self, n)))

    def templates(self):
        """(field, Template) for every template of the step."""
        for field, found in self.templates_by_field():
            for t in found:
                yield field, t

    def templates_by_field(self):
        """(field, [Template, ...]) for every field of the step that holds templates."""
        for name in self.template_fields:
            yield (self.kind if name == "action" else name), field_templates(getattr(self, name))
        if self.check:
            found = self.check.templates()
            if found:
                yield "check", found

    def to_dict(self) -> dict:
        """The step as it would be written in YAML (callables become 'module:qualname')."""
        out = {"id": self.id, self.kind: plain(self.action)}
        for key, value in vars(self).items():  # the keys given (class defaults are not in vars)
            if key not in _WRITTEN or value is None or value == () or value == {} or (key == "on_error" and value == "fail") \
                    or (key == "thread" and not value):
                continue
            if key in ("retry", "check"):
                value = value.to_dict()
            out[key] = plain(value)
        return out

    def __repr__(self) -> str:
        return f"<StepDef {self.id} ({self.kind})>"


setattr(StepDef, "while", None)  # `while` is a keyword: read it with getattr(step, "while")
_WRITTEN = frozenset(STEP_KEYS[1:])  # what to_dict writes (`action`, `deps`, `inline`... are derived)


_QUICK_KEYS = frozenset({"python", "params"})
_ID = STEP.fields["id"].type.pattern  # the format's own id rule


def step(id: str, **fields) -> StepDef:
    """Python API: ``step("summarize", prompt="Summarize {{ inputs.text }}", model="local")``."""
    return StepDef(id, **fields)


def _compile(field: str, expression: bool = False):
    def compile_(value):
        if isinstance(value, bool) and expression:
            value = str(value).lower()
        if isinstance(value, tuple):
            value = list(value)
        return compile_field(value, expression=expression)
    return compile_


# key -> compile function (the value is already checked against the format)
_COMPILE = {
    "needs": lambda v: (v,) if isinstance(v, str) else tuple(v),
    "when": _compile("when", expression=True),
    "while": _compile("while", expression=True),
    "for_each": lambda v: _compile("for_each")(_a_list_or_template(v)),
    "system": _compile("system"),
    "params": _compile("params"),
    "show": _compile("show"),
    "max_iterations": lambda v: compile_field(v) if isinstance(v, str) else v,
    "retry": RetryPolicy.coerce,
    "check": Check.coerce,
    "model": lambda v: v if isinstance(v, str) else tuple(v),
    "timeout": float,
    "tools": tuple,
    "approve_tools": lambda v: v if isinstance(v, str) else tuple(v),
    "files": tuple,
}


def _a_list_or_template(value):
    """`for_each: abc` (text with no template in it) would only fail when the step runs."""
    if isinstance(value, str) and "{{" not in value and "{%" not in value:
        raise SpecError(f"must be a list or a template giving one, not the text {value[:40]!r}", hint="write a YAML list, or a template such as "
                                                 "\"{{ steps.plan.output }}\"")
    return value


def _compile_action(kind: str, value):
    if kind in ("prompt", "approval"):
        return compile_field(value)
    if kind == "sql":
        return compile_sql(value)
    if kind == "python":
        return value  # 'module:function' (imported when the run starts) or the function
    if kind == "code":
        return compile_code(value)
    if kind == "write":
        path = value["path"]
        if not path.strip():
            raise SpecError("must be a relative file path", loc=("path",))
        if "{{" not in path and "{%" not in path:
            import posixpath
            norm = posixpath.normpath(path)
            if posixpath.isabs(path) or path.startswith("~") or norm.split("/")[0] == "..":
                raise SpecError(f"{path!r} is outside the output directory", loc=("path",),
                                hint="write paths are relative to --outdir and may not climb out of it")
            if norm == "." or path.endswith("/"):
                raise SpecError(f"{path!r} names a directory, not a file", loc=("path",), hint="add a file name")
        return compile_field(dict(value))
    if kind == "call":
        return value  # a tool reference (resolved when the run starts) or a function
    if kind == "pipeline":
        return value  # a Pipeline (YAML sub-pipelines are loaded by the loader) or a path, loaded by prepare
    return compile_field(value)  # a plugin kind: templates are rendered before it is called


def compile_code(source: str):
    # top-level `await` (and `async for`/`async with`) needs the flag, which makes compiling a short
    # source ~40% slower; without those words the code compiles the same either way
    flags = _TOP_LEVEL_AWAIT if "await" in source or "async" in source else 0
    try:
        code = compile(source, "<code>", "exec", flags=flags, dont_inherit=True)
    except SyntaxError as e:
        raise SpecError(f"Python syntax error: {e.msg}", hint=f"code line {e.lineno}") from None
    line = _template_braces(source)
    if line:
        raise SpecError("`code:` is Python, not a template: `{{ ... }}` does not fill in values here",
                        hint=f"code line {line}: pass values with params: and read params['name']")
    return code, source


def _template_braces(source: str) -> int | None:
    """The line of a `{{ name }}` written as code (two '{' tokens in a row), if any."""
    if "{{" not in source:  # two '{' tokens with nothing between them are the text "{{"
        return None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    for a, b in zip(tokens, tokens[1:]):
        if a.type == b.type == tokenize.OP and a.string == b.string == "{" and a.end == b.start:
            return a.start[0]
    return None


def plain(value):
    """Compiled field -> what YAML would hold."""
    if isinstance(value, SqlQuery):
        return value.source
    if isinstance(value, Template):
        return value.source
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and isinstance(value[1], str) and type(value[0]).__name__ == "code":
            return value[1]
        return [plain(v) for v in value]
    if type(value).__name__ == "Pipeline":
        return value.to_dict() if getattr(value, "inline", False) else (value.source_file or value.name)
    if callable(value) and not isinstance(value, type):
        return callable_ref(value)
    if isinstance(value, type):
        return f"{value.__module__}:{value.__qualname__}"
    return value
