"""Rewrite py-orc template names into native ones, token by token.

py-orc templates read parameters by bare name (`{{ topic }}`), step results by step id
(`{{ draft }}`, `{{ draft.result }}`, `{{ read_file.content }}`), loop variables with a `$`
(`{{ $item }}`). Native templates read `inputs.topic`, `steps.draft.output`, `item`.

Jinja's own lexer splits the template; only *root* names (not attributes, filters, tests,
keyword arguments or names the template declares with for/set/with) are offered to a
``resolve(name, attrs)`` callback, which may also swallow some of the attribute names that
follow (`.result`). Everything else, whitespace included, is kept byte for byte, so line
numbers inside a multi-line template do not move.
"""
from __future__ import annotations

import re

from ...errors import SpecError

KEYWORDS = frozenset({
    "and", "or", "not", "in", "is", "if", "else", "elif", "endif", "for", "endfor", "set", "endset", "true",
    "false", "none", "True", "False", "None", "recursive", "with", "without", "context", "import", "from", "as",
    "block", "endblock", "macro", "endmacro", "call", "endcall", "filter", "endfilter", "include", "extends",
    "raw", "endraw", "ignore", "missing", "do", "break", "continue", "loop", "endwith", "autoescape",
    "endautoescape", "trans", "endtrans", "pluralize", "caller", "varargs", "kwargs", "self", "super"})
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_OPEN_TAG = re.compile(r"\{\{.*?(?:\}\}|\Z)|\{%.*?(?:%\}|\Z)", re.S)   # an unclosed tag runs to the end
_DOLLAR = re.compile(r"\$(?=[A-Za-z_])")
_NOW = re.compile(r"(?<![\w.])now\(\s*\)")   # py-orc's `now()`: the run's start time, as `execution.timestamp`


class TemplateProblem(SpecError):
    """A template that Jinja cannot read; ``lineno`` is the line inside the template."""

    def __init__(self, message: str, lineno: int):
        self.lineno = lineno
        super().__init__(message)


def is_template(text) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def undollar(text: str) -> str:
    """`{{ $item }}` -> `{{ item }}` (only inside template tags)."""
    if "$" not in text:
        return text
    return _OPEN_TAG.sub(lambda m: _DOLLAR.sub("", m.group(0)), text)


def unnow(text: str) -> str:
    """`{{ now() }}` -> `{{ execution.timestamp }}` (only inside template tags)."""
    if "now(" not in text:
        return text
    return _OPEN_TAG.sub(lambda m: _NOW.sub("execution.timestamp", m.group(0)), text)


def _lex(text: str):
    from jinja2 import TemplateSyntaxError

    from ...spec.templates import env
    try:
        return [list(t) for t in env().lex(text)]
    except TemplateSyntaxError as e:
        raise TemplateProblem(f"template syntax error: {e.message}", e.lineno or 1) from None


def check_syntax(text: str) -> None:
    """Parse, and check every filter and test exists (what compiling would find, without the
    cost of compiling: the native loader compiles each template once anyway)."""
    from jinja2 import TemplateSyntaxError, nodes

    from ...spec.templates import env
    e = env()
    try:
        ast = e.parse(text)
    except TemplateSyntaxError as err:
        raise TemplateProblem(f"template syntax error: {err.message}", err.lineno or 1) from None
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        known = e.filters if isinstance(node, nodes.Filter) else e.tests
        if node.name not in known:
            what = "filter" if isinstance(node, nodes.Filter) else "test"
            raise TemplateProblem(f"template syntax error: no {what} named '{node.name}'", node.lineno or 1)


def rewrite(text: str, resolve) -> str:
    """Apply ``resolve(name, attrs) -> (replacement, attrs consumed) | None`` to each root name."""
    text = unnow(undollar(text))
    if not is_template(text):
        return text
    toks = _lex(text)
    declared = _declared(toks)
    sig = [i for i, t in enumerate(toks) if t[1] != "whitespace"]
    drop: set[int] = set()
    for k, i in enumerate(sig):
        kind, value = toks[i][1], toks[i][2]
        if kind != "name" or value in KEYWORDS or value in declared or i in drop:
            continue
        prev = toks[sig[k - 1]] if k else None
        prev2 = toks[sig[k - 2]] if k > 1 else None
        nxt = toks[sig[k + 1]] if k + 1 < len(sig) else None
        if prev is not None and prev[1] == "operator" and prev[2] in (".", "|"):
            continue
        if prev is not None and prev[1] == "name" and (prev[2] == "is" or (prev[2] == "not" and prev2 is not None
                                                                              and prev2[2] == "is")):
            continue
        if nxt is not None and nxt[1] == "operator" and nxt[2] == "=" and prev is not None and prev[2] in ("(", ","):
            continue  # keyword argument of a call
        attrs, chain = [], []
        j = i + 1
        while j + 1 < len(toks) and toks[j][1] == "operator" and toks[j][2] == "." and toks[j + 1][1] == "name":
            attrs.append(toks[j + 1][2])
            chain.append((j, j + 1))
            j += 2
        got = resolve(value, attrs)
        if got is None:
            continue
        replacement, consumed = got
        toks[i][2] = replacement
        for a, b in chain[:consumed]:
            drop.update((a, b))
    return "".join(t[2] for n, t in enumerate(toks) if n not in drop)


def _declared(toks) -> set[str]:
    """Names the template binds itself: {% for a, b in %}, {% set x = %}, {% with y = %}, macro args."""
    out: set[str] = set()
    sig = [t for t in toks if t[1] != "whitespace"]
    for k, t in enumerate(sig):
        if t[1] != "name":
            continue
        if t[2] == "for" and k and sig[k - 1][1] == "block_begin":
            m = k + 1
            while m < len(sig) and not (sig[m][1] == "name" and sig[m][2] == "in"):
                if sig[m][1] == "name":
                    out.add(sig[m][2])
                m += 1
        elif t[2] in ("set", "with") and k and sig[k - 1][1] == "block_begin":
            m = k + 1
            while m < len(sig) and sig[m][1] != "block_end":
                if sig[m][1] == "name" and m + 1 < len(sig) and sig[m + 1][2] in ("=", ","):
                    out.add(sig[m][2])
                m += 1
        elif t[2] == "macro" and k and sig[k - 1][1] == "block_begin":
            m = k + 2
            while m < len(sig) and sig[m][1] != "block_end":
                if sig[m][1] == "name":
                    out.add(sig[m][2])
                m += 1
    return out


def as_expression(text) -> str:
    """A py-orc condition -> one Jinja expression (no braces).

    `"{{ x > 3 }}"` -> `x > 3`; `"{{ guess }} < {{ target }}"` (py-orc renders, then evaluates the
    text) -> `(guess) < (target)`; a bare `"count > 0 and enabled"` is already an expression."""
    if isinstance(text, bool):
        return "true" if text else "false"
    if isinstance(text, (int, float)):
        return repr(text)
    text = undollar(str(text)).strip()
    if "{%" in text:
        raise SpecError("a condition cannot hold {% %} blocks", hint='write one expression, e.g. "{{ x > 3 }}"')
    if "{{" not in text:
        return text
    m = re.fullmatch(r"\{\{(.*)\}\}", text, re.S)
    if m and "{{" not in m.group(1) and "}}" not in m.group(1):
        return m.group(1).strip()
    return _TAG.sub(lambda mm: "(" + mm.group(0)[2:-2].strip() + ")", text)
