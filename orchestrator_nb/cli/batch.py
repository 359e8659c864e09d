"""`orc batch IN.ipynb --grid GRID.yaml [--workers N] [--cluster ADDRESS]`: a parameter sweep.

Each item runs the notebook headless (as `orc notebook` does) on a Dask worker: an in-process
LocalCluster by default, a remote scheduler with --cluster. Exit code: 0 when every item
succeeded, else that of the worst item (1 failed, 4 budget exceeded, 3 waiting for approval).
`orc batch --resume BATCH` runs the items of an interrupted batch that did not finish.
"""
from __future__ import annotations

import os
import sys
import time

NAME = "batch"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="run a notebook for every parameter set of a grid, in parallel (Dask)",
                        description="A parameter sweep: the cartesian product of `grid:` lists plus the "
                                    "explicit `items:` of GRID.yaml, each item a headless notebook run.")
    sp.add_argument("input", nargs="?", metavar="IN.ipynb",
                    help="the notebook (its `parameters` cell receives each item)")
    sp.add_argument("--grid", metavar="GRID.yaml",
                    help="the sweep: `grid:` (name: [values]...), `items:` (a list of mappings), `params:`")
    sp.add_argument("--resume", metavar="BATCH",
                    help="run the items of an interrupted batch that did not finish (same ids, parameters, "
                         "outputs and options; finished items are kept)")
    sp.add_argument("--workers", "-w", type=int, metavar="N",
                    help="worker processes of the local cluster (default: the number of CPUs, at most 4)")
    sp.add_argument("--cluster", metavar="ADDRESS",
                    help="a running Dask scheduler, e.g. tcp://host:8786 (workers need orchestrator-nb)")
    sp.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                    help="a parameter shared by every item (the grid's values win) (repeatable)")
    sp.add_argument("-f", "--params-file", action="append", default=[], metavar="FILE",
                    help="YAML mapping of shared parameters")
    sp.add_argument("--out", metavar="TEMPLATE", help="output notebooks, fields {batch_id} {item} {run_id} {name} "
                    "{date} {store} and the parameters (default: {store}/notebooks/{batch_id}/{item}-{run_id}.ipynb)")
    sp.add_argument("--approval", choices=["auto", "reject", "defer", "fail"],
                    help="approval policy in every item (default: $ORC_APPROVAL or defer: items wait)")
    sp.add_argument("--kernel", help="Jupyter kernel (default: the notebook's, else python3)")
    sp.add_argument("--timeout", type=float, metavar="SECONDS", help="fail a cell that runs longer than this")
    sp.add_argument("--retries", type=int, metavar="N",
                    help="extra tries of an item whose task raised (a failing notebook is a result; "
                         "a dead worker's item is rescheduled by Dask anyway) (default: 1)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no live summary, only the final table")
    sp.add_argument("--json", action="store_true", help="print the items as JSON on stdout")
    sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")


def run(args) -> int:
    from ..batch.execute import notebook_kernel
    from ..batch.grid import load_grid
    from ..batch.params import declared, from_cli, read_notebook, typed
    from ..batch.sweep import Sweep
    from ..errors import UsageError
    from ..store import Store

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give 1 or more")
    if args.cluster and args.workers:
        raise UsageError("--workers sizes the local cluster; a --cluster brings its own workers (drop one)")
    if args.cluster and "://" not in args.cluster:
        raise UsageError(f"--cluster {args.cluster}: give a scheduler address like tcp://host:8786")
    if args.retries is not None and args.retries < 0:
        raise UsageError(f"--retries {args.retries}: give 0 or more")
    if args.resume:
        return _resume(args)
    if not args.input or not args.grid:
        raise UsageError("give the notebook and the sweep: orc batch IN.ipynb --grid GRID.yaml "
                         "(or --resume BATCH to finish an interrupted batch)")
    nb = read_notebook(args.input)
    decl = declared(nb)
    shared = from_cli(args.param, args.params_file, decl, args.input)
    items = [dict(shared, **typed(item, decl, args.input, option=f"--grid {args.grid}: item {i}:"))
             for i, item in enumerate(load_grid(args.grid))]
    kernel = notebook_kernel(nb, args.kernel)
    _need_dask()
    store = Store(args.db)
    _reconcile(store)
    workers = None if args.cluster else (args.workers or min(4, os.cpu_count() or 1))
    sweep = Sweep(input_path=args.input, items=items, workers=workers, cluster=args.cluster, output=args.out,
                  approval=args.approval or os.environ.get("ORC_APPROVAL") or None, kernel=kernel,
                  timeout=args.timeout, retries=1 if args.retries is None else args.retries,
                  grid_path=os.path.abspath(args.grid))
    return _sweep(store, sweep, args)


def _reconcile(store) -> None:
    from ..batch.recover import reconcile
    for hint in reconcile(store):  # batches and notebook runs left by dead `orc` processes
        print(hint, file=sys.stderr, flush=True)


def _resume(args) -> int:
    """The unfinished items of a batch again, as the batch first ran them (options given now win)."""
    from ..batch import records
    from ..batch.execute import notebook_kernel
    from ..batch.params import read_notebook
    from ..batch.recover import resolve_batch, unfinished
    from ..batch.sweep import Sweep
    from ..errors import UsageError
    from ..store import Store

    if args.input or args.grid or args.param or args.params_file or args.out:
        raise UsageError("--resume runs the batch's own notebook, items and outputs again; drop IN.ipynb, "
                         "--grid, -p, -f and --out")
    store = Store(args.db)
    _reconcile(store)
    batch = resolve_batch(store, args.resume)
    if batch["status"] == "running":
        raise UsageError(f"--resume {args.resume}: batch {batch['batch_id']} is still running (pid {batch['pid']} "
                         f"on {batch['host']}); wait for it, or stop it first")
    _need_dask()
    rows = unfinished(store, batch["batch_id"])
    if not rows:
        print(f"batch {batch['batch_id']}: every item finished; nothing to resume (`orc notebook --resume ITEM` "
              "finishes an item that waits for approval)", file=sys.stderr)
        every = records.batch_items(store, batch["batch_id"])
        return records.exit_code(records.outcome(None, [r["status"] for r in every]))
    stored = records.options(store, batch["batch_id"]) or {}
    nb = read_notebook(batch["input_path"])
    kernel = notebook_kernel(nb, args.kernel or stored.get("kernel") or rows[0].get("kernel"))
    cluster = args.cluster or (None if args.workers else batch.get("cluster"))
    workers = None if cluster else (args.workers or batch.get("workers") or min(4, os.cpu_count() or 1))
    retries = args.retries if args.retries is not None else stored.get("retries", 1)
    sweep = Sweep(input_path=batch["input_path"], items=[r["parameters"] for r in rows], workers=workers,
                  cluster=cluster, approval=args.approval or stored.get("approval"), kernel=kernel,
                  timeout=args.timeout if args.timeout is not None else stored.get("timeout"), retries=retries,
                  grid_path=batch.get("grid_path"), resume=batch["batch_id"], rows=rows)
    return _sweep(store, sweep, args)


def _sweep(store, sweep, args) -> int:
    from ..batch import records
    from ..batch.execute import interrupt_on_sigterm
    from ..batch.sweep import SweepRunner
    interrupt_on_sigterm()
    say = (lambda line: None) if args.quiet else None
    started = time.time()
    runner = SweepRunner(store, sweep, say=say)
    rows = runner.run()
    took = time.time() - started
    _report(rows, runner.batch_id, took, args)
    status = records.outcome(None, [r["status"] for r in rows])
    return records.exit_code(status)


def _need_dask() -> None:
    from importlib.util import find_spec
    from ..errors import UsageError
    if find_spec("distributed") is None:
        raise UsageError("orc batch runs on Dask: pip install 'orchestrator-nb[dask]'")


def _report(rows: list[dict], batch_id: str, took: float, args) -> None:
    if args.json:
        from ..core.serialize import dumps
        keep = ("item_index", "nb_run_id", "status", "exit_code", "error", "parameters", "runs", "cost_usd",
                "duration_s", "attempts", "worker", "output_path")
        print(dumps({"batch_id": batch_id, "seconds": took, "items": [{k: r.get(k) for k in keep} for r in rows]}))
        return
    from .main import _table
    table = []
    for r in rows:
        params = " ".join(f"{k}={v}" for k, v in r["parameters"].items())
        table.append((r["item_index"], r["nb_run_id"], r["status"], r["runs"], f"${r['cost_usd'] or 0:.4f}",
                      f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else "",
                      r["attempts"] if (r["attempts"] or 0) > 1 else "",
                      params if len(params) <= 50 else params[:47] + "..."))
    print(_table(("item", "notebook run", "status", "runs", "cost", "time", "tries", "parameters"), table))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    cost = sum(r["cost_usd"] or 0 for r in rows)
    print(f"batch {batch_id}: {len(rows)} items · " + " · ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f" · ${cost:.4f} · {took:.1f}s ({len(rows) / took:.2f} items/s)")
    for r in rows:
        if r["status"] == "failed" and r.get("error"):
            print(f"  item {r['item_index']} failed: {r['error']}")
    if rows:
        print(f"outputs: {os.path.dirname(rows[0]['output_path'])}")
    waiting = [r for r in rows if r["status"] == "waiting"]
    if waiting:
        print(f"{len(waiting)} item(s) wait for approval: `orc approve RUN STEP`, then "
              f"`orc notebook --resume {waiting[0]['nb_run_id']}` (one per item; see `orc runs --status waiting`)")
    sys.stdout.flush()
