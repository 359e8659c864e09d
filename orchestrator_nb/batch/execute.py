"""One notebook, headless, through papermill: the code path shared by `orc notebook` and every
`orc batch` item.

``NotebookRunner.run()`` is a template: record the notebook run as running, execute (the one
step that touches papermill: ``execute_papermill``), read the pipeline runs the kernel made
from the store, decide one status, record it. Like papermill, a failing cell does not stop the
bookkeeping: the output notebook is saved with the error cell, then the outcome says `failed`.

The kernel learns everything through its environment (papermill passes the parent's): the
store (``ORC_DB``, absolute), ``ORC_NB_RUN_ID`` / ``ORC_NOTEBOOK_PATH`` (so runs link to this
notebook run), ``ORC_HEADLESS=1`` (nobody can click), and optionally ``ORC_APPROVAL`` and
``ORC_RESUME_RUNS`` (`--resume`: the runs made last time, continued in order). The variables
are given to the kernel process only; this process's environment is left alone.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field

from ..errors import UsageError
from . import records


@dataclass
class NotebookJob:
    input_path: str
    output_path: str
    parameters: dict
    nb_run_id: str
    cwd: str | None = None
    kernel: str | None = None
    approval: str | None = None
    resume: list[dict] | None = None          # ORC_RESUME_RUNS: [{run_id, spec_hash}] in start order
    timeout: float | None = None              # per cell, seconds
    start_timeout: float = 60
    env: dict = field(default_factory=dict)   # more variables for the kernel
    batch_id: str | None = None
    item_index: int | None = None
    record_path: str | None = None            # the notebook's path as the user knows it (a worker runs a copy)
    kernel_log: str | None = None             # where the kernel process's own output goes (default: ours)
    worker: str | None = None                 # the Dask worker running a sweep item


@dataclass
class CellError:
    ename: str
    evalue: str
    cell_index: int | None = None
    exec_count: int | None = None
    preview: str | None = None                # the cell's first line, when it helps to find it

    def line(self) -> str:
        where = f"cell In [{self.exec_count}]" if self.exec_count else (
            f"cell {self.cell_index}" if self.cell_index is not None else "the notebook")
        if self.preview:
            where += f" ({self.preview})"
        first = (self.evalue or "").strip().splitlines()
        return f"{where}: {self.ename}" + (f": {first[0]}" if first else "")


@dataclass
class NotebookOutcome:
    nb_run_id: str
    status: str
    exit_code: int
    output_path: str
    duration_s: float
    runs: list[dict]
    waiting: list[tuple[str, str]]
    error: str | None = None
    cost_usd: float = 0.0


def interrupt_on_sigterm() -> None:
    """`kill` or cron's `timeout` ends a headless run like Ctrl-C: the output notebook is saved, the
    kernel shut down and the notebook run recorded as cancelled (exit 130)."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        def _raise(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, _raise)


def kernel_env(job: NotebookJob, db_path: str) -> dict:
    env = {"ORC_HEADLESS": "1", "ORC_NB_RUN_ID": job.nb_run_id, "ORC_DB": str(db_path),
           "ORC_NOTEBOOK_PATH": job.record_path or os.path.abspath(job.input_path)}
    if job.approval:
        env["ORC_APPROVAL"] = job.approval
    if job.resume:
        env["ORC_RESUME_RUNS"] = json.dumps(job.resume)
    env.update({k: str(v) for k, v in job.env.items()})
    return env


def kernel_manager_class(env: dict, log_path: str | None = None):
    """An AsyncKernelManager that starts its kernel with ``env`` added to the inherited one, and
    (``log_path``) the kernel process's own stdout/stderr in a file instead of ours."""
    from jupyter_client.manager import AsyncKernelManager

    class OrcKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            if log_path:
                log = open(log_path, "ab")  # the child keeps its own descriptor
                kw["stdout"] = kw["stderr"] = log
                try:
                    return await super().start_kernel(**kw)
                finally:
                    log.close()
            return await super().start_kernel(**kw)

    return OrcKernelManager


def notebook_language(path: str) -> str:
    """The notebook's language (its kernelspec or language_info), else python."""
    import json
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata") or {}
    except (OSError, ValueError, AttributeError):
        return "python"
    return ((meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name")
            or "python")


def notebook_kernel(nb: dict, kernel: str | None) -> str:
    """The kernel to use: --kernel, the notebook's kernelspec, else python3; checked to exist."""
    name = kernel or (nb.get("metadata", {}).get("kernelspec") or {}).get("name") or "python3"
    from jupyter_client.kernelspec import KernelSpecManager
    names = sorted(KernelSpecManager().find_kernel_specs())
    if name not in names:
        raise UsageError(f"--kernel {name}: no such Jupyter kernel (installed: {', '.join(names) or 'none'}; "
                         "`python -m ipykernel install --user` adds python3)")
    return name


class _Prefixed:
    """A file-like for papermill's stdout_file/stderr_file: the notebook's output, live, indented,
    with credentials from the environment blanked out."""

    def __init__(self, stream, prefix: str = "  │ "):
        from ..providers.base import known_secrets
        self.stream, self.prefix, self.at_start = stream, prefix, True
        self.secrets = known_secrets()

    def write(self, text: str) -> None:
        from ..providers.base import redact
        out = []
        for piece in text.splitlines(keepends=True):
            out.append((self.prefix if self.at_start else "") + piece)
            self.at_start = piece.endswith("\n")
        self.stream.write(redact("".join(out), self.secrets))

    def flush(self) -> None:
        self.stream.flush()


def execute_papermill(job: NotebookJob, env: dict, log_output=None) -> CellError | None:
    """Run the notebook; papermill saves the output (with the error cell) in every case.
    Returns the failing cell, or None. KeyboardInterrupt propagates (after papermill saved)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir = os.path.dirname(os.path.abspath(job.output_path))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:  # a file where the folder should be, no permission...
        return CellError(type(e).__name__, f"cannot make the output folder {out_dir}: {e.strerror or e}")
    # the kernel's own log: not its TCP-without-encryption notice, nor the ZMQ traceback it logs
    # when a --timeout interrupts it mid-reply (the timeout is reported in one line below)
    streams = {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]}
    if log_output is not None:
        streams.update(stdout_file=_Prefixed(log_output), stderr_file=_Prefixed(log_output, "  ! "))
    try:
        # a notebook saved without a kernelspec (made by a script, stripped by a tool) has no language
        # for papermill to write parameters in: ours are Python (the magics need a Python kernel)
        # (papermill fills {name} in both paths from the parameters: ours are paths as given)
        with _quiet("papermill"):  # its "Timeout waiting for execute reply" line: the outcome says it
            pm.execute_notebook(_literal(job.input_path), _literal(job.output_path), parameters=job.parameters,
                                kernel_name=job.kernel, language=notebook_language(job.input_path),
                                cwd=job.cwd, progress_bar=False, request_save_on_cell_execute=True,
                                start_timeout=job.start_timeout, execution_timeout=job.timeout,
                                kernel_manager_class=kernel_manager_class(env, job.kernel_log), **streams)
    except PapermillExecutionError as e:
        return CellError(e.ename, str(e.evalue), e.cell_index, e.exec_count)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # the kernel died, a cell timed out, the kernel could not start...
        name = type(e).__name__
        if name == "CellTimeoutError":
            return timed_out(job)
        text = {"DeadKernelError": "the kernel died (out of memory? killed?)"}.get(name, str(e))
        return CellError(name, text)
    return None


def timed_out(job: NotebookJob) -> CellError:
    """The cell that ran past --timeout: the last one papermill started, read from the output it saved."""
    where = _last_started(job.output_path)
    limit = f"--timeout {job.timeout:g} s" if job.timeout else "its time limit"
    error = CellError("CellTimeoutError", f"ran longer than {limit} and was stopped (raise --timeout, or make "
                      "the cell faster)")
    if where is not None:
        error.cell_index, error.exec_count, error.preview = where
    return error


def _last_started(path: str) -> tuple[int, int | None, str] | None:
    try:
        with open(path, encoding="utf-8") as f:
            cells = json.load(f)["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    started = [(i, c) for i, c in enumerate(cells)
               if isinstance(c, dict) and ((c.get("metadata") or {}).get("papermill") or {}).get("start_time")]
    if not started:
        return None
    i, cell = started[-1]
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else str(src)
    first = next((ln.strip() for ln in src.splitlines() if ln.strip()), "")
    return i, cell.get("execution_count"), first[:60]


class _quiet:
    """A logger silenced for a while (and restored)."""

    def __init__(self, name: str):
        import logging
        self.logger = logging.getLogger(name)

    def __enter__(self):
        self.disabled, self.logger.disabled = self.logger.disabled, True

    def __exit__(self, *exc):
        self.logger.disabled = self.disabled


def _literal(path: str) -> str:
    return str(path).replace("{", "{{").replace("}", "}}")


# Kernels started at once on one host can race for the same ports, and the loser exits before
# it answers (papermill's issues #511, #776): no cell has run, so starting another is safe.
KERNEL_STARTS = 3


def died_starting(error: CellError | None) -> bool:
    """Whether the kernel died before it replied to its first message (so before any cell ran)."""
    return error is not None and error.cell_index is None and error.ename == "RuntimeError" \
        and error.evalue.startswith("Kernel died before replying to kernel_info")


class NotebookRunner:
    """Execute one notebook run and keep its `notebook_runs` row and outcome."""

    def __init__(self, store, job: NotebookJob, say=None, log_output=None, watch: bool = True,
                 resumed: bool = False):
        self.store, self.job = store, job
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.log_output, self.watch, self.resumed = log_output, watch, resumed

    def run(self) -> NotebookOutcome:
        job, store = self.job, self.store
        self.record_start()
        watcher = None
        if self.watch:
            from .watch import JournalWatch
            expect = [r["run_id"] for r in job.resume or ()]
            watcher = JournalWatch(store.journal_dir, job.nb_run_id, self.say, expect=expect).start()
        started = time.time()
        cell_error, interrupted = None, False
        try:
            for start in range(1, KERNEL_STARTS + 1):
                cell_error = execute_papermill(job, kernel_env(job, store.path), self.log_output)
                if not died_starting(cell_error) or start == KERNEL_STARTS:
                    break
                self.say(f"the kernel died as it started (before running any cell); starting another "
                         f"(try {start + 1} of {KERNEL_STARTS})")
                time.sleep(0.5 * start)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if watcher is not None:
                watcher.stop()
        duration = time.time() - started
        outcome = self.conclude(cell_error, interrupted, duration, started)
        if watcher is not None:
            for rid in watcher.missed([r["run_id"] for r in outcome.runs]):
                r = next(x for x in outcome.runs if x["run_id"] == rid)
                self.say(f"run {rid} · pipeline {r['pipeline']}: {r['status']} · ${r['cost_usd'] or 0:.4f}")
        if interrupted:
            raise KeyboardInterrupt
        return outcome

    def record_start(self) -> None:
        job = self.job
        with self.store.connect():  # one session for all of it (connect is re-entrant)
            from .recover import reconcile
            for hint in reconcile(self.store):  # batches and notebook runs whose `orc` process died
                self.say(hint)
            if job.batch_id is None:  # a sweep's items share the options the batch recorded
                opts = {"approval": job.approval, "timeout": job.timeout}
                if records.options(self.store, job.nb_run_id) != opts:
                    records.save_options(self.store, job.nb_run_id, opts)
            if self.resumed:
                records.restart(self.store, job.nb_run_id, resumed=True)
            else:
                records.start(self.store, job.nb_run_id, input_path=job.record_path or os.path.abspath(job.input_path),
                              output_path=os.path.abspath(job.output_path), parameters=job.parameters,
                              kernel=job.kernel, cwd=job.cwd, batch_id=job.batch_id, item_index=job.item_index)

    def conclude(self, cell_error: CellError | None, interrupted: bool, duration: float,
                 started: float) -> NotebookOutcome:
        job, store = self.job, self.store
        with store.connect():  # merges what the kernel's runs journaled, then one session for all of it
            runs = records.pipeline_runs(store, job.nb_run_id)
            status = records.outcome(cell_error.line() if cell_error else None, [r["status"] for r in runs],
                                     interrupted)
            code = records.exit_code(status, cell_error.ename if cell_error else None)
            error = _error_line(status, cell_error, runs)
            waiting = records.waiting_steps(store, [r["run_id"] for r in runs if r["status"] == "waiting"])
            cost = records.finish(store, job.nb_run_id, status=status, exit_code=code, error=error,
                                  duration_s=duration, started=started, worker=job.worker)["cost_usd"]
        return NotebookOutcome(job.nb_run_id, status, code, job.output_path, duration, runs, waiting, error, cost)


def _error_line(status: str, cell_error: CellError | None, runs: list[dict]) -> str | None:
    if status == "succeeded":
        return None
    bad = [r for r in runs if r["status"] == status and r.get("error")]
    parts = [f"run {bad[0]['run_id']}: {bad[0]['error']}"] if bad else []
    if cell_error is not None:
        parts.append(cell_error.line())
    if status == "waiting" and not parts:
        parts.append("waiting for approval")
    from ..providers.base import redact
    return redact("; ".join(parts) or status)
