"""`orc notebook IN.ipynb [OUT.ipynb] -p k=v ...`: run a notebook headless through papermill.

Exit codes as for `orc run`: 0 succeeded, 1 failed (the output keeps papermill's error cell),
2 invalid input, 3 a pipeline waits for approval, 4 budget exceeded, 130 interrupted.
"""
from __future__ import annotations

import os
import sys

NAME = "notebook"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="run a notebook headless (papermill), recorded with its pipeline runs",
                        description="Run a notebook through papermill: parameters go into the cell tagged "
                                    "`parameters`; every pipeline run it makes is linked to this notebook run.")
    sp.add_argument("input", nargs="?", metavar="IN.ipynb", help="the notebook (optional with --resume)")
    sp.add_argument("output", nargs="?", metavar="OUT.ipynb",
                    help="output notebook or template, fields {run_id} {name} {date} {time} {store} and the "
                         "parameters (default: {store}/notebooks/{run_id}.ipynb, i.e. .orc/notebooks/)")
    sp.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                    help="set a parameter (typed like its default; KEY=@path reads a file) (repeatable)")
    sp.add_argument("-f", "--params-file", action="append", default=[], metavar="FILE",
                    help="YAML mapping of parameters")
    sp.add_argument("--resume", metavar="RUN",
                    help="run a notebook run again (its id, or the id of a pipeline run it made): its pipeline "
                         "runs continue where they stopped, after `orc approve`, repeating nothing finished")
    sp.add_argument("--approval", choices=["auto", "reject", "defer", "fail"],
                    help="approval policy for the notebook's pipelines (default: $ORC_APPROVAL or defer)")
    sp.add_argument("--log-output", action="store_true", help="also show the notebook's own output as it runs")
    sp.add_argument("--kernel", help="Jupyter kernel (default: the notebook's, else python3)")
    sp.add_argument("--cwd", help="the kernel's working directory (default: the notebook's folder)")
    sp.add_argument("--timeout", type=float, metavar="SECONDS", help="fail a cell that runs longer than this")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress lines, only the summary")
    sp.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")


def run(args) -> int:
    from ..batch import records
    from ..batch.execute import NotebookJob, NotebookRunner, interrupt_on_sigterm, notebook_kernel
    from ..batch.params import declared, from_cli, read_notebook
    from ..batch.paths import render
    from ..batch.recover import reconcile
    from ..errors import UsageError
    from ..store import Store

    store = Store(args.db)
    resumed = plan = stored = None
    approval, timeout, kernel, cwd = args.approval, args.timeout, args.kernel, args.cwd
    if args.resume:
        if args.param or args.params_file:
            raise UsageError("--resume runs the notebook again with its stored parameters; drop -p/-f")
        with store.connect():
            for hint in reconcile(store):
                print(hint, file=sys.stderr)
            resumed = records.resolve(store, args.resume)
            plan = records.resume_plan(store, resumed["nb_run_id"])
        if resumed["status"] in ("running", "queued"):
            raise UsageError(f"--resume {args.resume}: notebook run {resumed['nb_run_id']} is still "
                             f"{resumed['status']} (pid {resumed['pid']}); wait for it")
        input_path = args.input or resumed["input_path"]
        params = resumed["parameters"]
        nb_run_id = resumed["nb_run_id"]
        output = args.output or resumed["output_path"]
        # the first run's options, unless given again (a batch item's are its batch's)
        stored = records.options(store, nb_run_id, resumed.get("batch_id"))
        approval = approval or (stored or {}).get("approval")
        timeout = timeout if timeout is not None else (stored or {}).get("timeout")
        kernel = kernel or resumed.get("kernel")
        if not cwd and resumed.get("cwd") and os.path.isdir(resumed["cwd"]):
            cwd = resumed["cwd"]
    else:
        if not args.input:
            raise UsageError("give the notebook to run: orc notebook IN.ipynb [OUT.ipynb] (or --resume RUN)")
        input_path = args.input
        nb_run_id = records.new_id()
        output = args.output
    nb = read_notebook(input_path)
    if not resumed:
        params = from_cli(args.param, args.params_file, declared(nb), input_path)
    kernel = notebook_kernel(nb, kernel)
    out_path = render(output, store=store, nb_run_id=nb_run_id, input_path=input_path, parameters=params,
                      option="OUT" if args.output or not resumed else "--resume")
    job = NotebookJob(input_path=input_path, output_path=out_path, parameters=params, nb_run_id=nb_run_id,
                      cwd=cwd or os.path.dirname(os.path.abspath(input_path)), kernel=kernel,
                      approval=approval or os.environ.get("ORC_APPROVAL") or None, timeout=timeout, resume=plan)
    if args.cwd and not os.path.isdir(args.cwd):
        raise UsageError(f"--cwd {args.cwd}: no such directory")
    interrupt_on_sigterm()
    say = (lambda line: None) if args.quiet else None
    if not args.quiet:
        verb = "resuming" if resumed else "running"
        print(f"{verb} {input_path} as notebook run {nb_run_id}" + (f" · {_shown(params)}" if params else "")
              + _options_line(job, resumed, stored), file=sys.stderr, flush=True)
    runner = NotebookRunner(store, job, say=say, log_output=sys.stderr if args.log_output else None,
                            resumed=resumed is not None)
    outcome = runner.run()
    _report(outcome, args)
    return outcome.exit_code


def _options_line(job, resumed, stored) -> str:
    """On --resume: the options it runs with, said so (a run recorded by an older orc kept none)."""
    if not resumed:
        return ""
    given = " ".join(f"--{k} {v:g}" if isinstance(v, float) else f"--{k} {v}"
                     for k, v in (("approval", job.approval), ("timeout", job.timeout)) if v is not None)
    if stored is None:
        return (" · " + given if given else "") + (" (its first run's options were not recorded: give --approval / "
                                                   "--timeout again if it used them)")
    return f" · {given} (as recorded; give them again to change them)" if given else ""


def _shown(params: dict) -> str:
    from ..providers.base import redact
    text = redact(" ".join(f"{k}={v!r}" for k, v in params.items()))
    return text if len(text) < 200 else text[:197] + "..."


def _report(o, args) -> None:
    if args.json:
        from ..core.serialize import dumps
        print(dumps({"nb_run_id": o.nb_run_id, "status": o.status, "exit_code": o.exit_code, "error": o.error,
                     "output_path": o.output_path, "duration_s": o.duration_s, "cost_usd": o.cost_usd,
                     "runs": [{k: r[k] for k in ("run_id", "pipeline", "status", "cost_usd")} for r in o.runs],
                     "waiting": [{"run_id": r, "step_id": s} for r, s in o.waiting]}))
        return
    n = len(o.runs)
    print(f"notebook run {o.nb_run_id}: {o.status} in {o.duration_s:.1f}s · {n} pipeline run{'s' * (n != 1)} · "
          f"${o.cost_usd:.4f}")
    for r in o.runs:
        print(f"  run {r['run_id']}  {r['pipeline']:<24} {r['status']:<16} ${r['cost_usd'] or 0:.4f}")
    print(f"output: {o.output_path}")
    if o.error and o.status != "waiting":
        print(f"error: {o.error}")
    for run_id, step_id in o.waiting:
        print(f"waiting for approval: orc approve {run_id} {step_id}  (then: orc notebook --resume {o.nb_run_id})")
