"""The workloads with values flowing between steps, each written for each framework as its users write it.

    python bench/peers.py W1 orc-on        # one cell, in this (fresh) process: one JSON line

Frameworks: ``plain`` (asyncio tasks awaiting each other), ``hamilton`` (apache-hamilton: functions
in a module, the driver; the async driver for W2), ``burr`` (apache-burr: actions over state; a
MapStates fan-out for W2), ``orc-off`` and ``orc-on`` (orchestrator-nb's Python API, ``pipeline.run()``
with ``db=False``, or with the store at its defaults: ``./.orc/orc.duckdb``, ``sync="now"``).

W1  a 1,000-step chain: step i is x + 1 of step i-1's value (orc: ``params: {x: "{{ steps.s<i-1>.output }}"}``)
W2  200 steps that each sleep 50 ms and return a number, then a join that reads all 200 values
W3  a 10-step chain like W1, built once, run 100 times

What the timer covers. Before it: the user's import lines (``import orchestrator_nb as orc``,
``from hamilton import driver``, ``from burr.core import ApplicationBuilder, ...``) and their
functions (Hamilton's module text is compiled before it too: it is the user's source file).
Inside it: building the pipeline / driver / application, running it, and (store on) the call
returning with its rows queryable. Whatever a package imports lazily while building or running
counts. "cold" is that first build + run in the fresh process; "warm" the median of the next three
in the same process. W3 reports the median of 100 runs of an already built pipeline.
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import types

N1, N2, N3, RUNS3, WARM = 1000, 200, 10, 100, 3
NAP = 0.05


# plain asyncio ---------------------------------------------------------------------------------
def plain(workload: str):
    async def step(prev, fn):
        return fn(await prev) if prev is not None else fn()

    async def chain(n):
        loop = asyncio.get_running_loop()
        prev = None
        for i in range(n):
            prev = loop.create_task(step(prev, (lambda: 0) if i == 0 else (lambda x: x + 1)))
        return await prev

    async def nap(i):
        await asyncio.sleep(NAP)
        return i

    async def fan():
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(nap(i)) for i in range(N2)]

        async def join():
            return sum([await t for t in tasks])
        return await loop.create_task(join())

    if workload == "W1":
        return lambda: _check(asyncio.run(chain(N1)), N1 - 1)
    if workload == "W2":
        return lambda: _check(asyncio.run(fan()), sum(range(N2)))
    return (lambda: None), lambda: _check(asyncio.run(chain(N3)), N3 - 1)


# Hamilton ----------------------------------------------------------------------------------------
def hamilton(workload: str):
    from hamilton import async_driver, driver

    def module(source: str) -> types.ModuleType:
        mod = types.ModuleType(f"hamilton_{workload.lower()}")
        mod.__dict__["asyncio"] = asyncio
        exec(compile(source, f"<{mod.__name__}>", "exec"), mod.__dict__)
        sys.modules[mod.__name__] = mod
        return mod

    def chain_source(n):
        return "def s0() -> int:\n    return 0\n" + "".join(
            f"def s{i}(s{i - 1}: int) -> int:\n    return s{i - 1} + 1\n" for i in range(1, n))

    if workload == "W1":
        sys.setrecursionlimit(10_000)  # Hamilton walks a 1,000-node chain recursively
        mod = module(chain_source(N1))
        return lambda: _check(driver.Builder().with_modules(mod).build().execute([f"s{N1 - 1}"])[f"s{N1 - 1}"], N1 - 1)
    if workload == "W2":
        mod = module("".join(f"async def p{i}() -> int:\n    await asyncio.sleep({NAP})\n    return {i}\n"
                             for i in range(N2))
                     + f"def join({', '.join(f'p{i}: int' for i in range(N2))}) -> int:\n"
                       f"    return {' + '.join(f'p{i}' for i in range(N2))}\n")

        async def go():
            dr = await async_driver.Builder().with_modules(mod).build()
            return (await dr.execute(["join"]))["join"]
        return lambda: _check(asyncio.run(go()), sum(range(N2)))
    mod = module(chain_source(N3))
    holder = {}

    def build():
        holder["dr"] = driver.Builder().with_modules(mod).build()
    return build, lambda: _check(holder["dr"].execute([f"s{N3 - 1}"])[f"s{N3 - 1}"], N3 - 1)


# Burr ---------------------------------------------------------------------------------------------
def burr(workload: str):
    from burr.core import ApplicationBuilder, GraphBuilder, State, action
    from burr.core.parallelism import MapStates

    @action(reads=[], writes=["x"])
    def start(state: State) -> State:
        return state.update(x=0)

    @action(reads=["x"], writes=["x"])
    def inc(state: State) -> State:
        return state.update(x=state["x"] + 1)

    def chain_graph(n):
        actions = {"s0": start, **{f"s{i}": inc for i in range(1, n)}}
        return GraphBuilder().with_actions(**actions).with_transitions(
            *[(f"s{i}", f"s{i + 1}") for i in range(n - 1)]).build()

    def run_chain(graph, n):
        app = ApplicationBuilder().with_graph(graph).with_entrypoint("s0").with_state(x=-1).build()
        _, _, state = app.run(halt_after=[f"s{n - 1}"])
        return state["x"]

    if workload == "W1":
        return lambda: _check(run_chain(chain_graph(N1), N1), N1 - 1)
    if workload == "W2":
        @action(reads=["i"], writes=["v"])
        async def nap(state: State) -> State:
            await asyncio.sleep(NAP)
            return state.update(v=state["i"])

        class Fan(MapStates):
            def action(self, state, inputs):
                return nap

            def states(self, state, context, inputs):
                for i in range(N2):
                    yield state.update(i=i)

            async def reduce(self, state, states):
                return state.update(total=sum([s["v"] async for s in states]))

            @property
            def reads(self):
                return []

            @property
            def writes(self):
                return ["total"]

            def is_async(self):
                return True

        async def go():
            app = ApplicationBuilder().with_actions(fan=Fan()).with_transitions().with_entrypoint("fan") \
                .with_state(total=0).build()
            _, _, state = await app.arun(halt_after=["fan"])
            return state["total"]
        return lambda: _check(asyncio.run(go()), sum(range(N2)))
    holder = {}

    def build():
        holder["graph"] = chain_graph(N3)
    return build, lambda: _check(run_chain(holder["graph"], N3), N3 - 1)


# orchestrator-nb -----------------------------------------------------------------------------------
def start():
    return 0


def inc(x):
    return x + 1


async def nap(i):
    await asyncio.sleep(NAP)
    return i


def join(values):
    return sum(values)


def orchestrator(workload: str, store: bool):
    import orchestrator_nb as orc
    db = {} if store else {"db": False}

    def chain(n):
        return orc.Pipeline(f"chain{n}", [orc.step("s0", python=start)] + [
            orc.step(f"s{i}", python=inc, params={"x": f"{{{{ steps.s{i - 1}.output }}}}"}) for i in range(1, n)])

    def ran(result, step, expected):
        assert result.status == "succeeded", result.error
        runs.append(result.run_id)
        return _check(result[step], expected)

    runs: list[str] = []
    if workload == "W1":
        return (lambda: ran(chain(N1).run(**db), f"s{N1 - 1}", N1 - 1)), runs
    if workload == "W2":
        def fan():
            return orc.Pipeline("fan", [orc.step(f"p{i}", python=nap, params={"i": i}) for i in range(N2)] + [
                orc.step("join", python=join, params={"values": [f"{{{{ steps.p{i}.output }}}}" for i in range(N2)]})])
        return (lambda: ran(fan().run(**db), "join", sum(range(N2)))), runs
    holder = {}

    def build():
        holder["p"] = chain(N3)
    return (build, lambda: ran(holder["p"].run(**db), f"s{N3 - 1}", N3 - 1)), runs


def _check(value, expected):
    assert value == expected, (value, expected)
    return value


# one cell ------------------------------------------------------------------------------------------
def cell(workload: str, framework: str) -> dict:
    runs = None
    if framework.startswith("orc"):
        work, runs = orchestrator(workload, framework == "orc-on")
    else:
        work = {"plain": plain, "hamilton": hamilton, "burr": burr}[framework](workload)
    out: dict = {"workload": workload, "framework": framework}
    if workload in ("W1", "W2"):
        times, cpu = [], []
        for _ in range(1 + WARM):
            t, c = time.perf_counter(), time.process_time()
            work()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        if workload == "W1":
            out["cold"], out["warm"] = times[0] / N1 * 1e6, statistics.median(times[1:]) / N1 * 1e6  # µs/step
            out["cold_cpu"] = cpu[0] / N1 * 1e6
        else:
            out["cold"], out["warm"] = NAP / times[0], NAP / statistics.median(times[1:])  # efficiency
            out["cold_cpu"] = cpu[0] * 1e3  # ms of CPU for build + run (the sleeps take none)
    else:
        build, run = work
        t = time.perf_counter()
        build()
        out["build_ms"] = (time.perf_counter() - t) * 1e3
        times, cpu = [], []
        for _ in range(RUNS3):
            t, c = time.perf_counter(), time.process_time()
            run()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["first_ms"], out["ms"] = times[0] * 1e3, statistics.median(times) * 1e3
        out["cpu_ms"] = statistics.median(cpu) * 1e3
    if framework == "orc-on":  # the rows are there for the next reader (who merges what is pending)
        import orchestrator_nb as orc
        t = time.perf_counter()
        (count,), = orc.sql(f"SELECT count(*) FROM steps WHERE run_id IN ({', '.join(repr(r) for r in runs)}) "
                            "AND status = 'succeeded'")[1]
        out["read_ms"] = (time.perf_counter() - t) * 1e3
        per_run = {"W1": N1, "W2": N2 + 1, "W3": N3}[workload]
        out["rows_ok"] = count == per_run * len(runs)
        assert out["rows_ok"], (count, per_run, len(runs))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    print(json.dumps(cell(sys.argv[1], sys.argv[2])))
