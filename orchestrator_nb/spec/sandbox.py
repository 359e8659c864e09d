"""The template sandbox: Jinja2's immutable sandbox plus limits on time, sizes, ranges and numbers.

Jinja's sandbox stops templates reaching Python internals; it does not stop them asking for a
gigabyte (``'x' * 10**9``, ``'{0:>1000000000}'.format(1)``), a number with a billion digits
(``9 ** 9 ** 9``) or a loop that never ends. Every such request passes through a hook here and
is refused, before the work is done, with a one-line ``LimitExceeded`` naming the limit and its
variable (see ``orchestrator_nb.limits``):

- binary operators ``* ** % +`` are intercepted (``call_binop``) and sized first;
- every call (``call``): builtin functions and methods get no number argument past the size
  limit; ``join``/``replace``/``expandtabs``/``translate``/``round``/``sum`` are sized exactly;
- ``str.format`` counts the widths of its fields as it formats;
- every filter is wrapped: the wrapper checks its size arguments and, because it takes the
  render context, Jinja can no longer fold a filter with constant arguments while *compiling*
  (``{{ 'x' | center(300000000) }}`` used to run at load time);
- ``{% for %}`` loops and ``~`` joins are rewritten to go through guards, so a render stops
  after ``ORC_TEMPLATE_MAX_SECONDS`` even inside nested loops;
- ``range`` and ``lipsum`` are bounded; regular expressions run with a timeout (``regex``).

The render clock starts at a render's first hook, so a template without calls, operators or
loops (``{{ steps.x.output }}``, the hot path) pays nothing.
"""
from __future__ import annotations

import math
import re
import types
from time import monotonic

from jinja2 import nodes, pass_context
from markupsafe import Markup
from jinja2.runtime import Context, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.visitor import NodeTransformer

from ..limits import LIMITS, LimitExceeded

_SECONDS, _CHARS, _RANGE, _DIGITS = (LIMITS[k] for k in
                                     ("template_seconds", "template_chars", "template_range", "template_digits"))
_LOG2_10 = math.log2(10)
_BUILTIN = (types.BuiltinFunctionType, types.BuiltinMethodType, types.MethodWrapperType, type)


class GuardedContext(Context):
    """A render's context; ``started`` is when its first hook ran (the render clock)."""

    started: float | None = None


def tick(context) -> None:
    """Start the render clock, or stop the render once it has run too long."""
    started = context.started
    now = monotonic()
    if started is None:
        context.started = now
    elif now - started > _SECONDS.floor and _SECONDS.exceeded_by(now - started):
        raise LimitExceeded("template_seconds", None, "rendering")


def remaining(context) -> float:
    started = context.started
    if started is None:
        context.started = started = monotonic()
    return max(0.001, _SECONDS.value() - (monotonic() - started))


def _chars(amount, what: str) -> None:
    if amount > _CHARS.floor and _CHARS.exceeded_by(amount):
        raise LimitExceeded("template_chars", amount, what)


def _items(amount, what: str) -> None:
    if amount > _RANGE.floor and _RANGE.exceeded_by(amount):
        raise LimitExceeded("template_range", amount, what)


def _digits(amount, what: str) -> None:
    if amount > _DIGITS.floor and _DIGITS.exceeded_by(amount):
        raise LimitExceeded("template_digits", int(amount), what)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _text_len(x) -> int:
    """Characters ``x`` takes when written out, where that is known without writing it."""
    if isinstance(x, (str, bytes)):
        return len(x)
    if _is_int(x):
        return int(abs(x).bit_length() / _LOG2_10) + 2
    return 0


# operators ----------------------------------------------------------------------------------
def _check_repeat(left, right) -> None:
    for seq, n in ((left, right), (right, left)):
        if _is_int(n) and isinstance(seq, (str, bytes)):
            _chars(len(seq) * n, "repeated text (*)")
        elif _is_int(n) and isinstance(seq, (list, tuple)):
            _items(len(seq) * n, "repeated list (*)")
    if _is_int(left) and _is_int(right):
        _digits((left.bit_length() + right.bit_length()) / _LOG2_10, "product (*)")


def _check_power(base, exp) -> None:
    if _is_int(base) and _is_int(exp) and exp > 0 and abs(base) > 1:
        _digits(exp * math.log10(abs(base)), "power (**)")


def _check_concat(left, right) -> None:
    if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
        _chars(len(left) + len(right), "joined text (+)")
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        _items(len(left) + len(right), "joined list (+)")


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def _check_percent(fmt, args) -> None:
    """``'%1000000000d' % 1``: add up the widths, precisions and text a %-format writes."""
    if isinstance(fmt, bytes):
        fmt = fmt.decode("latin-1")
    seq = list(args) if isinstance(args, tuple) else [args]
    mapping = args if hasattr(args, "keys") and not isinstance(args, (str, bytes)) else None
    total, i = len(fmt), 0

    def take():
        nonlocal i
        value = seq[i] if i < len(seq) else None
        i += 1
        return value

    for m in _PERCENT.finditer(fmt):
        key, width, precision, conversion = m.groups()
        if conversion == "%":
            continue
        for w in (width, precision):
            if w == "*":
                n = take()
                total += abs(n) if _is_int(n) else 0
            elif w:
                total += int(w) if len(w) < 15 else 10 ** 15
        if key is not None and mapping is not None:
            try:
                total += _text_len(mapping[key])
            except Exception:  # a missing key fails in the real format, with Python's message
                pass
        else:
            total += _text_len(take())
    _chars(total, "%-formatted text")


# calls --------------------------------------------------------------------------------------
def _sized_call(obj, args: tuple, kwargs: dict) -> tuple:
    """Refuse a builtin call that would build something too big; may return materialized args."""
    if not isinstance(obj, _BUILTIN):
        return args
    name = getattr(obj, "__name__", "")
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, (str, bytes)) or name == "to_bytes":  # widths and lengths: center(), ljust()...
        for value in (*args, *kwargs.values()):
            if _is_int(value) and abs(value) > _CHARS.floor:
                _chars(abs(value), f"{name}() width")
    if isinstance(owner, (str, bytes)):
        if name == "join" and args:
            parts = list(args[0])
            _items(len(parts), "join()")
            _chars(len(owner) * max(len(parts) - 1, 0) + sum(_text_len(p) for p in parts), "join()")
            return (parts,) + args[1:]
        if name == "replace" and len(args) >= 2:
            _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1))
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if _is_int(size):
                _chars(len(owner) * max(size, 1), "expandtabs()")
        elif name == "translate" and args and hasattr(args[0], "values"):
            longest = max((_text_len(v) for v in args[0].values()), default=1)
            _chars(len(owner) * longest, "translate()")
    elif obj is round:
        digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
        if _is_int(digits):
            _digits(abs(digits), "round() digits")
    elif obj is sum:
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        if not isinstance(start, (int, float)):
            raise TypeError("sum() adds numbers: its start must be a number")
    return args


def _check_replace(text, old, new, count) -> None:
    if not isinstance(text, (str, bytes)) or not isinstance(new, (str, bytes)) or len(new) <= len(old or ""):
        return
    worst = len(text) + (len(text) + 1) * (len(new) - len(old))
    if worst > _CHARS.floor:
        n = text.count(old) if old else len(text) + 1
        if _is_int(count) and count >= 0:
            n = min(n, count)
        _chars(len(text) + n * (len(new) - len(old)), "replace()")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` that adds up the width of every field before writing it."""

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        self.written = 0

    def format_field(self, value, format_spec):
        if format_spec:
            for digits in re.findall(r"\d+", format_spec):
                self.written += int(digits) if len(digits) < 15 else 10 ** 15
        self.written += _text_len(value)
        _chars(self.written, "format() text")
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    pass


# the environment ----------------------------------------------------------------------------
class _Guards(NodeTransformer):
    """Route every loop's iterable and every ``~`` join through a guard. The guards are applied
    as filters: a filter is called directly, where a call would go through ``call`` (3x slower)."""

    def visit_For(self, node):
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, GUARDS["loop"], [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node):
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(list(node.nodes), lineno=node.lineno), GUARDS["concat"], [], [], None,
                            None, lineno=node.lineno)


@pass_context
def _loop(context, iterable):
    """A loop's items, checking the render clock every 256 of them."""
    n = 0
    for item in iterable:
        n += 1
        if not n & 255:
            tick(context)
        yield item


@pass_context
def _concat(context, parts):
    if any(hasattr(p, "__html__") for p in parts):
        return markup_join(parts)
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    _chars(sum(map(len, texts)), "joined text (~)")
    return "".join(texts)


# filter names no template can write (a template's filter names are identifiers)
GUARDS = {"loop": "orc-loop", "concat": "orc-concat"}


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits above."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    context_class = GuardedContext

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.update({GUARDS["loop"]: _loop, GUARDS["concat"]: _concat})

    def _generate(self, source, name, filename, defer_init=False):
        if isinstance(source, nodes.Template):
            _Guards().visit(source)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def getattr(self, obj, attribute):
        # a dict's keys before its methods: `output.items` is what an answer holds under "items",
        # not dict.items (spec.paths, the fast path, reads it the same way)
        if isinstance(obj, dict) and isinstance(attribute, str) and not attribute.startswith("_"):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context, operator, left, right):
        tick(context)
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%":
            if isinstance(left, (str, bytes)):
                _check_percent(left, right)
        elif operator == "+":
            _check_concat(left, right)
        return self.binop_table[operator](left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        tick(__context)
        if args or kwargs:
            args = _sized_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value):
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
                or value.__name__ not in ("format", "format_map") or not isinstance(value.__self__, str):
            return None
        text = value.__self__
        escape = getattr(text, "escape", None) if hasattr(text, "__html__") else None
        is_map = value.__name__ == "format_map"

        def bounded_format(*args, **kwargs):
            formatter = _BoundedEscapeFormatter(self, escape=escape) if escape else _BoundedFormatter(self)
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one mapping")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))

        return bounded_format


def bounded_range(*args):
    r = range(*args)
    n = (r.stop - r.start + r.step + (-1 if r.step > 0 else 1)) // r.step
    _items(max(n, 0), "range()")
    return r


def bounded_lipsum(n=5, html=True, min=20, max=100):
    from jinja2.utils import generate_lorem_ipsum
    for v in (n, min, max):
        if not _is_int(v):
            raise TypeError("lipsum() takes whole numbers")
    _items(abs(n) * abs(max), "lipsum() words")
    return generate_lorem_ipsum(n, html, min, max)


# filters ------------------------------------------------------------------------------------
def _f_width(value, width=80, *a, **k):
    if _is_int(width):
        _chars(width, "center() width")
    return value


def _f_indent(value, width=4, *a, **k):
    per_line = width if _is_int(width) else _text_len(width)
    _chars(len(str(value)) + (str(value).count("\n") + 1) * per_line, "indent()")
    return value


def _f_wordwrap(value, width=79, break_long_words=True, wrapstring=None, *a, **k):
    if wrapstring is not None:
        _chars(len(str(value)) * (1 + _text_len(wrapstring)), "wordwrap()")
    return value


def _f_format(value, *args, **kwargs):
    _check_percent(str(value), kwargs or args)
    return value


def _f_replace(value, old="", new="", count=None, *a, **k):
    _check_replace(str(value), str(old), str(new), -1 if count is None else count)
    return value


def _f_join(value, d="", *a, **k):
    if isinstance(value, (str, dict)) or value is None:
        return value
    parts = list(value)
    _items(len(parts), "join()")
    _chars(_text_len(d) * max(len(parts) - 1, 0) + sum(_text_len(p) for p in parts), "join()")
    return parts


def _f_count(value, count=1, *a, **k):
    if _is_int(count):
        _items(abs(count), "batch()/slice() count")
    return value


def _f_indent_json(value, indent=None, *a, **k):
    if indent is not None and (_text_len(indent) if not _is_int(indent) else indent) > 64:
        raise ValueError("tojson: indent is at most 64")
    return value


def _f_round(value, precision=0, *a, **k):
    if _is_int(precision):
        _digits(abs(precision), "round() precision")
    return value


def _f_sum(value, attribute=None, start=0, *a, **k):
    if not isinstance(start, (int, float)):
        raise TypeError("sum adds numbers: its start must be a number")
    return value


_FILTER_CHECKS = {
    "center": _f_width, "indent": _f_indent, "wordwrap": _f_wordwrap, "format": _f_format,
    "replace": _f_replace, "join": _f_join, "batch": _f_count, "slice": _f_count,
    "tojson": _f_indent_json, "to_json": _f_indent_json, "round": _f_round, "sum": _f_sum,
}


def guard_filter(name: str, fn):
    """``fn`` behind the render clock and its size check. Taking the context (``pass_context``)
    also tells Jinja it cannot run the filter at compile time."""
    passes = getattr(getattr(fn, "jinja_pass_arg", None), "name", None)
    check = _FILTER_CHECKS.get(name)

    @pass_context
    def guarded(context, value=None, *args, **kwargs):
        tick(context)
        if check is not None:
            value = check(value, *args, **kwargs)
        if name in _BY_LINE and isinstance(value, str) and len(value) > _BY_LINE_FROM:
            return _line_by_line(context, name, lambda text: call(context, text, args, kwargs), value, args, kwargs)
        return call(context, value, args, kwargs)

    def call(context, value, args, kwargs):
        if passes == "context":
            return fn(context, value, *args, **kwargs)
        if passes == "eval_context":
            return fn(context.eval_ctx, value, *args, **kwargs)
        if passes == "environment":
            return fn(context.environment, value, *args, **kwargs)
        return fn(value, *args, **kwargs)

    guarded.__name__ = getattr(fn, "__name__", name)
    return guarded


# wordwrap() and urlize() cannot be stopped midway and are slow per character (wordwrap of one long
# word, quadratic): on a long text they run a line at a time, on the render clock, and refuse a line
# they could not finish within it
_BY_LINE = ("wordwrap", "urlize")
_BY_LINE_FROM = 10_000       # characters: shorter texts run whole, as Jinja runs them
_LINE_CHARS_PER_SECOND = 100_000


def _line_by_line(context, name, one, text, args, kwargs):
    if name == "wordwrap":  # Jinja wraps each of splitlines() and joins them with the wrap string
        lines = text.splitlines()
        wrapstring = kwargs.get("wrapstring", args[2] if len(args) > 2 else None)
        joiner = context.environment.newline_sequence if wrapstring is None else wrapstring
    else:
        lines, joiner = text.split("\n"), "\n"
    cap = _LINE_CHARS_PER_SECOND * _SECONDS.value()
    out = []
    for line in lines:
        if len(line) > cap:
            raise LimitExceeded("template_seconds", None, f"{name}() of a line of {len(line):,} characters")
        out.append(one(line))
        tick(context)
    if out and isinstance(out[0], Markup):
        return Markup(joiner).join(out)
    return joiner.join(out)


@pass_context
def regex_replace(context, value, pattern, repl="", count=0):
    """``re.sub`` with a deadline: backtracking patterns such as ``(a+)+$`` stop with the render clock."""
    import regex

    text = str(value)
    repl = str(repl)
    try:
        compiled = regex.compile(str(pattern))
    except regex.error as e:
        raise ValueError(f"regex_replace: invalid pattern {str(pattern)!r}: {e}") from None
    try:
        if len(repl) > 1 and len(text) + (len(text) + 1) * len(repl) > _CHARS.floor:
            found = sum(1 for _ in compiled.finditer(text, timeout=remaining(context)))
            groups = repl.count("\\") + repl.count("\\g<")
            _chars(len(text) + found * len(repl) + groups * len(text), "regex_replace() text")
        return compiled.sub(repl, text, count=count, timeout=remaining(context))
    except TimeoutError:
        raise LimitExceeded("template_seconds", None, f"regex_replace({str(pattern)[:40]!r})") from None
