"""Values and exceptions a step's own code makes: storing them never fails the run or loses a
record, and every failure a step raises is that step's failure, in one line."""
from __future__ import annotations

import json
import time

import pytest

import orchestrator_nb as orc


class _Unreadable:
    def __repr__(self):
        raise RuntimeError("repr boom")

    def __iter__(self):
        raise RuntimeError("iter boom")


class _Base(BaseException):
    pass


class _BadStr(Exception):
    def __str__(self):
        raise RuntimeError("str boom")


def _rows(db, run_id):
    return orc.sql(f"SELECT step_id, status, output, error FROM steps WHERE run_id = '{run_id}' AND item_index = -1 "
                   "ORDER BY step_id", db=db)[1]


@pytest.mark.parametrize("value, stored", [
    (10 ** 5000, "<not stored: an integer of about 5,000 digits>"),
    ("x\ud800y", "x?y"),
    (_Unreadable(), "<not stored: this _Unreadable could not be read (RuntimeError: repr boom)>"),
    ({1: "int", "1": "text"}, [[1, "int"], ["1", "text"]]),
    (float("nan"), None),
    ([1.0, float("inf")], [1.0, None]),
], ids=["huge-int", "surrogate", "unreadable", "colliding-keys", "nan", "inf-in-list"])
def test_an_output_json_cannot_hold_is_stored_converted_and_the_run_goes_on(tmp_path, value, stored):
    """A huge int, a lone surrogate or an object whose repr fails raised out of run() (records lost,
    the run left 'running'); colliding keys lost one silently; NaN was stored as NaN."""
    db = str(tmp_path / "orc.duckdb")
    p = orc.Pipeline("p", [orc.step("a", python=lambda: value),
                           orc.step("b", python=lambda x: x is value, params={"x": "{{ steps.a.output }}"})])
    r = p.run(db=db)
    assert (r.status, r["b"]) == ("succeeded", True)  # later steps get the value itself
    rows = _rows(db, r.run_id)
    assert [(s, st) for s, st, _, _ in rows] == [("a", "succeeded"), ("b", "succeeded")]
    assert (json.loads(rows[0][2]) if rows[0][2] is not None else None) == stored


@pytest.mark.parametrize("thread", [False, True])
@pytest.mark.parametrize("exc, error", [
    (_Base("odd"), "_Base: odd"),
    (GeneratorExit(), "GeneratorExit"),
    (_BadStr(), "_BadStr: (its message could not be read)"),
    (ValueError("bad \ud800 text"), "ValueError: bad ? text"),
], ids=["base-exception", "generator-exit", "unreadable-message", "surrogate"])
def test_whatever_a_step_raises_fails_that_step_and_the_others_are_recorded(tmp_path, exc, error, thread):
    """A BaseException subclass, GeneratorExit or an exception whose str() fails escaped run(),
    left the step 'running' and never recorded the step beside it."""
    db = str(tmp_path / "orc.duckdb")

    def bad():
        raise exc

    def beside():
        time.sleep(0.05)
        return 1
    r = orc.Pipeline("q", [orc.step("a", python=bad, thread=thread), orc.step("o", python=beside, thread=True)]).run(db=db)
    assert r.status == "failed"
    (a, o) = _rows(db, r.run_id)
    assert a[1] == "failed" and o[:3] == ("o", "succeeded", "1")
    if thread and isinstance(exc, GeneratorExit):
        error = "RuntimeError: GeneratorExit raised in a thread"
    assert a[3] == error and r.error == f"step 'a': {error}"


def test_a_huge_error_message_is_kept_to_one_bounded_line(tmp_path):
    db = str(tmp_path / "orc.duckdb")

    def loud():
        raise ValueError("y" * 5_000_000 + "\nsecond line")
    r = orc.Pipeline("loud", [orc.step("a", python=loud)]).run(db=db)
    (a,) = _rows(db, r.run_id)
    assert a[3].startswith("ValueError: yyy") and a[3].endswith("...") and len(a[3]) < 2100
    assert len(r.error) < 2100
