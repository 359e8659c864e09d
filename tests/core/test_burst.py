"""A burst of parallel steps (core.executor): started a few at a time, their starts announced once
all of them wait, garbage collection paused only while they start."""
import asyncio
import gc
import json
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.executor import BURST
from orchestrator_nb.store import Store

N = 3 * BURST + 5  # several bursts, and a part of one


class Seen:
    """A progress subscriber: (kind, step, time, whether gc was on) of every event."""

    def __init__(self):
        self.events = []

    def handle(self, ev):
        self.events.append((ev.kind, ev.step_id, time.monotonic(), gc.isenabled()))


def test_the_first_steps_of_a_fan_out_run_before_the_last_ones_are_made():
    tasks_when_started = {}

    async def nap(i):
        tasks_when_started[i] = len(asyncio.all_tasks())
        await asyncio.sleep(0.01)
        return i

    p = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)])
    assert p.run(db=False).status == "succeeded"
    assert tasks_when_started[0] <= BURST + 1  # its own burst (and the run's task), not all N
    assert tasks_when_started[N - 1] >= N  # the last one started with all the others under way


def test_starts_are_announced_once_the_burst_waits_in_order_and_before_any_end(tmp_path):
    seen = Seen()
    woke = []

    async def nap(i):
        await asyncio.sleep(0.05)
        woke.append(time.monotonic())
        return i

    async def quick(i):  # ends without ever waiting: its end follows its start all the same
        return i

    steps = [orc.step(f"p{i}", python=nap if i % 2 else quick, params={"i": i}) for i in range(N)]
    r = orc.Pipeline("fan", steps).run(db=str(tmp_path / "s.duckdb"), subscribers=[seen])
    assert r.status == "succeeded"
    started = {sid: t for kind, sid, t, _ in seen.events if kind == "step_started"}
    assert sorted(started) == sorted(f"p{i}" for i in range(N))
    assert max(started.values()) < min(woke)  # all announced while the steps waited
    order = [(kind, sid) for kind, sid, _, _ in seen.events]
    for i in range(N):
        assert order.index(("step_started", f"p{i}")) < order.index(("step_finished", f"p{i}"))
    # and the store has every step's start time and end
    _, rows = orc.sql(f"SELECT step_id, status, started_at FROM steps WHERE run_id = '{r.run_id}'",
                      db=str(tmp_path / "s.duckdb"))
    assert len(rows) == N and all(status == "succeeded" and started for _, status, started in rows)


def test_the_journal_holds_the_starts_of_a_burst_while_its_steps_wait(tmp_path):
    """A reader looking while the steps wait sees them running (their starts are on disk)."""
    db = str(tmp_path / "s.duckdb")
    lines = {}

    async def nap(i):
        await asyncio.sleep(0.2)
        return i

    def look():  # a sync step, in parallel with the naps' waits: what the journal says by then
        text = "".join(p.read_text() for p in (tmp_path / "s.journal").glob("*.jsonl"))
        lines["running"] = sum(1 for line in text.splitlines()
                               if json.loads(line).get("status") == "running")
        return 0

    async def later():
        await asyncio.sleep(0.1)
        return 0

    steps = [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)]
    steps += [orc.step("wait", python=later), orc.step("look", python=look, needs=["wait"])]
    assert orc.Pipeline("fan", steps).run(db=db).status == "succeeded"
    assert lines["running"] >= N


def test_garbage_collection_resumes_while_the_steps_wait_and_after_the_run():
    on_after_start = []

    async def nap(i):
        await asyncio.sleep(0.02)
        on_after_start.append(gc.isenabled())
        return i

    seen = Seen()
    p = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)])
    assert p.run(db=False, subscribers=[seen]).status == "succeeded"
    assert gc.isenabled()
    assert all(on_after_start) and len(on_after_start) == N
    assert all(on for kind, _, _, on in seen.events if kind == "step_finished")


def test_a_program_that_turned_garbage_collection_off_keeps_it_off():
    async def nap(i):
        await asyncio.sleep(0.01)
        return i

    gc.disable()
    try:
        p = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)])
        assert p.run(db=False).status == "succeeded"
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_run_cancelled_during_a_burst_turns_garbage_collection_back_on(tmp_path):
    run_task = []
    paused = []

    async def nap(i):
        if i == 3:  # the run is stopped while its first burst starts
            paused.append(not gc.isenabled())
            run_task[0].cancel()
        await asyncio.sleep(0.5)
        return i

    async def go():
        run_task.append(asyncio.current_task())
        p = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)])
        return await p.arun(db=str(tmp_path / "s.duckdb"))

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(go())
    finally:
        loop.close()
    assert paused == [True]  # it was paused then
    assert gc.isenabled()
    (status,), = orc.sql("SELECT status FROM runs", db=str(tmp_path / "s.duckdb"))[1]
    assert status == "cancelled"


@pytest.mark.parametrize("fail_at", [0, BURST + 2])
def test_a_step_failing_at_once_in_a_burst_fails_the_run_with_its_error(fail_at):
    async def nap(i):
        if i == fail_at:
            raise ValueError(f"bad {i}")
        await asyncio.sleep(0.01)
        return i

    seen = Seen()
    r = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)]).run(
        db=False, subscribers=[seen])
    assert r.status == "failed" and f"bad {fail_at}" in r.error
    assert gc.isenabled()
    order = [(kind, sid) for kind, sid, _, _ in seen.events]
    assert order.index(("step_started", f"p{fail_at}")) < order.index(("step_finished", f"p{fail_at}"))


def test_a_store_that_cannot_record_a_burst_s_starts_stops_the_run(capfd):
    class Full:
        critical = True  # like the store's journal: losing records must stop the run

        def handle(self, ev):
            if ev.kind == "step_started":
                raise orc.StoreError("cannot write the journal: No space left on device")

    async def nap(i):
        await asyncio.sleep(0.05)
        return i

    r = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)]).run(
        db=False, subscribers=[Full()])
    assert r.status == "failed" and "No space left on device" in r.error
    assert gc.isenabled()
    assert "Exception in callback" not in capfd.readouterr().err


def test_a_step_that_holds_the_loop_after_a_burst_runs_with_garbage_collection_on():
    seen = []

    async def nap(i):
        await asyncio.sleep(0.01)
        return i

    def sync_step():  # ready in the same batch as the burst, after it: runs inline, holding the loop
        seen.append(gc.isenabled())
        return 1

    steps = [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)] + [orc.step("s", python=sync_step)]
    assert orc.Pipeline("fan", steps).run(db=False).status == "succeeded"
    assert seen == [True]


def test_garbage_collection_waits_no_longer_than_a_moment_for_a_slow_burst(monkeypatch):
    """Steps whose code runs a while before their first `await` (here 2 ms each): collection
    resumes once PAUSE_GC has passed, not at the end of the burst."""
    from orchestrator_nb.core import executor
    monkeypatch.setattr(executor, "PAUSE_GC", 0.005)
    seen = []

    async def busy(i):
        seen.append(gc.isenabled())
        end = time.monotonic() + 0.002
        while time.monotonic() < end:
            pass
        await asyncio.sleep(0.01)
        return i

    steps = [orc.step(f"p{i}", python=busy, params={"i": i}) for i in range(N)]
    assert orc.Pipeline("fan", steps).run(db=False).status == "succeeded"
    assert seen[:BURST] == [False] * BURST  # paused for the first chunk of the burst...
    assert seen[BURST:] == [True] * (N - BURST)  # ...then on again (checked between chunks)
    assert gc.isenabled()


def test_the_run_s_own_record_is_written_once_its_first_burst_waits(tmp_path, monkeypatch):
    """The run's record carries the pipeline's text (a millisecond to write for a big pipeline
    built in Python): written while the steps wait, not between their starts (the journal's
    2 ms flush would otherwise land in a burst that takes longer)."""
    started, written_at = [], []
    real = orc.Pipeline.spec_text

    def spec_text(self):
        written_at.append(len(started))
        return real(self)
    monkeypatch.setattr(orc.Pipeline, "spec_text", spec_text)

    async def slow_start(i):
        started.append(i)
        end = time.monotonic() + 0.0001  # 0.1 ms each before its first await: a burst of 5 ms
        while time.monotonic() < end:
            pass
        await asyncio.sleep(0.05)
        return i

    steps = [orc.step(f"p{i}", python=slow_start, params={"i": i}) for i in range(N)]
    r = orc.Pipeline("fan", steps).run(db=str(tmp_path / "s.duckdb"))
    assert r.status == "succeeded"
    assert written_at and set(written_at) == {N}
    (n,), = orc.sql(f"SELECT count(*) FROM runs WHERE run_id = '{r.run_id}' AND spec_yaml IS NOT NULL",
                    db=str(tmp_path / "s.duckdb"))[1]
    assert n == 1


def test_while_a_burst_waits_the_joins_params_are_readied(tmp_path):
    readied = []

    async def nap(i):
        await asyncio.sleep(0.02)
        if i == 0:  # (the first to wake: the join has not started)
            readied.append(p.steps["join"]._params_plan is not None)
        return i

    def total(values):
        return sum(values)

    p = orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N)] + [
        orc.step("join", python=total, params={"values": [f"{{{{ steps.p{i}.output }}}}" for i in range(N)]})])
    r = p.run(db=str(tmp_path / "s.duckdb"))
    assert r.status == "succeeded" and r["join"] == sum(range(N))
    assert readied == [True]
