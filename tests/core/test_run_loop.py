"""The event loop `pipeline.run()` keeps per thread (api.blocking): timers on time, I/O at once."""
import asyncio
import json
import socket
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.api import blocking
from orchestrator_nb.store import Store
from orchestrator_nb.store.merger import has_merger

epoll_only = pytest.mark.skipif(blocking._Epoll is None, reason="epoll is Linux's")


def _sleeps(loop, delays):
    """How long each asyncio.sleep(d) took, run one after another in ``loop``."""
    async def go():
        took = []
        for d in delays:
            t = time.perf_counter()
            await asyncio.sleep(d)
            took.append(time.perf_counter() - t)
        return took
    return loop.run_until_complete(go())


@epoll_only
def test_timers_never_fire_early_and_sub_millisecond_rests_are_waited(monkeypatch):
    import select
    rests = []
    real = select.select

    def spy(r, w, x, timeout):
        rests.append(timeout)
        return real(r, w, x, timeout)
    monkeypatch.setattr(select, "select", spy)
    loop = blocking.new_loop()
    try:
        assert isinstance(loop._selector, blocking._PreciseEpoll)
        delays = [0.0003, 0.0017, 0.0101, 0.0234]
        for d, took in zip(delays, _sleeps(loop, delays)):
            assert took >= d  # asyncio's promise: at least the delay
    finally:
        loop.close()
    assert rests and all(0 < t < 0.001 for t in rests)  # only the part below a millisecond


@epoll_only
def test_io_wakes_the_loop_during_the_sub_millisecond_rest(monkeypatch):
    """The rest of a wait is a select() on epoll's own descriptor: a socket that becomes
    readable meanwhile is served then, not after the timer. (A try the machine holds up for the
    0.7 ms left can come late: served late every time is the failure.)"""
    loop = blocking.new_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        async def go():
            got = loop.create_future()
            loop.add_reader(a.fileno(), lambda: got.done() or got.set_result(a.recv(10)))
            loop.call_later(0.0302, b.send, b"ping")  # then 0.7 ms are left: waited by select()
            timer = asyncio.ensure_future(asyncio.sleep(0.0309))
            data = await asyncio.wait_for(got, 5)
            early = not timer.done()
            await timer
            loop.remove_reader(a.fileno())
            return data, early
        tries = [loop.run_until_complete(go()) for _ in range(5)]
        assert all(data == b"ping" for data, _ in tries)
        assert any(early for _, early in tries), tries
    finally:
        loop.remove_reader(a.fileno())
        a.close()
        b.close()
        loop.close()


@epoll_only
def test_a_descriptor_select_cannot_take_falls_back_to_epoll_rounding(monkeypatch):
    monkeypatch.setattr(blocking, "_FD_SETSIZE", 0)  # as if epoll's descriptor were 1024 or more
    loop = blocking.new_loop()
    try:
        for d, took in zip([0.0004, 0.0061], _sleeps(loop, [0.0004, 0.0061])):
            assert took >= d
    finally:
        loop.close()


def test_another_loop_policy_is_respected():
    class Mine(asyncio.SelectorEventLoop):
        pass

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            return Mine()
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(Policy())
    try:
        loop = blocking.new_loop()
        assert type(loop) is Mine
        loop.close()
    finally:
        asyncio.set_event_loop_policy(old)


async def _nap(i):
    await asyncio.sleep(0.05)
    return i


def test_a_run_starts_the_store_merger_while_its_steps_wait(tmp_path):
    """The merger's thread (a tenth of a millisecond to start) starts while the steps sleep, so
    the call returns without starting it; the rows are there for the next reader either way."""
    db = str(tmp_path / "orc.duckdb")
    seen = []

    async def look():
        await asyncio.sleep(0.03)  # (the merger starts 10 ms into a run)
        seen.append(has_merger(Store(db)))
        return 1
    p = orc.Pipeline("fan", [orc.step(f"p{i}", python=_nap, params={"i": i}) for i in range(3)]
                     + [orc.step("look", python=look)]
                     + [orc.step("join", python=sum_of, params={"values": [f"{{{{ steps.p{i}.output }}}}" for i in range(3)]})])
    r = p.run(db=db)
    assert r.status == "succeeded" and r["join"] == 3
    assert seen == [True]
    (count,), = orc.sql(f"SELECT count(*) FROM steps WHERE run_id = '{r.run_id}'", db=db)[1]
    assert count == 5


def sum_of(values):
    return sum(values)


def test_no_merger_is_started_for_sync_none(tmp_path):
    db = str(tmp_path / "orc.duckdb")
    p = orc.Pipeline("one", [orc.step("a", python=_nap, params={"i": 1})])
    assert p.run(db=db, sync="none").status == "succeeded"
    assert not has_merger(Store(db))
    rows = orc.sql("SELECT status FROM runs", db=db)[1]
    assert rows == [("succeeded",)]


@pytest.mark.parametrize("value", [0, -1, 7, 10 ** 18 - 1, -(10 ** 18) + 1, 10 ** 18, -(10 ** 18), 10 ** 30, True, False])
def test_int_outputs_are_journaled_exactly(value):
    from orchestrator_nb.store.journal import _ended
    line = _ended(("r1", "s", -1, 1, "succeeded", 1.0, 2.0, value))
    out = json.loads(line)["output"]
    assert out == value and type(out) is type(value)


FORKED = r'''
import os, sys, time, asyncio, threading
import orchestrator_nb as orc

async def woken_from_a_thread():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    threading.Timer(0.05, lambda: loop.call_soon_threadsafe(fut.set_result, "woken")).start()
    return await asyncio.wait_for(fut, 5)

def run():
    t = time.monotonic()
    r = orc.Pipeline("f", [orc.step("w", python=woken_from_a_thread)]).run(db=False)
    return r["w"], round(time.monotonic() - t, 2)

print("parent", *run(), flush=True)
pid = os.fork()
if pid == 0:
    print("child", *run(), flush=True)
    sys.exit(0)  # (atexit handlers run: the kept loops are closed)
os.waitpid(pid, 0)
print("parent again", *run(), flush=True)
'''


@epoll_only
def test_a_forked_child_leaves_the_parents_loop_as_it_was(tmp_path):
    """A child forked after a run shares the parent's kept loop's epoll set: closing its copy at
    exit must not unregister the parent's self-pipe (the parent's loop would then not wake for
    another thread's call_soon_threadsafe, nor for Ctrl-C)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FORKED], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [line[:-1] for line in lines] == [["parent", "woken"], ["child", "woken"], ["parent", "again", "woken"]], \
        done.stdout + done.stderr
    assert all(float(line[-1]) < 2 for line in lines), done.stdout  # woken by the thread, not by the 5 s timeout
