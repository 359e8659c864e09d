"""The blocking API's event loop: ``pipeline.run()`` from plain Python code.

``asyncio.run`` makes and tears down an event loop on every call (and ``asyncio.Runner`` formats
its Ctrl-C handler's task on every call), which costs more than a small pipeline's whole run. Here
each thread keeps one loop; every call still gets a fresh context, Ctrl-C cancels the run (so it
is recorded as cancelled) and a second Ctrl-C interrupts at once, tasks a run left behind are
cancelled when it returns, and the loops close at exit.
"""
from __future__ import annotations

import asyncio
import contextvars
import signal
import threading

try:  # the C functions under `signal`: the same calls without converting handlers to enums (~10 µs each)
    from _signal import getsignal, signal as setsignal
except ImportError:  # pragma: no cover - another interpreter
    from signal import getsignal, signal as setsignal

_threads = threading.local()
_loops: list[asyncio.AbstractEventLoop] = []


def run_blocking(coro):
    """``asyncio.run(coro)`` on this thread's kept loop."""
    loop = getattr(_threads, "loop", None)
    if loop is None or loop.is_closed():
        loop = _threads.loop = asyncio.new_event_loop()  # not set as the thread's current loop
        if not _loops:
            import atexit
            atexit.register(_close_all)
        _loops.append(loop)
    task = loop.create_task(coro, context=contextvars.copy_context())
    interrupted = []

    def on_ctrl_c(signum, frame):
        interrupted.append(signum)
        if len(interrupted) > 1 or task.done():
            raise KeyboardInterrupt()
        task.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake a loop waiting in select()

    watch = threading.current_thread() is threading.main_thread() \
        and getsignal(signal.SIGINT) is signal.default_int_handler
    if watch:
        setsignal(signal.SIGINT, on_ctrl_c)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt() from None
        raise
    finally:
        if watch and getsignal(signal.SIGINT) is on_ctrl_c:
            setsignal(signal.SIGINT, signal.default_int_handler)
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if left:
            for t in left:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def _close_all() -> None:
    for loop in _loops:
        if loop.is_running() or loop.is_closed():
            continue  # a daemon thread still inside a run at exit
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
