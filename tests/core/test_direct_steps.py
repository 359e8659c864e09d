"""Plain async python steps on the executor's direct path (core.executor ``_run_direct``): a step
that succeeds tells the scheduler itself (no done-callback, no turn of the scheduler's task), one
that fails or is cancelled goes through the general path; constant params are passed as given;
tasks are made by the loop's own task factory when one is set."""
import asyncio
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.executor import BURST


async def quick(i):  # ends in its task's first step, without waiting
    return i


async def nap(i, delay=0.01):
    await asyncio.sleep(delay)
    return i


def total(values):
    return sum(values)


def bounded(pipeline, seconds: float = 10, **options):
    """``pipeline.run(**options)``, failing (not hanging) if the run does not end in time."""
    return asyncio.run(asyncio.wait_for(pipeline.arun(**options), seconds))


def fan(n, fn, **more):
    return orc.Pipeline("fan", [orc.step(f"p{i}", python=fn, params={"i": i}) for i in range(n)] + [
        orc.step("join", python=total, params={"values": [f"{{{{ steps.p{i}.output }}}}" for i in range(n)]}),
        *more.get("after", [])])


@pytest.mark.parametrize("n", [1, BURST, BURST + 1, 3 * BURST + 5])
def test_steps_that_end_without_waiting_end_the_run(n):
    # the first bursts end while the scheduler is still starting the rest (it yields between bursts)
    r = bounded(fan(n, quick), db=False)
    assert r.status == "succeeded" and r["join"] == sum(range(n))


def test_a_chain_of_direct_steps_runs_in_order_with_its_values():
    async def add(x):
        await asyncio.sleep(0)
        return x + 1

    steps = [orc.step("s0", python=quick, params={"i": 0})] + [
        orc.step(f"s{i}", python=add, params={"x": f"{{{{ steps.s{i - 1}.output }}}}"}) for i in range(1, 30)]
    r = bounded(orc.Pipeline("chain", steps), db=False)
    assert r.status == "succeeded" and r["s29"] == 29


def test_the_last_direct_step_ending_ends_the_run_at_once():
    async def slow(i):
        await asyncio.sleep(0.2)
        return i

    p = orc.Pipeline("tail", [orc.step("a", python=quick, params={"i": 1}), orc.step("b", python=slow, params={"i": 2})])
    t = time.monotonic()
    r = bounded(p, 5, db=False)
    assert r.status == "succeeded" and r["b"] == 2
    assert time.monotonic() - t < 1.0  # not left waiting for an end nobody announces


def test_failures_and_successes_mixed_in_a_fan_out(tmp_path):
    async def flaky(i):
        await asyncio.sleep(0.001 * (i % 5))
        if i % 7 == 3:
            raise ValueError(f"bad {i}")
        return i

    steps = [orc.step(f"p{i}", python=flaky, params={"i": i}, on_error="continue") for i in range(40)]
    r = bounded(orc.Pipeline("mixed", steps), db=str(tmp_path / "s.duckdb"))
    assert r.status == "succeeded"
    failed = sorted(s["id"] for s in r.steps if s["status"] == "failed")
    assert failed == sorted(f"p{i}" for i in range(40) if i % 7 == 3)
    rows = orc.sql(f"SELECT step_id, status FROM steps WHERE run_id = '{r.run_id}'", db=str(tmp_path / "s.duckdb"))[1]
    assert len(rows) == 40 and sum(1 for _, s in rows if s == "failed") == len(failed)


def test_a_failing_direct_step_stops_the_run_and_its_dependents_do_not_run():
    ran = []

    async def boom():
        await asyncio.sleep(0.001)
        raise RuntimeError("no")

    async def after(x):
        ran.append(x)
        return x

    p = orc.Pipeline("stop", [orc.step("a", python=boom),
                              orc.step("b", python=after, params={"x": "{{ steps.a.output }}"})])
    r = bounded(p, db=False)
    assert r.status == "failed" and "no" in r.error and ran == []


def cancelled_run(steps, db):
    """Run ``steps`` and cancel the run once they all wait; (the error raised, seconds taken)."""
    async def go():
        task = asyncio.ensure_future(orc.Pipeline("cancel", steps).arun(db=db))
        await asyncio.sleep(0.1)
        task.cancel()
        await task

    t = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(go())
    return time.monotonic() - t


def test_a_run_cancelled_while_direct_steps_wait_is_recorded_cancelled(tmp_path):
    async def long(i):
        await asyncio.sleep(5)
        return i

    db = str(tmp_path / "s.duckdb")
    steps = [orc.step(f"p{i}", python=long, params={"i": i}) for i in range(2 * BURST)] + [
        orc.step("q", python=quick, params={"i": 1})]
    assert cancelled_run(steps, db) < 3
    (status,), = orc.sql("SELECT status FROM runs", db=db)[1]
    rows = dict(orc.sql("SELECT step_id, status FROM steps", db=db)[1])
    assert status == "cancelled" and rows.pop("q") == "succeeded"
    assert set(rows.values()) == {"cancelled"} and len(rows) == 2 * BURST


def test_a_direct_step_that_swallows_its_cancellation_does_not_hang_the_run(tmp_path):
    async def stubborn(i):
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return -1  # (bad manners: it ends as if it succeeded, while the run is being cancelled)
        return i

    db = str(tmp_path / "s.duckdb")
    assert cancelled_run([orc.step(f"p{i}", python=stubborn, params={"i": i}) for i in range(5)], db) < 3
    (status,), = orc.sql("SELECT status FROM runs", db=db)[1]
    assert status == "cancelled"


def test_constant_params_reach_the_function_as_given():
    seen = {}
    shared = {"k": [1, 2]}

    async def look(items, opts, n):
        seen.update(items=items, opts=opts, n=n)
        return n

    def touch(items):
        items.append("x")  # a step may change what it was given; the step's own params do not change
        return len(items)

    p = orc.Pipeline("consts", [orc.step("a", python=look, params={"items": [1, 2, 3], "opts": shared, "n": 7}),
                                orc.step("b", python=touch, params={"items": [1]})])
    assert bounded(p, db=False).status == "succeeded"
    assert seen == {"items": [1, 2, 3], "opts": {"k": [1, 2]}, "n": 7}
    assert seen["opts"] == shared and seen["opts"] is not shared  # containers: a copy, as rendering makes
    assert bounded(p, db=False)["b"] == 2  # each run gets a list of its own, as rendering gives (not the one changed)
    assert p.steps["b"].params == {"items": [1]}

def test_steps_are_made_by_the_loops_task_factory_when_one_is_set():
    made = []

    def factory(loop, coro, **kw):
        made.append(getattr(coro, "__qualname__", "?"))
        return asyncio.Task(coro, loop=loop, **kw)

    async def main():
        asyncio.get_running_loop().set_task_factory(factory)
        return await asyncio.wait_for(fan(BURST + 3, nap).arun(db=False), 10)

    r = asyncio.run(main())
    assert r.status == "succeeded" and r["join"] == sum(range(BURST + 3))
    assert sum(1 for q in made if q.endswith("_run_direct")) == BURST + 3


class Views:
    """A subscriber with ``handle`` only, and one that also takes successes field by field."""

    def __init__(self):
        self.events = []

    def handle(self, ev):
        self.events.append((ev.kind, ev.step_id, ev.data.get("status"), ev.data.get("output")))


class Direct(Views):
    def __init__(self):
        super().__init__()
        self.successes = []

    def step_succeeded(self, run_id, step_id, attempt, output, started, ended, cached, model):
        assert started <= ended and attempt == 1 and cached is False and model is None
        self.successes.append((step_id, output))


def test_a_success_reaches_every_subscriber_as_it_takes_it(tmp_path):
    plain, direct = Views(), Direct()
    r = bounded(fan(5, nap), db=str(tmp_path / "s.duckdb"), subscribers=[plain, direct])
    assert r.status == "succeeded"
    ends = [(sid, out) for kind, sid, status, out in plain.events if kind == "step_finished" and status == "succeeded"]
    assert sorted(ends) == sorted([(f"p{i}", i) for i in range(5)] + [("join", 10)])
    assert sorted(direct.successes) == sorted(ends)
    assert not [e for e in direct.events if e[0] == "step_finished"]  # (not twice)
    rows = orc.sql("SELECT step_id, output FROM steps ORDER BY step_id", db=str(tmp_path / "s.duckdb"))[1]
    assert [(sid, int(out)) for sid, out in rows] == sorted(ends)


def test_a_view_that_fails_on_a_success_is_detached_and_the_run_goes_on(capsys):
    class Broken(Direct):
        def step_succeeded(self, *args):
            raise RuntimeError("view broke")

    broken, plain = Broken(), Views()
    r = bounded(fan(3, nap), db=False, subscribers=[broken, plain])
    assert r.status == "succeeded" and r["join"] == 3
    assert "Broken failed and was detached" in capsys.readouterr().err
    assert sum(1 for e in plain.events if e[0] == "step_finished") == 4


def test_a_result_pickles_and_copies_with_its_steps_states():
    import copy
    import pickle

    r = bounded(fan(3, nap), db=False)
    for again in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r)):
        assert again.status == "succeeded" and again["join"] == 3 and again.outputs == r.outputs
        assert [s["status"] for s in again.steps] == [s["status"] for s in r.steps]
        st = again._states["p1"]
        assert st.usage == (0, 0, 0.0) and not st.base_attempt and st.take_saved(-1) is None
        st.set_base_attempt(-1, 2)  # the copy's own, not the shared default
        assert st.base_attempt == {-1: 2} and not r._states["p1"].base_attempt and not again._states["p2"].base_attempt
