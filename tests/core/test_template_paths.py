"""The direct path for common template shapes (spec/paths.py) against Jinja's sandbox itself.

Every source is compiled twice, the normal way (direct path when the shape allows) and forced
through Jinja, and rendered in several scopes: the kind, the names and steps read, the value (and
its type) or the error (type and message) must be the same.
"""
from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict, deque

import pytest

from orchestrator_nb.core.context import RunInfo, StepsScope, StepState
from orchestrator_nb.errors import SpecError
from orchestrator_nb.spec.templates import Template, compile_field, shared


class Plain:
    """An ordinary object with a value, a method and a property."""

    def __init__(self):
        self.attr = "plain-attr"
        self.nested = {"k": [1, 2, 3]}

    def method(self):
        return "called"

    @property
    def prop(self):
        return 42

    @property
    def broken(self):
        raise ValueError("property failed")


def _fn():
    return 1


def _state(output, status="succeeded"):
    st = StepState()
    st.status, st.output = status, output
    return st


OUTPUT = {
    "k": "value", "n": 3, "f": 2.5, "none": None, "list": [10, 20, 30], "t": (1, "two"), "s": "text",
    "d": {"k2": {"k3": "deep"}, "items": "a key named items"}, "obj": Plain(), "fn": _fn, "cls": Plain,
    "od": OrderedDict(a=1), "dq": deque([1, 2]), "set": {1}, "empty": {}, "it's": "quoted key",
    "b": True, "nested": [{"title": "first"}, {"title": "second"}],
}


def scopes():
    states = {"a": _state(OUTPUT), "b": _state("plain text"), "c": _state(None, "skipped"),
              "items": _state("a step called items")}
    base = {"inputs": {"x": "hello", "n": 7, "none": None, "list": ["p", "q"], "if": "kw", "get": "key-get"},
            "steps": StepsScope(states), "run": RunInfo("run123", "demo", "/tmp/out")}
    return [
        dict(base),
        dict(base, item={"name": "widget", "tags": ["a", "b"]}, index=0),
        dict(base, item=["first", "second"], index=1),
        dict(base, item="a string item", index=2),
        dict(base, item=None, index=3),
        dict(base, item=Plain(), index=4),
        {"inputs": {}},                                     # no steps in scope at all
    ]


SCOPES = scopes()  # the same objects for both compilations

PATHS = [
    "steps.a.output", "steps.a", "steps.a.status", "steps.a.error", "steps.b.output", "steps.c.output",
    "steps.missing.output", "steps.a.nope", "steps['a'].output", 'steps["a"].output', "steps.items.output",
    "steps.a.output.k", "steps.a.output['k']", "steps.a.output.n", "steps.a.output.f", "steps.a.output.none",
    "steps.a.output.none.x", "steps.a.output.items", "steps.a.output.keys", "steps.a.output.pop",
    "steps.a.output.get", "steps.a.output.missing", "steps.a.output['missing']", "steps.a.output.list",
    "steps.a.output.list[0]", "steps.a.output.list[-1]", "steps.a.output.list[-0]", "steps.a.output.list[9]",
    "steps.a.output.list.append", "steps.a.output.list.count", "steps.a.output.list['count']",
    "steps.a.output.list['append']", "steps.a.output.list['x']", "steps.a.output.t[1]", "steps.a.output.t.count",
    "steps.a.output.s", "steps.a.output.s.upper", "steps.a.output.s.format", "steps.a.output.s[0]",
    "steps.a.output.s['x']", "steps.a.output.d.k2.k3", "steps.a.output.d['k2']['k3']", "steps.a.output.d.items",
    "steps.a.output.d['items']", "steps.a.output.obj", "steps.a.output.obj.attr", "steps.a.output.obj.method",
    "steps.a.output.obj.prop", "steps.a.output.obj.broken", "steps.a.output.obj.nested.k[2]",
    "steps.a.output.obj['attr']", "steps.a.output.fn", "steps.a.output.fn.x", "steps.a.output.cls",
    "steps.a.output.cls.mro", "steps.a.output.cls.method", "steps.a.output.od.a", "steps.a.output.od.pop",
    "steps.a.output.dq.append", "steps.a.output.dq[0]", "steps.a.output.set.add", "steps.a.output.empty.x",
    "steps.a.output[\"it's\"]", "steps.a.output.b", "steps.a.output.b.real", "steps.a.output.n.real",
    "steps.a.output.n.bit_length", "steps.a.output.nested[1].title", "steps.a.output.nested[1]['title']",
    "inputs", "inputs.x", "inputs.n", "inputs.none", "inputs.missing", "inputs['x']", "inputs.list[1]",
    "inputs.get", "inputs['get']", "inputs.items", "inputs.if", "inputs['if']",
    "item", "item.name", "item['name']", "item.tags[1]", "item[0]", "item[1]", "item.missing", "item.attr",
    "item.method", "index", "run", "run.id", "run.name", "run.outdir", "undefined_name", "undefined_name.x",
    "range", "len", "dict", "lipsum", "namespace", "steps",
    # never a direct path: private names, dynamic step references, keywords, other expressions
    "_x", "inputs._x", "inputs['_x']", "steps.a.output.fn.__code__", "steps.a._states", "steps[0]",
    "steps['_a']", "true", "none", "None", "not inputs.x", "inputs.x | upper", "inputs.n + 1",
    "steps.a.output ~ 'x'", "inputs.list|length", "inputs.x if inputs.n else 'no'", "inputs.n > 3",
    "len(inputs.list)", "steps.a.output.k.upper()", "inputs . x", "inputs[ 'x' ]", "inputs.0",
    "steps.a.output['']", "item[01]", "item[-1]",
]

TEXTS = [
    "Hello {{ inputs.x }}!", "{{ inputs.x }} and {{ steps.a.output.k }}", "n={{ inputs.n }} f={{ steps.a.output.f }}",
    "none={{ inputs.none }} / {{ steps.c }}", "a {{ missing }} b", "line1\n{{ item }}\nline2\n",
    "{{ steps.b }} is {{ steps.b.status }}", "x {{- inputs.x }}", "{{ inputs.x -}} y", "{% if true %}y{% endif %}",
    "{# c #}{{ inputs.x }}", "a\r\n{{ inputs.x }}", "{{ inputs.x }}}}", "}} {{ inputs.x }}", "{{ inputs.x }} {{",
    "{{ steps.a.output['k'] }} x", "{{ steps.a.output.list }} {{ steps.a.output.d }}", "tail\n\n",
    "{{ inputs.x | upper }} and {{ inputs.n }}", "{{ steps.a.output.items }} x", "{{ _x }} x",
    "{{ inputs['_x'] }} y", "{{ steps[0] }} z", "{{ item.name }}: {{ item.tags[0] }}", "{{ run }}/{{ run.id }}.md",
    "{{ steps.a.output.obj.broken }} text", "{{ 'literal' }} text", "{{ inputs.x }}{{ inputs.x }}",
    "{{{ inputs.x }}}",
]

SOURCES = [(f"{{{{ {p} }}}}", False) for p in PATHS] + [(f"  {{{{{p}}}}}\n", False) for p in PATHS[:12]] \
    + [(p, True) for p in PATHS] + [(t, False) for t in TEXTS] + [("plain text", False), ("", False)] \
    + [(s, False) for s in ("{{steps.a.output}}", "\t{{ inputs.x }}\t", "{{ steps.a.output }}\n\n", "{{  item.name}}",
                            "{{ inputs.if }}", "{{ steps.a.output.none.x }}", "{{ inputs. x }}", "{{ run .id }}")] \
    + [(s, False) for s in (  # around the one-check shape `{{ steps.<id>.output }}` (spec.paths.dotted)
        "{{ steps.output }}", "{{ steps..output }}", "{{ steps.a.b.output }}", "{{ steps.é.output }}",
        "{{ steps._a.output }}", "{{ steps.none.output }}", "{{ steps.1a.output }}", "{{ steps.a-b.output }}",
        "{{ steps.items.output }}", "{{ steps.b.output }}", "{{ steps.c.output }}", "{{ steps.zz.output }}",
        "{{ steps.a.output }} ", "{{ steps.a .output }}", "{{ steps.a.outputs }}", "{{ steps.a.output}}")]


def outcomes(source, expression, jinja):
    """What compiling gives, then what rendering gives in each scope."""
    try:
        t = Template(source, expression=expression, jinja=jinja)
    except SpecError as e:
        return [("refused", str(e), e.hint)]
    out = [(t.kind, t.names, t.steps)]
    for scope in SCOPES:
        try:
            value = t.render(scope)
        except Exception as e:
            out.append(("error", type(e), str(e)))
            continue
        kind = type(value)
        if callable(value) and not isinstance(value, type):  # Jinja wraps some methods anew each time
            value = getattr(value, "__qualname__", repr(value))
        out.append(("value", kind, value))
    return out


def test_same_as_jinja():
    assert len(SOURCES) > 250
    for source, expression in SOURCES:
        direct = outcomes(source, expression, jinja=False)
        by_jinja = outcomes(source, expression, jinja=True)
        assert direct == by_jinja, (source, expression)


def test_common_shapes_take_the_direct_path():
    """The shapes pipelines use most compile to the direct path (else this file tests nothing)."""
    direct = []
    for s, e in SOURCES:
        try:
            t = Template(s, expression=e)
        except SpecError:
            continue
        if t.path is not None or (t._fn is not None and t._fn.__name__ == "text"):
            direct.append(s)
    for s in ("{{ steps.a.output }}", "{{ inputs.x }}", "{{ item }}", "{{ steps.a.output.list[-1] }}",
              "{{ item['name'] }}", "Hello {{ inputs.x }}!", "steps.a.output.k"):
        assert s in direct, s
    for s in ("{{ _x }}", "{{ steps[0] }}", "{{ inputs.x | upper }}", "{{ true }}", "x {{- inputs.x }}"):
        assert s not in direct, s
    assert len(direct) > 200


def test_jinja_globals_are_known():
    from orchestrator_nb.spec.templates import JINJA_GLOBALS, env
    assert JINJA_GLOBALS == set(env().globals)


def test_same_source_shares_one_compiled_form():
    a = compile_field({"x": "{{ steps.a.output }}", "y": ["{{ inputs.x }}", "Hi {{ item }}"]})
    b = compile_field({"x": "{{ steps.a.output }}", "y": ["{{ inputs.x }}", "Hi {{ item }}"]})
    assert a["x"] is b["x"] and a["y"][0] is b["y"][0] and a["y"][1] is b["y"][1]
    assert shared("steps.a.output", True) is not shared("steps.a.output", False)  # mode is part of the key


def test_direct_paths_never_import_jinja():
    code = ("import sys\n"
            "import orchestrator_nb as orc\n"
            "p = orc.Pipeline('p', [orc.step('a', python=lambda: {'k': [1, 2]}),\n"
            "    orc.step('b', python=lambda x, y: (x, y), params={'x': '{{ steps.a.output.k[1] }}',\n"
            "             'y': ['{{ inputs.who }}', 'Hi {{ steps.a.output.k }}']})], inputs={'who': 'me'})\n"
            "r = p.run(db=False)\n"
            "assert r['b'] == (2, ['me', 'Hi [1, 2]']), r['b']\n"
            "assert 'jinja2' not in sys.modules, 'jinja2 was imported'\n"
            "p2 = orc.Pipeline('q', [orc.step('a', python=lambda x: x, params={'x': '{{ inputs.who | upper }}'})],\n"
            "                  inputs={'who': 'me'})\n"
            "assert p2.run(db=False)['a'] == 'ME' and 'jinja2' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_errors_name_the_undefined_value():
    """Errors still come from Jinja, word for word: an undefined step output names what is missing."""
    scope = scopes()[0]
    with pytest.raises(Exception, match="has no attribute 'nope'"):
        Template("{{ steps.a.nope }}").render(scope)
    with pytest.raises(Exception, match="'undefined_name' is undefined"):
        Template("Hi {{ undefined_name }}").render(scope)
    with pytest.raises(SpecError, match="private"):
        Template("{{ inputs._secret }}")


def test_an_input_the_run_was_not_given_is_named_with_how_to_give_it(tmp_path):
    """A pipeline that declares no inputs reads `inputs.topic`, run without it: Jinja's "'dict
    object' has no attribute 'topic'" becomes which input is missing and how to pass it."""
    import orchestrator_nb as orc
    from jinja2.exceptions import UndefinedError
    for source in ("{{ inputs.topic }}", "Write about {{ inputs.topic }}.", "{{ inputs.topic | upper }}"):
        with pytest.raises(UndefinedError, match=r"^inputs\.topic was not given: pass it \(`-p topic=\.\.\.` on the "
                                                 r"command line\), or declare it under `inputs:` with a default$"):
            Template(source).render({"inputs": {}, "steps": {}})
        assert Template(source).render({"inputs": {"topic": "tides"}, "steps": {}}).lower().count("tides") == 1
    assert Template("{{ inputs.topic | default('tides') }}").render({"inputs": {}}) == "tides"
    with pytest.raises(UndefinedError, match="has no attribute 'nope'"):   # another value missing: Jinja's words
        Template("{{ inputs.topic | default('x') }} {{ steps.a.nope }}").render({"inputs": {}, "steps": {"a": {}}})
    r = orc.load("name: u\nsteps:\n  - id: a\n    code: output = params['t']\n    params: {t: '{{ inputs.topic }}'}\n") \
        .run(db=False)
    assert r.status == "failed" and "inputs.topic was not given: pass it (`-p topic=...`" in r.error


def test_a_key_named_like_a_dict_method_is_the_key():
    """`for_each: "{{ steps.plan.output.items }}"` (the docs' own example) gave dict.items, a method:
    "for_each must give a list, got builtin_function_or_method"; `.keys` passed a method on silently."""
    import orchestrator_nb as orc

    def echo(x):
        return x
    p = orc.Pipeline("p", [orc.step("plan", python=echo, params={"x": {"items": [1, 2], "keys": "k"}}),
                           orc.step("each", for_each="{{ steps.plan.output.items }}", python=echo,
                                    params={"x": "{{ item }} {{ steps.plan.output.keys }}"})])
    r = p.run(db=False)
    assert r.status == "succeeded" and r["each"] == ["1 k", "2 k"]
    for jinja in (False, True):  # a dict without the key still has its methods
        assert Template("{{ d.items() | list }}", jinja=jinja).render({"d": {"a": 1}}) == [("a", 1)]
