"""Template limits: nothing runs while a template compiles, and a render is bounded in time, text
size, list length and number size; each refusal names the limit and its variable."""
from __future__ import annotations

import json

import pytest

from orchestrator_nb.errors import SpecError
from orchestrator_nb.limits import LIMITS, LimitExceeded
from orchestrator_nb.core.loader import load
from orchestrator_nb.spec.templates import Template

from measure import measure

REDOS = "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' | regex_replace('(a|aa)+$', '') }}"
ATTACKS = {
    "redos": (REDOS, "regex_replace('(a|aa)+$') is over the limit of 0.5 s (set ORC_TEMPLATE_MAX_SECONDS"),
    "center": ("{{ 'x' | center(300000000) }}", "center() width of 300,000,000 characters is over the limit of "
                                                 "10,000,000 characters (set ORC_TEMPLATE_MAX_CHARS to raise it)"),
    "range": ("{{ range(10**7)|list|length }}", "range() of 10,000,000 items is over the limit of 100,000 items "
                                                "(set ORC_TEMPLATE_MAX_RANGE to raise it)"),
    "fmt": ("{{ '{0:>1000000000}'.format(1) }}", "format() text of 1,000,000,002 characters is over the limit"),
    "fmt2": ("{{ '{0:>{1}}'.format(1, 10**9) }}", "format() text of 1,000,000,013 characters is over the limit"),
    "pct": ("{{ '%1000000000d' % 1 }}", "%-formatted text of 1,000,000,014 characters is over the limit"),
    "pctf": ("{{ '%1000000000d' | format(1) }}", "%-formatted text of 1,000,000,014 characters is over the limit"),
    "repeat": ("{{ 'a'*10**9 }}", "repeated text (*) of 1,000,000,000 characters is over the limit"),
    "power": ("{{ 9 ** (9 ** 9) }}", "power (**) of 369,693,099 digits is over the limit of 4,300 digits "
                                     "(set ORC_TEMPLATE_MAX_DIGITS to raise it)"),
    "loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
              "rendering is over the limit of 0.5 s (set ORC_TEMPLATE_MAX_SECONDS to raise it)"),
    "doubling": ("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                 "{% endfor %}{{ ns.s|length }}", "joined text (~) of 16,777,216 characters is over the limit"),
    "join": ("{{ ('x'*100000).join(range(100000)) }}", "join() of 10,000,525,688 characters is over the limit"),
    "replace": ("{{ ('x'*1000000).replace('x', 'y'*30) }}", "replace() of 30,000,000 characters is over the limit"),
    "pad": ("{{ 'x'.ljust(10**9) }}", "ljust() width of 1,000,000,000 characters is over the limit"),
    "batch": ("{{ [1]|batch(10**9, 0)|list }}", "batch()/slice() count of 1,000,000,000 items is over the limit"),
    "lipsum": ("{{ lipsum(10**6) }}", "lipsum() words of 100,000,000 items is over the limit"),
    "wordwrap": ("{{ ('x' * 1000000) | wordwrap(1) }}", "wordwrap() of a line of 1,000,000 characters is over "
                                                         "the limit of 0.5 s"),
    "urlize": ("{{ ('word ' * 200000) | urlize }}", "urlize() of a line of 1,000,000 characters is over the limit"),
    "urlize_lines": ("{{ ('see http://a.com/x\\n' * 400000) | urlize }}", "rendering is over the limit of 0.5 s"),
    "output": ("{% for i in range(2000) %}{{ 'x' * 9000 }}{% endfor %}",
               "rendered text of 10,008,000 characters is over the limit of 10,000,000 characters"),
}


def test_nothing_a_template_says_runs_while_it_loads(tmp_path):
    """Jinja folds filters with constant arguments when it compiles: that ran the ReDoS at
    `orc validate` (hung) and built 300 MB for center(300000000). Now loading does no work."""
    steps = "".join(f"  - id: {name}\n    write: {{path: {name}.txt, content: {json.dumps(src)}}}\n"
                    for name, (src, _) in ATTACKS.items())
    (tmp_path / "attacks.yaml").write_text("name: attacks\nsteps:\n" + steps)
    r = measure("""
        from orchestrator_nb.cli.main import main
        result["code"] = main(["validate", "attacks.yaml"])
    """, cwd=tmp_path)
    assert r["code"] == 0, r
    assert r["cpu"] < 2 and r["seconds"] < 10 and r["peak_mb"] < 200, r


def test_each_attack_fails_its_step_with_the_reason_in_time_and_memory(tmp_path):
    steps = "".join(f"  - id: {name}\n    on_error: continue\n"
                    f"    write: {{path: {name}.txt, content: {json.dumps(src)}}}\n"
                    for name, (src, _) in ATTACKS.items())
    (tmp_path / "attacks.yaml").write_text("name: attacks\nsteps:\n" + steps)
    r = measure("""
        import asyncio
        from orchestrator_nb.api.runner import run_pipeline
        res = asyncio.run(run_pipeline("attacks.yaml", db=False, outdir="out"))
        result["steps"] = {s["id"]: [s["status"], s.get("error"), s["seconds"]] for s in res.steps}
        result["run"] = res.status
    """, cwd=tmp_path, env={"ORC_TEMPLATE_MAX_SECONDS": "0.5"})
    assert "error" not in r, r
    assert r["peak_mb"] < 200, r
    for name, (src, reason) in ATTACKS.items():
        status, error, seconds = r["steps"][name]
        assert seconds < 2, (name, seconds)
        assert status == "failed", (name, status, error)
        assert reason in error and "\n" not in error, (name, error)
        assert error.startswith("template "), error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_default_limits():
    assert LIMITS["template_seconds"].value() == 1.0
    assert LIMITS["template_chars"].value() == 10_000_000
    assert LIMITS["template_range"].value() == 100_000


def test_raising_a_limit_lets_the_template_render(monkeypatch):
    t = Template("{{ ('a' * 15000000) | length }}")
    with pytest.raises(LimitExceeded, match="set ORC_TEMPLATE_MAX_CHARS to raise it"):
        t.render({})
    monkeypatch.setenv("ORC_TEMPLATE_MAX_CHARS", "20000000")
    assert t.render({}) == 15_000_000
    monkeypatch.setenv("ORC_TEMPLATE_MAX_RANGE", "200000")
    assert Template("{{ range(150000) | list | length }}").render({}) == 150_000


def test_wordwrap_and_urlize_of_long_texts_give_what_jinja_gives():
    """They run a line at a time on long texts (so the render clock can stop them): same result."""
    import jinja2
    texts = {"{{ x | wordwrap(7) }}": "alpha beta gamma\r\n\nepsilon-zeta " * 2000,
             "{{ x | wordwrap(5, true, '|') }}": "aa bbbbbbbbbbbb cc\n" * 3000,
             "{{ x | urlize }}": "go to www.example.com now\n\n(http://x.org/a?b=1).\r\n" * 1000}
    for src, x in texts.items():
        assert len(x) > 10_000
        assert Template(src).render({"x": x}) == jinja2.Environment().from_string(src).render(x=x), src


def test_ordinary_templates_still_render():
    scope = {"steps": {"x": {"output": ["a", "b"]}}, "inputs": {"n": 3}, "item": "k-v"}
    cases = {
        "{{ steps.x.output }}": ["a", "b"],
        "{{ steps.x.output | join(', ') }}": "a, b",
        "{{ item | regex_replace('-(.)', '=\\\\1!') }}": "k=v!",
        "{{ '{:>5}|{:.2f}'.format('ab', 3.14159) }}": "   ab|3.14",
        "{{ '%05d %s' % (42, 'x') }}": "00042 x",
        "{{ 'ab' * inputs.n }}": "ababab",
        "{{ 2 ** 10 + inputs.n * 2 }}": 1030,
        "{% for i in range(inputs.n) %}{{ i }}{% endfor %}": "012",
        "{{ 'a' ~ item ~ 1 }}": "ak-v1",
        "{{ [1, 2] + [3] }}": [1, 2, 3],
        "{{ 'x' | center(5) }}": "  x  ",
        "{{ steps.x.output | batch(1) | list }}": [["a"], ["b"]],
        "{{ round(2.567, 1) }}": 2.6,
        "{{ lipsum(1, html=False, min=3, max=4).split() | length }}": 3,
    }
    for src, want in cases.items():
        assert Template(src).render(scope) == want, src


def test_strict_names_and_private_attributes_are_kept():
    from jinja2.exceptions import SecurityError, UndefinedError
    with pytest.raises(UndefinedError):
        Template("{{ nothere }}").render({})
    with pytest.raises(SpecError, match="private attribute '__class__'"):
        Template("{{ ''.__class__ }}")
    with pytest.raises(SecurityError):
        Template("{{ item | attr(name) }}").render({"item": 1, "name": "__class__"})


def test_deeply_nested_templates_are_one_line_at_load():
    deep = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    with pytest.raises(SpecError) as e:
        load("name: deep\nsteps:\n  - id: a\n    prompt: x\n    model: scripted:x\n"
             f"    system: \"{deep}\"\n")
    assert str(e.value) == ("<string>:6: steps[0].system: template nests too deeply "
                            "(fewer nested parentheses, brackets or blocks)")
    with pytest.raises(SpecError, match="template nests too deeply"):
        Template("{% for i in [1] %}" * 30 + "x" + "{% endfor %}" * 30)   # Python allows 20 nested loops
    with pytest.raises(SpecError, match="template nests too deeply"):
        Template("{{ " + "x|" * 2000 + "e }}")
