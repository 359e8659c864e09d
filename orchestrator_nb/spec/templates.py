"""Jinja2 templates in a sandbox, with strict undefined names and static analysis.

A field is compiled once at load time into a ``Template``:
- no ``{{``/``{%``: a constant (Jinja is not even imported);
- exactly one ``{{ expr }}``: an expression that keeps its Python type (a list stays a list);
- anything else: text.
Analysis finds the ``steps.X`` a template reads (implicit dependencies), the top-level names
it uses (checked against the scope), and refuses private attributes (``__class__`` and friends).
Rendering is bounded in time and size by the sandbox (``spec.sandbox``); nothing a template
says runs while it is compiled.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

from ..errors import SpecError
from ..limits import LimitExceeded
from .paths import Slow, dotted, parse, parse_text

_EXPR_ONLY = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)

# Names usable in expressions besides Jinja's own (``check: {expr: "len(output) > 40"}``).
SAFE_GLOBALS = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round, "sorted": sorted,
    "any": any, "all": all, "int": int, "float": float, "str": str, "bool": bool, "list": list,
    "dict": dict, "enumerate": enumerate, "zip": zip,
}  # plus a bounded `range` (spec.sandbox)


def _slugify(value, sep: str = "-") -> str:
    value = re.sub(r"[^\w\s-]", "", str(value).lower()).strip()
    return re.sub(r"[\s_-]+", sep, value)


def _truncate_words(value, count: int = 50, end: str = "...") -> str:
    words = str(value).split()
    return " ".join(words[:count]) + (end if len(words) > count else "")


def _to_yaml(value) -> str:
    from .yamlio import dump_yaml
    return dump_yaml(value)


def _basename(value) -> str:
    import posixpath
    return posixpath.basename(str(value))


def _date(value, fmt: str = "%Y-%m-%d") -> str:
    """`{{ ts | date('%Y-%m-%d %H:%M') }}`: an ISO timestamp (text), a datetime or epoch seconds,
    formatted with strftime codes."""
    from datetime import datetime, timezone
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, timezone.utc)
    elif isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"date: {str(value)[:40]!r} is not an ISO date or time (e.g. 2026-01-31T12:00:00)") \
                from None
    return moment.strftime(fmt)


FILTERS = {
    "tojson": lambda v, indent=None: json.dumps(v, indent=indent, ensure_ascii=False, default=str),
    "to_json": lambda v, indent=None: json.dumps(v, indent=indent, ensure_ascii=False, default=str),
    "fromjson": json.loads, "from_json": json.loads,
    "toyaml": _to_yaml, "to_yaml": _to_yaml,
    "slugify": _slugify, "basename": _basename,  # regex_replace: spec.sandbox (with a timeout)
    "truncate_words": _truncate_words, "date": _date, "strftime": _date,
}


@lru_cache(maxsize=1)
def env():
    from jinja2 import StrictUndefined

    from .sandbox import GUARDS, LimitedEnvironment, bounded_lipsum, bounded_range, guard_filter, regex_replace

    e = LimitedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    e.globals.update(SAFE_GLOBALS)
    e.globals.update(range=bounded_range, lipsum=bounded_lipsum)
    e.filters.update(FILTERS)
    e.filters["regex_replace"] = regex_replace
    for name, fn in list(e.filters.items()):  # every filter: timed, sized, never folded at compile time
        if name not in GUARDS.values():
            e.filters[name] = guard_filter(name, fn)
    return e


def is_template(text) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


class Template:
    """A compiled field. ``render(scope)`` returns its value."""

    __slots__ = ("source", "kind", "steps", "names", "_fn", "path", "_jinja")

    def __init__(self, source: str, *, expression: bool = False, jinja: bool = False):
        """``expression=True`` for fields that are expressions even without braces (``when``).
        ``jinja=True`` compiles with Jinja even a shape that has a direct path (``spec.paths``)."""
        self.source = source
        self.path = None  # the ``spec.paths.Path`` an expression of the direct shape follows
        self._jinja = expression  # a direct shape: its Jinja-compiled form once needed (till then, the mode)
        if not jinja and _direct(self, source, expression):
            return
        self.steps: frozenset[str] = frozenset()
        self.names: frozenset[str] = frozenset()
        try:
            self._build(source, expression)
        except (RecursionError, SyntaxError):  # Jinja's parser and Python's compiler both recurse
            raise SpecError("template nests too deeply",
                            hint="fewer nested parentheses, brackets or blocks") from None

    def _build(self, source, expression: bool) -> None:
        m = _EXPR_ONLY.match(source) if isinstance(source, str) else None
        if m and "{{" not in m.group(1) and "}}" not in m.group(1):
            body = m.group(1)
        elif expression and isinstance(source, str) and not is_template(source):
            body = source
        else:
            body = None
        if body is not None:
            self.kind = "expr"
            self._analyze("{{ " + body + " }}")
            self._fn = _strict(_compile(lambda b: env().compile_expression(b, undefined_to_none=False), body, source))
        elif is_template(source):
            self.kind = "text"
            self._analyze(source)
            self._fn = _bounded_text(_compile(env().from_string, source, source))
        else:
            self.kind = "const"
            self._fn = None

    def _analyze(self, text: str) -> None:
        from jinja2 import meta, nodes

        ast = _compile(env().parse, text, self.source)
        self.names = frozenset(_compile(meta.find_undeclared_variables, ast, self.source))
        steps = set()
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            key = node.attr if isinstance(node, nodes.Getattr) else (
                node.arg.value if isinstance(node.arg, nodes.Const) else None)
            if isinstance(key, str) and key.startswith("_"):
                raise SpecError(f"template reads private attribute '{key}'",
                                hint="templates may not touch names starting with '_'")
            if isinstance(node.node, nodes.Name) and node.node.name == "steps":
                if not isinstance(key, str):
                    raise SpecError("dynamic step reference steps[...] in template",
                                    hint="write steps.<id> or list the step in `needs`")
                steps.add(key)
        for node in ast.find_all(nodes.Filter):
            if node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const) \
                    and str(node.args[0].value).startswith("_"):
                raise SpecError(f"template reads private attribute '{node.args[0].value}'",
                                hint="templates may not touch names starting with '_'")
        for node in ast.find_all(nodes.Name):
            if node.name.startswith("_"):
                raise SpecError(f"template uses private name '{node.name}'",
                                hint="templates may not touch names starting with '_'")
        self.steps = frozenset(steps)

    def render(self, scope: dict):
        path = self.path
        if path is not None:  # the direct shape, unless the value needs Jinja's rules (or its error)
            try:
                return path.resolve(scope)
            except Slow:
                return self.by_jinja().render(scope)
        if self._fn is None:
            return self.source
        try:
            return self._fn(scope)
        except Slow:  # a direct text shape whose values need Jinja's rules
            return self.by_jinja().render(scope)
        except LimitExceeded as e:
            short = self.source if len(self.source) <= 60 else self.source[:57] + "..."
            raise e.at(f"template {short!r}") from None
        except Exception as e:
            key = _missing_input(self, scope, e)
            if key is None:
                raise
            # Jinja says "'dict object' has no attribute 'topic'": say which value, and how to give it
            raise type(e)(f"inputs.{key} was not given: pass it (`-p {key}=...` on the command line), or "
                          f"declare it under `inputs:` with a default") from None

    def by_jinja(self) -> "Template":
        """A direct shape's Jinja-compiled form, made on first need."""
        made = self._jinja
        if type(made) is bool:
            made = self._jinja = Template(self.source, expression=made, jinja=True)
        return made

    def __repr__(self) -> str:
        return f"Template({self.source!r})"



_INPUT_REF = re.compile(r"\binputs\.([A-Za-z_][A-Za-z0-9_]*)")


def _missing_input(t: "Template", scope: dict, e: Exception) -> str | None:
    """The `inputs.X` a template reads that the run was not given, when that is why it failed."""
    if "inputs" not in t.names or type(e).__name__ != "UndefinedError":
        return None
    given = scope.get("inputs")
    if not isinstance(given, dict):
        return None
    said = str(e)  # Jinja names the key it missed: "'dict object' has no attribute 'topic'"
    return next((key for key in _INPUT_REF.findall(t.source) if key not in given and f"'{key}'" in said), None)

def _strict(expr):
    """An expression's value; an undefined result raises (the sandbox's refusals included)."""
    from jinja2 import Undefined

    def run(scope):
        value = expr(scope)
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return value
    return run


def _bounded_text(template):
    """Render a text template piece by piece, stopping once it passes the size limit."""
    from .sandbox import _CHARS

    new_context, body, floor = template.new_context, template.root_render_func, _CHARS.floor

    def run(scope):
        out, size, limit = [], 0, None
        for piece in body(new_context(scope)):
            size += len(piece)
            if size > floor:
                limit = limit or _CHARS.value()
                if size > limit:
                    raise LimitExceeded("template_chars", size, "rendered text")
            out.append(piece)
        return "".join(out)
    return run


def _compile(fn, text, source):
    from jinja2 import TemplateAssertionError, TemplateSyntaxError

    try:
        return fn(text)
    except TemplateAssertionError as e:  # an unknown filter or test
        from difflib import get_close_matches
        name = e.message.split("'")[1] if e.message and e.message.count("'") >= 2 else ""
        close = get_close_matches(name, list(env().filters) + list(env().tests), n=1)
        raise SpecError(f"template error: {e.message.rstrip('.')}",
                        hint=f"did you mean '{close[0]}'?" if close else "see the Jinja2 filter list") from None
    except TemplateSyntaxError as e:
        where = f"template line {e.lineno}" if "\n" in str(source) else f"in {source!r}"
        raise SpecError(f"template syntax error: {e.message}", hint=where) from None


def compile_field(value, *, expression: bool = False):
    """Compile a string, or the strings nested in a dict/list, into Templates.

    Returns the value unchanged when it holds no template (a cheap common case)."""
    if isinstance(value, str):
        if expression or is_template(value):
            return shared(value, expression)
        return value
    if isinstance(value, dict):
        return {k: compile_field(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_field(v) for v in value]
    return value


def render_field(value, scope: dict):
    """Render what ``compile_field`` produced."""
    if isinstance(value, Template):
        return value.render(scope)
    if isinstance(value, dict):
        return {k: render_field(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_field(v, scope) for v in value]
    return value


def holds_template(value) -> bool:
    """Whether a compiled field has a Template in it (``field_templates`` gives one)."""
    if isinstance(value, Template):
        return True
    if isinstance(value, dict):
        return any(map(holds_template, value.values()))  # (most are flat: a few constants)
    if isinstance(value, list):
        return any(map(holds_template, value))
    return False


def field_templates(value) -> list:
    """Every Template inside a compiled field, in order."""
    if isinstance(value, Template):
        return [value]
    found: list = []
    _gather(value, found)
    return found


def _gather(value, found: list) -> None:
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return
    for v in value:  # (a 200-value join: a list of Templates, each appended without a call)
        if isinstance(v, Template):
            found.append(v)
        elif isinstance(v, (dict, list)):
            _gather(v, found)


# Templates with the same source (a thousand steps reading `{{ steps.prev.output }}`-like fields,
# one pipeline loaded many times) share one compiled form; Templates never change once built.
_SHARED: dict[tuple[str, bool], Template] = {}
# names Jinja's environment defines (they are not the template's own names): Jinja's job
JINJA_GLOBALS = frozenset(SAFE_GLOBALS) | {"range", "dict", "lipsum", "cycler", "joiner", "namespace"}
_SHARED_MAX = 20_000


def shared(source: str, expression: bool = False) -> Template:
    """The compiled Template for a field's text, made once per (source, mode)."""
    key = (source, expression)
    t = _SHARED.get(key)
    if t is None:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        t = _SHARED[key] = Template(source, expression=expression)
    return t


def _direct(t: Template, source, expression: bool) -> bool:
    """Compile the common shapes (a name and a path, or text with such pieces) without Jinja.
    Rendering hands over to Jinja (compiled then, once) when a value needs its rules (``spec.paths``)."""
    if not isinstance(source, str):
        return False
    m = None
    path = None if expression else dotted(source)  # the commonest shape, in one match
    if path is None:
        m = _EXPR_ONLY.match(source)
        if m and "{{" not in m.group(1) and "}}" not in m.group(1):
            path = parse(m.group(1))
        elif expression and not is_template(source):
            path = parse(source)
    elif path.root in JINJA_GLOBALS:
        return False
    if path is not None and path.root not in JINJA_GLOBALS:
        names = _ROOTS.get(path.root)
        if names is None:
            names = _ROOTS[path.root] = frozenset((path.root,))
        t.kind, t.names, t.steps, t.path, t._fn = "expr", names, path.steps, path, None  # render follows the path
        return True
    if expression or not is_template(source) or (m and "{{" not in m.group(1) and "}}" not in m.group(1)):
        return False
    parts = parse_text(source)
    if parts is None or any(not isinstance(p, str) and p.root in JINJA_GLOBALS for p in parts):
        return False
    paths = [p for p in parts if not isinstance(p, str)]
    t.kind = "text"
    t.names = frozenset(p.root for p in paths)
    t.steps = frozenset().union(*(p.steps for p in paths))
    pieces = tuple((p, None) if isinstance(p, str) else (None, p.resolve) for p in parts)

    def text(scope):  # raises Slow for ``render`` to hand over to Jinja
        return "".join(p if p is not None else str(r(scope)) for p, r in pieces)
    t._fn = text
    return True


_ROOTS: dict[str, frozenset] = {}  # a direct expression's names: one set per root name, shared
