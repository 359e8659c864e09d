"""Hypothesis strategies for pipeline specs as an adversary (or a typo) writes them, and the
property every one must meet: it loads, or it is refused with one SpecError line, within 2 s
and 200 MB. Shared by the property tests and the standalone runner (``fuzz.py``)."""
from __future__ import annotations

import json
import resource
import signal
import sys
import time
import traceback

import yaml
from hypothesis import strategies as st

from orchestrator_nb.core.stepdef import STEP_KEYS
from orchestrator_nb.dialects.pyorc.detect import STEP_KEYS as PYORC_STEP_KEYS, TOP_KEYS as PYORC_TOP_KEYS
from orchestrator_nb.spec.format import ACTION_KEYS, CHECK, DEFAULTS, INPUT, PIPELINE, RETRY, WRITE

SECONDS, MEGABYTES = 2.0, 200

PIPELINE_KEYS = sorted(PIPELINE.fields) + sorted(PYORC_TOP_KEYS)
STEP_KEYS_ALL = sorted(set(STEP_KEYS) | set(ACTION_KEYS) | set(PYORC_STEP_KEYS) | {"for_each", "max_iterations"})
NESTED_KEYS = sorted(set(RETRY.fields) | set(CHECK.fields) | set(WRITE.fields) | set(DEFAULTS.fields)
                     | set(INPUT.fields) | {"schema", "prompt", "path", "content", "condition", "command"})
PYORC_ACTIONS = ["generate_text", "generate_structured", "analyze_text", "evaluate_condition", "generate",
                 "read", "write", "execute", "list", "web-search", "python-executor", "do something", ""]
PYORC_TOOLS = ["filesystem", "terminal", "llm-generate", "llm-analyze", "web-search", "nope"]

# text: every character, control characters and line breaks included
controls = st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\ud800"])
any_char = st.one_of(st.integers(0x20, 0x7e).map(chr), st.integers(0, 0x10FFFF).map(chr), controls)
text = st.text(any_char, max_size=8)
_letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ident = st.builds(lambda a, b: a + b, st.sampled_from(_letters + "_"),
                  st.text(st.sampled_from(_letters + "0123456789_"), max_size=8))
names = st.one_of(ident, text, st.sampled_from(["steps", "inputs", "item", "index", "run", "_x", "__class__"]))

# templates: expressions, filters, calls, loops, broken braces, deep nesting
atom = st.one_of(
    st.sampled_from(["steps.a.output", "steps.b.output.x", "inputs.n", "item", "index", "run.id", "x",
                     "steps['a']", "steps[item]", "''.__class__", "range(3)", "[1, 2]", "{'k': 1}"]),
    st.integers(-10 ** 30, 10 ** 30).map(str), text.map(json.dumps), ident)
expr = st.recursive(atom, lambda e: st.one_of(
    st.tuples(e, st.sampled_from(["+", "-", "*", "**", "%", "~", "//", " and ", " or ", " == ", " < ", " in "]), e)
      .map("".join),
    st.tuples(e, st.sampled_from(["upper", "join(', ')", "length", "tojson", "center(9)", "regex_replace('a+', 'b')",
                                   "default('x')", "nosuchfilter", "attr('_x')", "list", "sort", "batch(2)",
                                   "format(1)", "indent(2)", "replace('a', 'b')", "int", "first"]))
      .map(lambda t: f"{t[0]} | {t[1]}"),
    e.map(lambda x: f"({x})"), e.map(lambda x: f"[{x}]"), e.map(lambda x: f"len({x})"),
    st.tuples(e, e, e).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
), max_leaves=5)
template = st.one_of(
    expr.map(lambda x: "{{ " + x + " }}"),
    st.tuples(text, expr, text).map(lambda t: f"{t[0]}{{{{ {t[1]} }}}}{t[2]}"),
    st.tuples(ident, expr, expr).map(lambda t: f"{{% for {t[0]} in {t[1]} %}}{{{{ {t[2]} }}}}{{% endfor %}}"),
    st.tuples(expr, text).map(lambda t: f"{{% if {t[0]} %}}{t[1]}{{% endif %}}"),
    st.integers(1, 3000).map(lambda n: "{{ " + "(" * n + "1" + ")" * n + " }}"),
    st.integers(1, 40).map(lambda n: "{% for i in [1] %}" * n + "x" + "{% endfor %}" * n),
    st.sampled_from(["{{", "}}", "{% for %}", "{{ x. }}", "{% endif %}", "{{ steps. }}", "{# x", "{% raw %}",
                     "{{ 'a' * 10 ** 9 }}", "{{ 9 ** 9 ** 9 }}", "{{ 'x' | center(300000000) }}",
                     "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' | regex_replace('(a|aa)+$', '') }}"]),
)

huge = st.sampled_from([5000, -4400, 64]).map(lambda n: 10 ** n if n > 0 else -(10 ** -n))
scalar = st.one_of(st.none(), st.booleans(), st.integers(), huge,
                   st.floats(allow_nan=True, allow_infinity=True), text, template,
                   st.sampled_from(["", "0", "-1", "1e999", "null", "mod:fn", "nosuchmod:fn", "this:s",
                                    "local:nosuch", "scripted:x", "openai:gpt-4.1", "a:b:c", ":", "..", "/etc/passwd",
                                    ".", "x/..", "{{ run.id }}/../x", "9" * 5000]))
key = st.one_of(st.sampled_from(STEP_KEYS_ALL + PIPELINE_KEYS + NESTED_KEYS), text, st.integers(), st.booleans())
value = st.recursive(scalar, lambda v: st.one_of(st.lists(v, max_size=3), st.dictionaries(key, v, max_size=3)),
                     max_leaves=6)


def _step(extra_keys, action_keys):
    return st.builds(
        lambda sid, action, extra: {"id": sid, **action, **extra},
        st.one_of(ident, value),
        st.one_of(st.dictionaries(st.sampled_from(action_keys), value, min_size=1, max_size=2),
                  st.dictionaries(st.sampled_from(action_keys), template, min_size=1, max_size=1)),
        st.dictionaries(st.one_of(st.sampled_from(extra_keys), key), value, max_size=5))


native_step = _step(STEP_KEYS_ALL, list(ACTION_KEYS))
pyorc_step = st.builds(
    lambda base, action, tool: {**base, **action, **tool},
    _step(sorted(PYORC_STEP_KEYS) + ["for_each", "steps", "max_iterations"], ["parameters", "dependencies"]),
    st.one_of(st.just({}), st.sampled_from(PYORC_ACTIONS).map(lambda a: {"action": a}),
              value.map(lambda a: {"action": a})),
    st.one_of(st.just({}), st.sampled_from(PYORC_TOOLS).map(lambda t: {"tool": t}),
              value.map(lambda t: {"tool": t})))
native = st.builds(
    lambda name, steps, extra: {"name": name, "steps": steps, **extra},
    st.one_of(ident, value), st.one_of(st.lists(native_step, max_size=4), value),
    st.dictionaries(st.one_of(st.sampled_from(PIPELINE_KEYS), key), value, max_size=4))
pyorc = st.builds(
    lambda top, steps: {**top, "steps": steps},
    st.dictionaries(st.sampled_from(["id", "name", "parameters", "outputs", "description"]), value, max_size=4),
    st.lists(pyorc_step, min_size=1, max_size=4))
# nearly valid pipelines: a sound skeleton with plausible values, so loading goes deep
plausible_action = st.one_of(
    template.map(lambda t: {"prompt": t, "model": "scripted:x"}),
    st.sampled_from(["output = 1", "output = params", "import os\noutput = os.getcwd()", "x = (", ""])
      .map(lambda c: {"code": c}),
    st.sampled_from(["mod:fn", "json:loads", "this:s", "os.path:join", "nosuch.mod:f", "a.b.c:d.e"])
      .map(lambda r: {"python": r}),
    template.map(lambda t: {"sql": t}), template.map(lambda t: {"approval": t}),
    st.tuples(st.one_of(template, st.sampled_from(["out.md", ".", "x/..", "", "../x", "/abs", "~/x"])), value)
      .map(lambda t: {"write": {"path": t[0], "content": t[1]}}),
)
plausible_common = st.fixed_dictionaries({}, optional={
    "needs": st.one_of(ident, st.lists(ident, max_size=3)), "when": template, "for_each": st.one_of(template, value),
    "retry": st.one_of(st.integers(-2, 5), value), "timeout": st.one_of(st.floats(), st.integers(), value),
    "check": st.one_of(template, st.fixed_dictionaries({"expr": template}), value), "output": st.one_of(
        st.sampled_from(["json", "text", "mod:Model", "nosuchmod:Plan"]), value), "params": st.dictionaries(ident, value,
                                                                                                            max_size=3),
    "model": st.sampled_from(["scripted:x", "local:nosuch", "nosuchprovider:x", "alias"]), "while": template,
    "max_iterations": st.one_of(st.integers(), template), "on_error": st.sampled_from(["fail", "continue", "x"]),
})
plausible_step = st.builds(lambda sid, action, common, extra: {"id": sid, **action, **common, **extra},
                           ident, plausible_action, plausible_common,
                           st.dictionaries(st.sampled_from(STEP_KEYS_ALL), value, max_size=1))
plausible = st.builds(
    lambda name, steps, inputs, models: {"name": name, "steps": steps, **inputs, **models},
    ident, st.lists(plausible_step, min_size=1, max_size=5),
    st.one_of(st.just({}), st.dictionaries(ident, st.one_of(value, st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(["string", "integer", "array"]), value)}, optional={"default": value})),
        max_size=3).map(lambda d: {"inputs": d})),
    st.one_of(st.just({}), st.dictionaries(ident, st.one_of(st.sampled_from(["scripted:x", "x"]), value),
                                           max_size=2).map(lambda d: {"models": d})))
spec_dict = st.one_of(plausible, plausible, native, pyorc, value)


def _to_yaml(data) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except Exception:  # a lone surrogate, a 6,000-digit number: dump what can be dumped
        try:
            return json.dumps(data, default=str)
        except Exception:
            return "name: t\nsteps: [{id: a, code: 'output = 1'}]\n"


def _mutate(text: str, edits) -> str:
    for pos, kind, snippet in edits:
        i = pos % (len(text) + 1)
        if kind == "insert":
            text = text[:i] + snippet + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + len(snippet):]
        else:  # replace the rest of the line
            end = text.find("\n", i)
            text = text[:i] + snippet + (text[end:] if end >= 0 else "")
    return text


snippets = st.one_of(text, st.sampled_from(["&a ", "*a", "&b [*a, *a, *a]", "<<: *a", "!!python/object:os.system",
                                            "\t", "- ", ": ", "{", "[", "]]]]", "'", '"', "|", ">", "---\n", "...",
                                            "%YAML 1.1\n", "!!binary AAAA", "2023-13-45", "? ", "\x00"]))
spec_text = st.one_of(
    st.builds(lambda d, edits: _mutate(_to_yaml(d), edits), spec_dict,
              st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from(["insert", "delete", "line"]), snippets),
                       max_size=4)),
    st.sampled_from([
        "a: &a [" + ", ".join(['"x"'] * 9) + "]\n" + "".join(
            f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi")),
        "x: &x [*x]\n", "x: " + "[" * 2000 + "]" * 2000, "x: " + "{a: " * 300 + "1" + "}" * 300,
        "name: t\nsteps:\n" + "  - {id: a, code: 'output = 1'}\n" * 3,
    ]),
)


class TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise TooSlow()


def check_one(spec, file: str = "<fuzz>") -> tuple[str, str]:
    """Load (and statically validate) one spec -> (outcome, detail). Outcomes: loaded, refused
    (a one-line SpecError), unexpected (any other exception), multiline (an error of several lines
    or with control characters), overtime (over 2 s of CPU, or 10 s of wall time), overmemory."""
    from orchestrator_nb.api.validate import validate_pipeline
    from orchestrator_nb.core.loader import load, load_text
    from orchestrator_nb.errors import SpecError

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 10 * SECONDS)
    t0, c0 = time.monotonic(), time.process_time()
    try:
        p = load_text(spec, file=file) if isinstance(spec, str) else load(spec)
        validate_pipeline(p, dirs=[])
        outcome, detail = "loaded", ""
    except SpecError as e:
        message = str(e)
        bad = [c for c in message if ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029"]
        outcome, detail = ("multiline", message) if bad else ("refused", message)
    except TooSlow:
        outcome, detail = "overtime", f"stopped after {10 * SECONDS:.0f} s"
    except BaseException as e:  # noqa: BLE001 (anything else is a bug: it reaches users as "internal error")
        if isinstance(e, KeyboardInterrupt):
            raise
        frame = traceback.extract_tb(e.__traceback__)[-1]
        outcome, detail = "unexpected", f"{type(e).__name__}: {str(e)[:200]} at {frame.filename}:{frame.lineno}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    cpu, took = time.process_time() - c0, time.monotonic() - t0
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    # CPU time is what the bound promises; wall time on a shared machine also counts waiting for a core
    if outcome in ("loaded", "refused") and (cpu > SECONDS or took > 5 * SECONDS):
        outcome, detail = "overtime", f"{cpu:.2f} s CPU, {took:.2f} s wall"
    if outcome in ("loaded", "refused") and grew > MEGABYTES:
        outcome, detail = "overmemory", f"+{grew:.0f} MB"
    return outcome, detail


def _brief(x):
    """JSON-able and printable: giant integers become a note (str() refuses past 4,300 digits)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 10_000:
        return f"<int of {x.bit_length()} bits>"
    if isinstance(x, dict):
        return {str(_brief(k)): _brief(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_brief(v) for v in x]
    return x


def short(spec) -> str:
    text = spec if isinstance(spec, str) else json.dumps(_brief(spec), default=repr, ensure_ascii=True)
    return (text[:300] + "...") if len(text) > 300 else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run tests/security/fuzz.py")
