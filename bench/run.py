"""Orchestration overhead, measured side by side with a plain-asyncio baseline written the same way.

    python bench/run.py            # all workloads, a table on stdout
    python bench/run.py --json     # the same figures as JSON

W1  a 1,000-step chain of no-op python steps: µs per step for build+run, store off and on
W2  200 parallel steps each sleeping 50 ms, then a join: efficiency = 0.05 s / wall, store off and on
W3  a 10-step chain run 100 times: median ms per run (pipeline already loaded; and incl. YAML load)
plus `import orchestrator_nb` wall time and peak RSS of W1 (store off), each in a fresh process.

"Store on" means every record is journaled durably (the run's own cost); merging the journal into
DuckDB happens after the run (by the run's end, a background thread or the next reader) and is
reported on its own line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def noop():
    return None


async def nap():
    await asyncio.sleep(0.05)


# plain asyncio: a DAG of tasks, each awaiting its dependencies then calling the function ---------
async def _plain_step(fn, deps):
    for d in deps:
        await d
    result = fn()
    if asyncio.iscoroutine(result):
        result = await result
    return result


async def plain_dag(spec):
    """spec: list of (name, fn, [dep names]) -> {name: result}."""
    tasks = {}
    for name, fn, deps in spec:
        tasks[name] = asyncio.ensure_future(_plain_step(fn, [tasks[d] for d in deps]))
    return {k: await t for k, t in tasks.items()}


def chain_spec(n):
    return [(f"s{i}", noop, [f"s{i - 1}"] if i else []) for i in range(n)]


def fan_spec(n):
    return [(f"p{i}", nap, []) for i in range(n)] + [("join", noop, [f"p{i}" for i in range(n)])]


# orchestrator-nb --------------------------------------------------------------------------------
def build(spec, name):
    import orchestrator_nb as orc
    return orc.Pipeline(name, [orc.step(s, python=fn, needs=deps) for s, fn, deps in spec])


async def orc_run(pipeline, db):
    from orchestrator_nb.api.runner import run_pipeline
    result = await run_pipeline(pipeline, db=db, sync="none")
    assert result.status == "succeeded", result.error
    return result


def best_of(fn, repeat):
    return min(fn() for _ in range(repeat))


def w1(db_dir):
    n = 1000
    out = {}

    def plain():
        t = time.perf_counter()
        asyncio.run(plain_dag(chain_spec(n)))
        return (time.perf_counter() - t) / n * 1e6

    def ours(db):
        def once():
            t = time.perf_counter()
            p = build(chain_spec(n), "w1")
            asyncio.run(orc_run(p, db))
            return (time.perf_counter() - t) / n * 1e6
        return once

    out["plain_us_per_step"] = best_of(plain, 5)
    out["off_us_per_step"] = best_of(ours(False), 5)
    db = os.path.join(db_dir, "w1.duckdb")
    out["on_us_per_step"] = best_of(ours(db), 5)
    from orchestrator_nb.store import Store
    t = time.perf_counter()
    Store(db).sync()
    out["merge_ms_per_1000_steps"] = (time.perf_counter() - t) * 1e3 / 5  # 5 runs were merged
    return out


def w2(db_dir):
    n = 200

    def plain():
        t = time.perf_counter()
        asyncio.run(plain_dag(fan_spec(n)))
        return 0.05 / (time.perf_counter() - t)

    def ours(db):
        p = build(fan_spec(n), "w2")

        def once():
            t = time.perf_counter()
            asyncio.run(orc_run(p, db))
            return 0.05 / (time.perf_counter() - t)
        return once

    db = os.path.join(db_dir, "w2.duckdb")
    return {"plain_efficiency": max(plain() for _ in range(5)),
            "off_efficiency": max(ours(False)() for _ in range(5)),
            "on_efficiency": max(ours(db)() for _ in range(5))}


W3_YAML = "name: w3\nsteps:\n" + "".join(
    f"  - id: s{i}\n    python: bench.run:noop\n" + (f"    needs: [s{i - 1}]\n" if i else "") for i in range(10))


def w3():
    import orchestrator_nb as orc
    from orchestrator_nb.api.runner import run_pipeline

    async def plain():
        times = []
        for _ in range(100):
            t = time.perf_counter()
            await plain_dag(chain_spec(10))
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    async def loaded():
        p = orc.load(W3_YAML)
        times = []
        for _ in range(100):
            t = time.perf_counter()
            await run_pipeline(p, db=False)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    async def with_yaml():
        times = []
        for _ in range(100):
            t = time.perf_counter()
            await run_pipeline(orc.load(W3_YAML), db=False)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    return {"plain_ms": min(asyncio.run(plain()) for _ in range(3)),
            "loaded_ms": min(asyncio.run(loaded()) for _ in range(3)),
            "with_yaml_ms": min(asyncio.run(with_yaml()) for _ in range(3))}


def _fresh(code: str, runs: int = 7) -> list[str]:
    outs = []
    for _ in range(runs):
        outs.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                   check=True).stdout.strip())
    return outs


def import_time():
    code = ("import time, subprocess, sys\n"
            "t = time.perf_counter(); subprocess.run([sys.executable, '-c', 'import orchestrator_nb'], check=True)\n"
            "a = time.perf_counter() - t\n"
            "t = time.perf_counter(); subprocess.run([sys.executable, '-c', 'pass'], check=True)\n"
            "print(a, time.perf_counter() - t)")
    pairs = [tuple(map(float, o.split())) for o in _fresh(code)]
    return {"import_s": statistics.median(p[0] for p in pairs), "bare_python_s": statistics.median(p[1] for p in pairs)}


# peak RSS: VmHWM of the process itself (ru_maxrss can carry the parent's size across exec)
_PEAK = ("print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)")


def rss():
    code = ("import asyncio, sys; sys.path.insert(0, 'bench'); import run as b\n"
            "asyncio.run(b.orc_run(b.build(b.chain_spec(1000), 'w1'), False))\n" + _PEAK)
    plain = ("import asyncio, sys; sys.path.insert(0, 'bench'); import run as b\n"
             "asyncio.run(b.plain_dag(b.chain_spec(1000)))\n" + _PEAK)
    return {"w1_rss_mib": statistics.median(float(x) for x in _fresh(code, 3)),
            "plain_rss_mib": statistics.median(float(x) for x in _fresh(plain, 3))}


TARGETS = [("W1 store off, µs/step", "w1", "off_us_per_step", "<=", 30),
           ("W1 store on, µs/step", "w1", "on_us_per_step", "<=", 100),
           ("W2 efficiency, store on", "w2", "on_efficiency", ">=", 0.92),
           ("W3 ms/run, loaded, store off", "w3", "loaded_ms", "<=", 0.10),
           ("import orchestrator_nb, s", "import", "import_s", "<=", 0.15),
           ("W1 peak RSS, MiB", "rss", "w1_rss_mib", "<=", 34)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        res = {"w1": w1(d), "w2": w2(d), "w3": w3(), "import": import_time(), "rss": rss()}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{'workload':<34}{'orchestrator-nb':>16}{'plain asyncio':>16}{'target':>10}  ok")
    plain = {"w1": "plain_us_per_step", "w2": "plain_efficiency", "w3": "plain_ms", "import": "bare_python_s",
             "rss": "plain_rss_mib"}
    failed = 0
    for label, group, key, op, target in TARGETS:
        v = res[group][key]
        ok = v <= target if op == "<=" else v >= target
        failed += not ok
        print(f"{label:<34}{v:>16.3f}{res[group][plain[group]]:>16.3f}{op + str(target):>10}  {'yes' if ok else 'NO'}")
    print(f"{'W2 efficiency, store off':<34}{res['w2']['off_efficiency']:>16.3f}")
    print(f"{'W3 ms/run incl. YAML load':<34}{res['w3']['with_yaml_ms']:>16.3f}")
    print(f"{'store merge into DuckDB, ms/1000 steps':<34}{res['w1']['merge_ms_per_1000_steps']:>12.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
