"""Measure headless notebook runs: `orc notebook` against plain papermill, and `orc batch` throughput.

    python bench/batch_bench.py overhead   [--runs 7] [--notebook PATH|minimal]
    python bench/batch_bench.py throughput [--items 24] [--workers 1 2 4] [--notebook PATH]

Whole processes are timed from outside (start to exit, start-up included), as a user waits for
them. `overhead` runs the two commands in turn, A B A B ..., on the same notebook with the same
parameters and reports the median of each and the median of the pair-by-pair ratios (pairing
keeps the ratio meaningful when the machine's speed drifts). Both use the offline scripted
model, auto-approval and ORC_HEADLESS=1, so the notebook's own work is identical; each call
gets a fresh store.
`throughput` sweeps ITEMS small notebooks (one parameter varies) on a local Dask cluster of
each worker count and reports items per second. Nothing here needs a network or an API key.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "03-batch-and-papermill.ipynb"
BIN = Path(sys.executable).parent


def _env(db: Path) -> dict:
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("ORC_"):
            del env[k]
    # ORC_HEADLESS=1 for both commands (`orc notebook` sets it anyway): without it, %%orc under plain
    # papermill first looks for a widget frontend for 3 s, which is not what is being compared
    env.update(ORC_DB=str(db), ORC_APPROVAL="auto", ORC_MODEL="scripted:echo", ORC_HEADLESS="1",
               PYTHONPATH=str(REPO))
    return env


def _timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, cpu seconds of the children) of one whole process."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def _row(name: str, values: list[float], unit: str = "s") -> str:
    return (f"{name:<28} median {statistics.median(values):7.2f}{unit}   min {min(values):7.2f}{unit}   "
            f"max {max(values):7.2f}{unit}")


MINIMAL = {"cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": "x = 1"}],
           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
           "nbformat": 4, "nbformat_minor": 5}


def overhead(args) -> None:
    import json
    from orchestrator_nb.batch.params import declared, read_notebook
    work = Path(tempfile.mkdtemp(prefix="orc-bench-"))
    try:
        if str(args.notebook) == "minimal":  # one cell: only the fixed costs of each command
            args.notebook = work / "minimal.ipynb"
            args.notebook.write_text(json.dumps(MINIMAL))
        has_topic = "topic" in (declared(read_notebook(str(args.notebook))) or {})
        commands = {
            "papermill": lambda i: [str(BIN / "papermill"), str(args.notebook), str(work / f"pm-{i}.ipynb"),
                                    *(["-p", "topic", f"topic{i}"] if has_topic else []), "--no-progress-bar"],
            "orc notebook": lambda i: [str(BIN / "orc"), "notebook", str(args.notebook), str(work / f"orc-{i}.ipynb"),
                                       *(["-p", f"topic=topic{i}"] if has_topic else []), "-q"],
        }
        walls = {k: [] for k in commands}
        cpus = {k: [] for k in commands}
        ratios, cpu_ratios = [], []
        for i in range(args.warmup + args.runs):
            pair = {}
            for name, cmd in commands.items():
                wall, cpu = _timed(cmd(i), _env(work / f"{name.replace(' ', '-')}-{i}" / "orc.duckdb"))
                pair[name] = (wall, cpu)
                if i >= args.warmup:
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            if i >= args.warmup:
                ratios.append(pair["orc notebook"][0] / pair["papermill"][0])
                cpu_ratios.append(pair["orc notebook"][1] / pair["papermill"][1])
                print(f"  pair {i - args.warmup + 1}: papermill {pair['papermill'][0]:.2f}s, "
                      f"orc notebook {pair['orc notebook'][0]:.2f}s, ratio {ratios[-1]:.3f} "
                      f"(cpu {cpu_ratios[-1]:.3f})", flush=True)
        print(f"\n{args.runs} pairs after {args.warmup} warm-up, notebook {args.notebook.name}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        for name in commands:
            print(_row(f"{name} wall", walls[name]))
            print(_row(f"{name} cpu", cpus[name]))
        print(_row("ratio orc/papermill (wall)", ratios, "x"))
        print(_row("ratio orc/papermill (cpu)", cpu_ratios, "x"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def throughput(args) -> None:
    print(f"{args.items} items of {args.notebook.name}, {os.cpu_count()} CPUs")
    results = []
    for n in args.workers:
        work = Path(tempfile.mkdtemp(prefix="orc-bench-"))
        try:
            grid = work / "grid.yaml"
            grid.write_text("grid:\n  topic: [" + ", ".join(f"topic{i}" for i in range(args.items)) + "]\n")
            cmd = [str(BIN / "orc"), "batch", str(args.notebook), "--grid", str(grid), "--workers", str(n), "-q",
                   "--out", str(work / "out" / "{item}.ipynb")]
            load = os.getloadavg()[0]
            wall, cpu = _timed(cmd, _env(work / "orc.duckdb"))
            results.append((n, wall, args.items / wall))
            print(f"  {n} worker{'s' if n > 1 else ' '}: {wall:7.1f}s wall, {cpu:7.1f}s cpu, "
                  f"{args.items / wall:5.2f} items/s (load before: {load:.1f})", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    base = results[0][2]
    print("speed-up vs " + f"{results[0][0]} worker: " + ", ".join(f"{n}: {ips / base:.2f}x" for n, _, ips in results))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead", help="orc notebook vs papermill on the same notebook")
    o.add_argument("--runs", type=int, default=7)
    o.add_argument("--warmup", type=int, default=1)
    t = sub.add_parser("throughput", help="orc batch items/s for several worker counts")
    t.add_argument("--items", type=int, default=24)
    t.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    for sp in (o, t):
        sp.add_argument("--notebook", type=Path, default=NOTEBOOK,
                        help="the notebook (its `topic` parameter, if any, varies per run); `minimal`: "
                             "a one-cell notebook, to see fixed costs")
    args = p.parse_args(argv)
    (overhead if args.what == "overhead" else throughput)(args)


if __name__ == "__main__":
    main()
