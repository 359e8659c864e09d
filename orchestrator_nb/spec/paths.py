"""The common template shapes, resolved by a direct path instead of compiling Jinja.

Most templates in pipelines are a name and a path: ``{{ steps.draft.output }}``, ``{{ inputs.topic }}``,
``{{ item }}``, ``{{ steps.plan.output.stories[0]['title'] }}``, or text with such pieces in it.
Compiling each with Jinja costs about a millisecond (and importing Jinja tens of them); following the
path costs a microsecond. ``parse`` recognises these shapes (anything else is None: Jinja's job).

A path gives what Jinja's sandbox gives, because it takes the same steps and only the safe ones:
``.name`` reads a dict's key (a key that is not a dict method) or an ordinary object's attribute;
``[key]`` indexes first. Whenever a step is not plain (a missing name, key or attribute, a method,
an object of a kind the sandbox watches: functions, types, frames, mutable containers' methods),
``resolve`` raises ``Slow`` and the caller hands the whole template to Jinja, which then gives its
own value or its own error. Names starting with ``_``, keywords and unusual literals never take the
fast path, so Jinja's analysis refuses them exactly as before.
"""
from __future__ import annotations

import re
import types
from collections import abc, deque

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_PATH = re.compile(
    rf"({_NAME})((?:\.{_NAME}|\[(?:-?(?:0|[1-9][0-9]*)|'[^'\\_][^'\\]*'|\"[^\"\\_][^\"\\]*\")\])*)")
_SEGMENT = re.compile(rf"\.({_NAME})|\[(-?[0-9]+|'[^']*'|\"[^\"]*\")\]")
# words Jinja's parser reads as constants or operators, never as names
KEYWORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is",
                      "if", "else"})
# kinds of objects whose attributes the sandbox vets (internals, or methods that mutate)
_WATCHED = (types.FunctionType, types.MethodType, type, types.CodeType, types.TracebackType,
            types.FrameType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
            abc.MutableSet, abc.MutableMapping, abc.MutableSequence, deque)
_ordinary: dict[type, bool] = {}


class Slow(Exception):
    """This value needs Jinja's own rules (or its error message)."""


class Path:
    """``root.a[0]['b']``: a name and the keys/attributes that follow it."""

    __slots__ = ("root", "ops", "steps")

    def __init__(self, root: str, ops: tuple):
        self.root, self.ops = root, ops
        # the step a `steps.X...` path reads (an implicit dependency)
        self.steps = frozenset((ops[0][1],)) if root == "steps" and ops else frozenset()

    def resolve(self, scope: dict):
        try:
            value = scope[self.root]
        except KeyError:
            raise Slow from None  # a global (range, dict...) or an undefined name
        for is_attr, key in self.ops:
            value = _attr(value, key) if is_attr else _item(value, key)
        return value


def _attr(obj, name: str):
    """``obj.name`` as the sandbox reads it, for the plain cases."""
    t = type(obj)
    if t is dict:  # its keys first (a key named like a method too: sandbox.LimitedEnvironment.getattr)
        try:
            return obj[name]
        except KeyError:
            raise Slow from None  # a method, or missing: Jinja decides
    ordinary = _ordinary.get(t)
    if ordinary is None:
        ordinary = _ordinary[t] = not issubclass(t, _WATCHED)
    if not ordinary or obj.__class__ is not t:
        raise Slow
    try:
        value = getattr(obj, name)
    except AttributeError:
        raise Slow from None  # Jinja tries obj[name] next
    if callable(value):  # a method (the sandbox wraps or refuses some): Jinja decides
        raise Slow
    return value


def _item(obj, key):
    """``obj[key]``: indexing comes first for Jinja too."""
    try:
        return obj[key]
    except (TypeError, LookupError):
        raise Slow from None


# the most common template of all, `{{ steps.draft.output }}`: names and dots only
_DOTTED = re.compile(rf"\s*\{{\{{\s*({_NAME}(?:\.{_NAME})*)\s*\}}\}}\s*")


def dotted(source: str) -> Path | None:
    """``parse`` of a whole field that is ``{{ name.name... }}`` alone, in one match (None otherwise,
    and for keywords: then the general route decides)."""
    if source.startswith("{{ steps.") and source.endswith(".output }}"):  # the commonest of all, as written
        sid = source[9:-10]
        if sid.isidentifier() and sid.isascii() and sid[0] != "_":  # (a name: _NAME)
            return None if sid in KEYWORDS else Path("steps", ((True, sid), _OUTPUT))
    m = _DOTTED.fullmatch(source)
    if m is None:
        return None
    names = m.group(1).split(".")
    if len(names) == 3 and names[0] == "steps" and names[2] == "output":  # spaced otherwise
        return None if names[1] in KEYWORDS else Path("steps", ((True, names[1]), _OUTPUT))
    ops = []
    for n in names:
        if n in KEYWORDS:
            return None
        op = _ATTR_OPS.get(n)
        if op is None:
            if len(_ATTR_OPS) >= 20_000:  # names from untrusted files: bounded
                _ATTR_OPS.clear()
            op = _ATTR_OPS[n] = (True, n)
        ops.append(op)
    return Path(names[0], tuple(ops[1:]))


_ATTR_OPS: dict[str, tuple] = {}  # (True, name) of `.name`: one per name (a thousand `.output`s share it)
_OUTPUT = (True, "output")


def parse(body: str) -> Path | None:
    """The path an expression body is (``" steps.a.output "``), or None."""
    body = body.strip()
    m = _PATH.fullmatch(body)
    if m is None or m.group(1) in KEYWORDS:
        return None
    ops = []
    for seg in _SEGMENT.finditer(m.group(2)):
        name, index = seg.groups()
        if name is not None:
            if name in KEYWORDS:
                return None
            ops.append((True, name))
        elif index[0] in "'\"":
            ops.append((False, index[1:-1]))
        else:
            ops.append((False, int(index)))
    if m.group(1) == "steps" and ops and not isinstance(ops[0][1], str):
        return None  # steps[0]: Jinja's analysis refuses it with its own message
    return Path(m.group(1), tuple(ops))


def parse_text(source: str) -> list | None:
    """Text with ``{{ path }}`` pieces -> [str | Path, ...], or None when Jinja is needed
    (blocks, comments, whitespace control, carriage returns Jinja would normalise, other expressions)."""
    if "{%" in source or "{#" in source or "\r" in source:
        return None
    parts: list = []
    pos = 0
    while True:
        start = source.find("{{", pos)
        if start < 0:
            break
        end = source.find("}}", start + 2)
        if end < 0:
            return None
        body = source[start + 2:end]
        if body[:1] in ("-", "+") or body[-1:] == "-":
            return None
        path = parse(body)
        if path is None:
            return None
        if start > pos:
            parts.append(source[pos:start])
        parts.append(path)
        pos = end + 2
    if pos < len(source):
        parts.append(source[pos:])
    return parts
