"""Starting a run from a notebook: the progress view (widgets or text), the approver, the task.

``NotebookRun.start()`` creates the run as an asyncio task on the running loop (the kernel's),
so the kernel stays free to receive clicks. The magic then either awaits it (``foreground``,
the default: the cell runs until the run ends, and "Run All" waits for it) or hands back a
``RunHandle`` at once (``--background``; ``await handle`` gives the ``RunResult``).
"""
from __future__ import annotations

import asyncio
import sys
import time

from ..report.console import ConsoleProgress
from .awaiting import wait_on_kernel
from .frontend import ViewProbe, display_mode, kernel_of

TEXT_NOTE = ("orchestrator-nb run {run_id} ({name}): no widget view here (papermill/nbclient?), "
             "progress follows as text")


class ProgressRouter:
    """The run's display subscriber: the widget view, or text lines when nobody watches.

    In "probe" mode events go to the view and are also kept until the probe answers; if no
    view ever appeared they are replayed as text and text takes over.
    """

    def __init__(self, mode: str, view=None, stream=None):
        self.mode, self.view = mode, view
        self.stream = stream
        self.text = self._console() if mode == "text" else None
        self.buffer: list | None = [] if mode == "probe" else None
        self._watched: asyncio.Future | None = None
        self._on_text = None

    def _console(self):
        return text_progress(self.stream or sys.stdout)

    def handle(self, ev) -> None:
        if self.buffer is not None and len(self.buffer) < 20_000:
            self.buffer.append(ev)
        if self.view is not None:
            self.view.handle(ev)
        if self.text is not None:
            self.text.handle(ev)

    def follow(self, probe: ViewProbe, on_text=None) -> None:
        self._watched, self._on_text = probe.result, on_text
        probe.result.add_done_callback(lambda _f: self.settle())

    def settle(self) -> None:
        """Act on the probe's answer (once): keep the widgets, or go on as text."""
        fut = self._watched
        if fut is None or not fut.done() or self.buffer is None:
            return
        buffered, self.buffer = self.buffer, None
        if not fut.cancelled() and fut.result():
            return
        if self.view is not None:
            self.view.detach()
        self.text = self._console()
        for ev in buffered:
            self.text.handle(ev)
        if self._on_text is not None:
            self._on_text()

    @property
    def wants_tokens(self) -> bool:
        return self.view is not None and (self.text is None)

    async def watched(self) -> bool:
        if self.mode == "text":
            return False
        if self.mode == "widgets" or self._watched is None:
            return True
        return await asyncio.shield(self._watched)


class TextProgress(ConsoleProgress):
    """The CLI's plain log lines, stamped with each event's own time (events may be replayed)."""

    _at = None

    def handle(self, ev) -> None:
        self._at = ev.ts
        super().handle(ev)

    def _plain(self, row, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self._at or time.time()))
        print(f"[{stamp}] {row.sid:<20} {text}", file=self.stream, flush=True)


def text_progress(stream) -> TextProgress:
    return TextProgress(stream=stream, live=False)


class NotebookRun:
    """One run started from the notebook (a fresh pipeline run, or a resume)."""

    def __init__(self, shell, *, store, pipeline=None, inputs=None, resume_ref: str | None = None,
                 approval: str | None = None, use_cache: bool = True, outdir: str = ".", scope=None,
                 view_timeout: float = 3.0, run_id: str | None = None, isolate: bool = False):
        self.shell, self.store, self.pipeline, self.inputs = shell, store, pipeline, inputs
        self.resume_ref, self.approval, self.use_cache = resume_ref, approval, use_cache
        self.outdir, self.scope, self.view_timeout = outdir, scope or {}, view_timeout
        self.isolate = isolate
        if run_id is None:
            from ..core.runner import new_run_id
            run_id = new_run_id()
        self.run_id = run_id
        self.task: asyncio.Task | None = None
        self.view = self.router = self.approver = self.probe = None
        self.display_handle = None
        self.stopped = False
        self.background = False     # set by the magic: the cell does not wait, so the end freezes the view
        self.kernel = kernel_of(shell)

    @property
    def name(self) -> str:
        return self.pipeline.name if self.pipeline is not None else "run"

    def start(self) -> asyncio.Task:
        loop = asyncio.get_running_loop()
        mode = display_mode(self.shell)
        if mode != "text":
            from .progress import RunView
            self.view = RunView(self.pipeline, on_stop=self.stop)
            if mode == "probe":  # count views from the start: set before the widget is displayed
                from .frontend import probe_timeout
                self.probe = ViewProbe(self.view.widget, probe_timeout(self.view_timeout))
            self._show(self.view.widget)
        self.router = ProgressRouter(mode, self.view)
        if self.probe is not None:
            self.router.follow(self.probe, on_text=self._to_text)
        from .approval import NotebookApprover
        self.approver = NotebookApprover(store=self.store, view=self.view, watched=self.router.watched)
        self.task = loop.create_task(self._coro(), name=f"orc-run-{self.run_id}")
        self.task.add_done_callback(self._ended)
        return self.task

    def _coro(self):
        import os
        # in a kernel the store is merged by a thread after the run; a plain shell may exit right away
        sync = "background" if self.kernel is not None else "now"
        common = dict(db=self.store, approval=self.approval, approver=self.approver, subscribers=[self.router],
                      scope=self.scope, use_cache=self.use_cache, sync=sync)
        if self.resume_ref is not None:
            from ..api.runner import resume_run
            return resume_run(self.resume_ref, **common)
        from ..api.runner import run_pipeline
        return run_pipeline(self.pipeline, self.inputs, outdir=self.outdir, source="notebook", run_id=self.run_id,
                            notebook_path=os.environ.get("ORC_NOTEBOOK_PATH") or os.environ.get("JPY_SESSION_NAME"),
                            isolate=self.isolate, **common)

    def _show(self, widget) -> None:
        from IPython.display import display
        bundle = widget._repr_mimebundle_()
        bundle["text/plain"] = f"orchestrator-nb run {self.run_id} ({self.name}): live progress (widgets)"
        self.display_handle = display(bundle, raw=True, display_id=True)

    def _to_text(self) -> None:
        if self.display_handle is not None:
            self.display_handle.update({"text/plain": TEXT_NOTE.format(run_id=self.run_id, name=self.name)}, raw=True)

    def stop(self) -> None:
        """The Stop button (or ``handle.cancel()``): cancel the run; it is recorded as cancelled."""
        if self.task is not None and not self.task.done():
            self.stopped = True
            self.task.cancel()

    def _ended(self, task: asyncio.Task) -> None:
        if self.view is not None:
            self.view.flush()
            if task.cancelled():
                for card in getattr(self.approver, "cards", ()):
                    if not card.future.done():
                        card.stopped()
            if self.background:
                self.freeze()

    def freeze(self, compact: bool = False) -> None:
        """Replace the live widgets by a static copy: saved notebooks keep a readable record."""
        if self.view is None or self.display_handle is None or self.router.text is not None:
            return
        html = self.view.snapshot_html(compact=compact)
        self.display_handle.update({"text/html": html, "text/plain": f"orchestrator-nb run {self.run_id} "
                                    f"({self.name}): {self.view.status}"}, raw=True)

    async def wait(self):
        """The RunResult (kernel interrupts and Stop become ``RunCancelled``).

        A run that ends before the view probe has answered waits for the answer (a moment in
        JupyterLab, the probe's timeout under papermill), so its progress ends up in the right
        form - widgets or text - before the cell finishes.
        """
        # a background run outlives an interrupted wait for it; a foreground run is cancelled
        target = asyncio.shield(self.task) if self.background else self.task
        try:
            result = await wait_on_kernel(target, self.kernel)
            if self.probe is not None:
                await wait_on_kernel(asyncio.shield(self.probe.result), self.kernel)
                self.router.settle()
            if not self.background:
                self.freeze(compact=True)
        except asyncio.CancelledError:
            if self.background and not self.task.done():
                raise WaitInterrupted(self.run_id) from None
            if not self.background:
                self.freeze()
            raise RunCancelled(self.run_id, "stopped" if self.stopped else "kernel interrupted") from None
        return result


class RunCancelled(KeyboardInterrupt):
    """Shown as one line (IPython's ``_render_traceback_`` protocol), not a traceback."""

    def __init__(self, run_id: str, why: str):
        self.run_id, self.why = run_id, why
        super().__init__(f"run {run_id} cancelled ({why}); `%orc resume {run_id}` continues it")

    def _render_traceback_(self):
        return [f"KeyboardInterrupt: {self}"]


class WaitInterrupted(KeyboardInterrupt):
    """Interrupting a cell that awaits a background run stops the wait, not the run."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        super().__init__(f"stopped waiting; run {run_id} goes on in the background (its Stop button cancels it)")

    def _render_traceback_(self):
        return [f"KeyboardInterrupt: {self}"]


class RunHandle:
    """A run going on in the background (``--background``).

    ``await handle`` waits and gives the RunResult (``handle.result`` once it is done); reading
    anything else (``handle["step"]``, ``.outputs``, ``.cost``...) reads the RunResult, and says
    so plainly while the run is still going.
    """

    def __init__(self, run: NotebookRun, var: str | None = None):
        self._run, self.run_id, self.pipeline = run, run.run_id, run.name
        self._var = var
        run.task.add_done_callback(self._report)

    def _report(self, task) -> None:
        if not task.cancelled() and task.exception() is not None:
            print(f"orchestrator-nb: background run {self.run_id} failed: {task.exception()}", file=sys.stderr)

    def done(self) -> bool:
        return self._run.task.done()

    @property
    def status(self) -> str:
        task = self._run.task
        if not task.done():
            view = self._run.view
            waiting = view is not None and any(r.status == "waiting" for r in view.rows.values())
            return "waiting" if waiting else "running"
        if task.cancelled():
            return "cancelled"
        return task.result().status if task.exception() is None else "failed"

    @property
    def result(self):
        task = self._run.task
        if not task.done():
            name = self._var or "the handle"
            raise RuntimeError(f"run {self.run_id} is still {self.status}: `await {name}` waits for it")
        if task.cancelled():
            raise RunCancelled(self.run_id, "stopped")
        return task.result()

    def cancel(self) -> None:
        self._run.stop()

    def __await__(self):
        return self._run.wait().__await__()

    def __getitem__(self, step_id):
        return self.result[step_id]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.result, name)

    def __repr__(self) -> str:
        if self.done() and self.status != "cancelled":
            return repr(self.result)
        return f"<RunHandle {self.run_id} {self.pipeline}: {self.status} (background; `await` it for the result)>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.done() and self.status not in ("cancelled", "failed"):
            return self.result._repr_mimebundle_()
        return {"text/plain": repr(self)}
