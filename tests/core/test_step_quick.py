"""``step("x", python=fn, params={...})`` is built on a quick path (core.stepdef ``_quick``): the
step it gives is the one the general path (the format's check, then ``_build``) gives, and what the
quick path does not take goes to the general path, with its errors."""
import functools

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.stepdef import StepDef
from orchestrator_nb.errors import SpecError
from orchestrator_nb.spec.format import STEP
from orchestrator_nb.spec.templates import Template


def fn(x=None, **kw):
    return x


async def afn(x=None):
    return x


class Callable:
    def __call__(self, x=None):
        return x


def general(id, **fields) -> StepDef:
    return StepDef.checked(STEP.check({"id": id, **fields}, (), python=True))


def same(a: StepDef, b: StepDef) -> None:
    assert list(vars(a)) == list(vars(b))  # the same keys in the same order (one shared layout)
    for key, value in vars(a).items():
        other = vars(b)[key]
        if key == "params":
            assert _plain(value) == _plain(other)
        elif key in ("retry", "check"):
            assert value.to_dict() == other.to_dict()
        else:
            assert value == other, key
    assert a.to_dict() == b.to_dict()
    assert [(f, t.source) for f, t in a.templates()] == [(f, t.source) for f, t in b.templates()]


def _plain(value):
    if isinstance(value, Template):
        return ("T", value.source, value.kind)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


CASES = [
    dict(python=fn),
    dict(python=afn, params={"x": 1}),
    dict(python=fn, params={}),
    dict(python=fn, params={"x": "{{ steps.a.output }}"}),
    dict(python=fn, params={"x": ["{{ steps.a.output }}", "{{ steps.b.output }}", 3]}),
    dict(python=fn, params={"x": {"nested": "{{ inputs.topic }}", "n": [1, {"m": "{{ steps.a.output.k }}"}]}}),
    dict(python=fn, params={"x": "plain text", "y": None, "z": (1, 2), "w": 1.5, "b": True}),
    dict(python=Callable(), params={"x": "{{ steps.a.output | upper }} and {{ inputs.y }}"}),
    dict(python=functools.partial(fn, x=1)),
    dict(python=len, params={"x": "text"}),
    dict(python=fn, params=None),
]


@pytest.mark.parametrize("fields", CASES, ids=range(len(CASES)))
def test_the_quick_path_builds_what_the_general_path_builds(fields):
    quick = orc.step("s_1", **fields)
    assert quick.kind == "python"
    same(quick, general("s_1", **fields))


def test_a_quick_steps_params_are_its_own():
    params = {"x": [1, 2], "y": {"k": "v"}}
    s = orc.step("a", python=fn, params=params)
    assert s.params == params and s.params is not params
    params["x"].append(3)  # the caller's dict changed afterwards: not the step (nor with the general path)
    params["y"]["k"] = "w"
    assert s.params == {"x": [1, 2], "y": {"k": "v"}}
    assert general("a", python=fn, params=params).params == params


BAD = [
    (("1a",), dict(python=fn), "invalid step id"),
    (("a b",), dict(python=fn), "invalid step id"),
    ((3,), dict(python=fn), "expected step id"),
    (("a",), dict(python=int), "expected"),           # a class, not a function
    (("a",), dict(python=42), "expected"),
    (("a",), dict(python=fn, params=[1]), "expected a mapping"),
    (("a",), dict(python=fn, params={1: "x"}), "keys must be text"),
    (("a",), dict(python=fn, params={"x": "{{ steps. }}"}), ""),
    (("a",), dict(python=None), "no action"),
]


@pytest.mark.parametrize("args,fields,words", BAD, ids=range(len(BAD)))
def test_what_the_quick_path_does_not_take_gets_the_general_paths_error(args, fields, words):
    with pytest.raises(SpecError) as quick:
        orc.step(*args, **fields)
    with pytest.raises(SpecError) as slow:
        general(*args, **fields)
    assert str(quick.value) == str(slow.value) and words in str(quick.value)


def test_other_keys_and_other_ids_go_the_general_way():
    s = orc.step("a", python=fn, params={"x": 1}, retry=2, needs=["b"])
    same(s, general("a", python=fn, params={"x": 1}, retry=2, needs=["b"]))
    s = orc.step("a", python="os.path:join")  # a reference, imported when the run starts
    same(s, general("a", python="os.path:join"))


def test_quick_steps_run_and_link_like_the_others():
    p = orc.Pipeline("p", [orc.step("a", python=fn, params={"x": 2}),
                           orc.step("b", python=fn, params={"x": "{{ steps.a.output }}"}),
                           orc.step("c", python=fn, params={"x": ["{{ steps.a.output }}", "{{ steps.b.output }}"]})])
    assert p.steps["c"].deps == {"a", "b"}
    r = p.run(db=False)
    assert r["c"] == [2, 2]


def test_loading_a_file_leaves_garbage_collection_as_it_found_it(tmp_path):
    import gc

    good = tmp_path / "p.yaml"
    good.write_text("name: p\nsteps:\n  - id: a\n    code: output = 1\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: p\nsteps:\n  - id: a\n    code: output = 1\n    retry: many\n")
    assert gc.isenabled()
    orc.load(str(good))
    assert gc.isenabled()
    with pytest.raises(SpecError):
        orc.load(str(bad))
    assert gc.isenabled()
    gc.disable()
    try:
        orc.load(str(good))
        assert not gc.isenabled()  # a program that turned it off keeps it off
    finally:
        gc.enable()
