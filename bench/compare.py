"""orchestrator-nb side by side with plain asyncio, Hamilton and Burr, on workloads that pass values.

    pip install -e ".[bench]"          # apache-hamilton and apache-burr[tracking]
    python bench/compare.py            # the table (a few minutes on 2 cores)
    python bench/compare.py --procs 5 --json results.json

Every figure is a median over fresh processes (``--procs`` per cell, default 3), one process per
(workload, framework) cell, the frameworks interleaved round by round so they share the machine's
ups and downs. What each cell does and what its timer covers: ``bench/peers.py``. A framework that
is not installed is left out. Before measuring, every cell runs once untimed with bytecode writing
on, so imports read ``.pyc`` files as they do after ``pip install``.

Also measured here, with orchestrator-nb alone:
- ``orc run`` of a 1,000-step chain of code steps vs a 10-step one (whole CLI processes, store on):
  µs per extra step, 5 tries, each try one pair of processes;
- a cached re-run of a 100-step chain of scripted prompt steps: ms for the second run (pipeline
  loaded), ms for a fresh process's load + run (all answers cached), and provider calls (0).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FRAMEWORKS = ["plain", "hamilton", "burr", "orc-off", "orc-on"]
NEEDS = {"hamilton": "hamilton", "burr": "burr"}
WORKLOADS = ["W1", "W2", "W3"]
ORC = [sys.executable, "-m", "orchestrator_nb.cli.main"]


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ORC_") and k != "PYTHONDONTWRITEBYTECODE"}
    e["PYTHONPATH"] = str(ROOT)
    return e


def cell(workload: str, framework: str) -> dict:
    with tempfile.TemporaryDirectory() as d:  # a fresh working directory: a fresh default store
        done = subprocess.run([sys.executable, str(HERE / "peers.py"), workload, framework], cwd=d, env=env(),
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{workload} {framework} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peers(procs: int, frameworks: list[str]) -> dict:
    for w in WORKLOADS:  # warm-up: writes .pyc files, fills the OS file cache
        for f in frameworks:
            cell(w, f)
    results: dict = {(w, f): [] for w in WORKLOADS for f in frameworks}
    for round_ in range(procs):
        order = frameworks[round_ % len(frameworks):] + frameworks[:round_ % len(frameworks)]
        for w in WORKLOADS:
            for f in order:
                results[(w, f)].append(cell(w, f))
    return results


def _chain_yaml(n: int) -> str:
    lines = ["name: chain", "steps:", "  - id: s0", "    code: output = 0"]
    for i in range(1, n):
        lines += [f"  - id: s{i}", f"    code: output = steps['s{i - 1}'] + 1"]
    return "\n".join(lines) + "\n"


def orc_run_per_step(tries: int = 5) -> tuple[list[float], list[float]]:
    """µs per extra step between `orc run` of a 1,000-step and a 10-step chain, per try: wall
    time, and CPU time (user + system of the process, which a busy machine inflates less)."""
    out, cpu_out = [], []
    with tempfile.TemporaryDirectory() as d:
        for n in (10, 1000):
            Path(d, f"chain{n}.yaml").write_text(_chain_yaml(n))
        subprocess.run(ORC + ["run", "chain10.yaml"], cwd=d, env=env(), capture_output=True, check=True)  # warm-up
        for _ in range(tries):
            took, cpu = {}, {}
            for n in (10, 1000):
                t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(ORC + ["run", f"chain{n}.yaml"], cwd=d, env=env(), capture_output=True, check=True)
                took[n] = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[n] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            out.append((took[1000] - took[10]) / 990 * 1e6)
            cpu_out.append((cpu[1000] - cpu[10]) / 990 * 1e6)
    return out, cpu_out


CACHED = r'''
import json, os, sys, time
import orchestrator_nb as orc
from orchestrator_nb.providers.scripted import ScriptedProvider
steps = [orc.step("s0", prompt="Start a story about tides.", model="scripted:echo")] + [
    orc.step(f"s{i}", prompt=f"Part {i}, going on from: {{{{ steps.s{i - 1}.output }}}}", model="scripted:echo")
    for i in range(1, 100)]
t = time.perf_counter()
p = orc.Pipeline("cached", steps)
first = p.run()
ms_first = (time.perf_counter() - t) * 1e3
if sys.argv[1] == "fresh":   # the cache was filled by an earlier process: this whole run is the re-run
    print(json.dumps({"fresh_ms": ms_first, "calls": len(ScriptedProvider.calls), "status": first.status}))
    sys.exit()
calls = len(ScriptedProvider.calls)
t = time.perf_counter()
again = p.run()
ms = (time.perf_counter() - t) * 1e3
cached = sum(1 for s in again.steps if s.get("cached"))
print(json.dumps({"first_ms": ms_first, "first_calls": calls, "rerun_ms": ms,
                  "calls": len(ScriptedProvider.calls) - calls, "cached_steps": cached, "status": again.status}))
'''


def cached_rerun(procs: int) -> list[dict]:
    out = []
    for _ in range(procs):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "cached.py").write_text(CACHED)
            one = subprocess.run([sys.executable, "cached.py", "same"], cwd=d, env=env(), capture_output=True,
                                 text=True, check=True)
            two = subprocess.run([sys.executable, "cached.py", "fresh"], cwd=d, env=env(), capture_output=True,
                                 text=True, check=True)
            out.append({**json.loads(one.stdout.strip().splitlines()[-1]),
                        **json.loads(two.stdout.strip().splitlines()[-1])})
    return out


def med(rows, key):
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def fmt(v, digits):
    if v is None:
        return ""
    return f"{v:,.{digits}f}"


def table(results: dict, frameworks: list[str], cli: tuple[list[float], list[float]], cached: list[dict]) -> str:
    names = {"plain": "plain asyncio", "hamilton": "Hamilton", "burr": "Burr", "orc-off": "orc store off",
             "orc-on": "orc store on"}
    head = "| workload | " + " | ".join(names[f] for f in frameworks) + " |"
    rows = [head, "|---|" + "---|" * len(frameworks)]

    def row(label, w, key, digits):
        rows.append(f"| {label} | " + " | ".join(fmt(med(results[(w, f)], key), digits) for f in frameworks) + " |")
    row("W1: 1,000-step chain, x+1, µs/step cold (build + run)", "W1", "cold", 1)
    row("W1 cold, CPU µs/step", "W1", "cold_cpu", 1)
    row("W1 warm (same process, again), µs/step", "W1", "warm", 1)
    row("W2: 200 × sleep 50 ms + a join reading all 200, efficiency cold", "W2", "cold", 3)
    row("W2 cold, CPU ms (build + run)", "W2", "cold_cpu", 1)
    row("W2 warm, efficiency", "W2", "warm", 3)
    row("W3: 10-step chain, median ms per run (100 runs)", "W3", "ms", 3)
    row("W3 CPU, median ms per run", "W3", "cpu_ms", 3)
    row("W3 first run after the build, ms", "W3", "first_ms", 2)
    last = [""] * (len(frameworks) - 1)
    rows.append("| `orc run` 1,000-step vs 10-step chain of code steps, µs per extra step (5 tries) | "
                + " | ".join(last) + " | " + ", ".join(f"{v:.0f}" for v in cli[0]) + " |")
    rows.append("| the same, CPU µs per extra step | " + " | ".join(last) + " | "
                + ", ".join(f"{v:.0f}" for v in cli[1]) + " |")
    rows.append("| cached re-run of 100 scripted prompt steps, ms (provider calls) | " + " | ".join(last)
                + f" | {med(cached, 'rerun_ms'):.1f} ({max(c['calls'] for c in cached)}) |")
    rows.append("| the same in a fresh process (load + run, all cached), ms (provider calls) | " + " | ".join(last)
                + f" | {med(cached, 'fresh_ms'):.1f} ({max(c['calls'] for c in cached)}) |")
    reads = ", ".join(f"{w} {fmt(med(results[(w, 'orc-on')], 'read_ms'), 0)}" for w in WORKLOADS
                      if (w, "orc-on") in results)
    notes = [f"first query after the runs (merges their journals), ms: {reads}"] if reads else []
    return "\n".join(rows + [""] + notes)


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, Python {sys.version.split()[0]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", type=int, default=3, help="fresh processes per cell (medians)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--only", nargs="*", choices=FRAMEWORKS, help="these frameworks only")
    args = ap.parse_args(argv)
    frameworks = [f for f in (args.only or FRAMEWORKS) if NEEDS.get(f) is None or find_spec(NEEDS[f])]
    missing = sorted(set(args.only or FRAMEWORKS) - set(frameworks))
    before = machine()
    results = peers(args.procs, frameworks)
    cli = orc_run_per_step()
    cached = cached_rerun(args.procs)
    print(f"machine: {before} at the start; {machine()} at the end")
    if missing:
        print(f"not installed (pip install -e '.[bench]'): {', '.join(missing)}")
    print(table(results, frameworks, cli, cached))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": before, "cells": {f"{w} {f}": v for (w, f), v in results.items()},
                                               "orc_run_us_per_step": cli[0], "orc_run_cpu_us_per_step": cli[1],
                                               "cached_rerun": cached}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
