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
import os
import select
import selectors
import signal
import sys
import threading
import time
import weakref

try:  # the C functions under `signal`: the same calls without converting handlers to enums (~10 µs each)
    from _signal import getsignal, signal as setsignal
except ImportError:  # pragma: no cover - another interpreter
    from signal import getsignal, signal as setsignal

_threads = threading.local()
_loops: list[asyncio.AbstractEventLoop] = []
# Every live task of every loop (asyncio.all_tasks filters it): when it holds no task but the
# run's own, the run left none behind, and the filtering (a few µs) is skipped. A registry of
# another shape (another interpreter or version) is always filtered.
# (3.11: _all_tasks; 3.12, 3.13: _scheduled_tasks, and _eager_tasks for tasks running their first
# step eagerly; 3.14 keeps asyncio's own tasks elsewhere: filtered every time.)
_registry = getattr(asyncio.tasks, "_all_tasks" if sys.version_info < (3, 12) else "_scheduled_tasks", None)
if not isinstance(_registry, weakref.WeakSet) or sys.version_info >= (3, 14):  # pragma: no cover
    _registry = None
_eager = getattr(asyncio.tasks, "_eager_tasks", ())


def run_blocking(coro):
    """``asyncio.run(coro)`` on this thread's kept loop."""
    loop = getattr(_threads, "loop", None)
    if loop is None or loop.is_closed():
        loop = _threads.loop = new_loop()  # not set as the thread's current loop
        if not _loops:
            import atexit
            atexit.register(_close_all)
        _loops.append(loop)
    # The task stops the loop itself as it ends, so the loop turns once less than with
    # run_until_complete (whose done-callback stops it a turn later); the callback stays for a
    # task that ends without starting (cancelled at once), and is removed by the task otherwise.
    stop = _Stop(loop, coro)
    task = loop.create_task(_stopping(coro, loop, stop), context=contextvars.copy_context())
    stop.task = task
    task.add_done_callback(stop)
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
        loop.run_forever()
        if not task.done():  # as run_until_complete says it
            raise RuntimeError("Event loop stopped before Future completed.")
        return task.result()
    except asyncio.CancelledError:  # the run was cancelled: Ctrl-C, or a step interrupted itself
        raise KeyboardInterrupt() from None
    finally:
        if watch and getsignal(signal.SIGINT) is on_ctrl_c:
            setsignal(signal.SIGINT, signal.default_int_handler)
        if _registry is None or len(_registry) + len(_eager) > 1 or not task.done():
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]
            if left:
                for t in left:
                    t.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: asyncio's, with timers that fire on time on Linux (unless another loop
    policy, uvloop say, is set: then that policy's loop)."""
    if _Epoll is None or type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy:
        return asyncio.new_event_loop()
    selector = _Epoll()
    _selectors.append(selector)
    return asyncio.SelectorEventLoop(selector)


_FD_SETSIZE = 1024  # select() takes descriptors below this


class _PreciseEpoll(getattr(selectors, "EpollSelector", object)):
    """epoll waits in whole milliseconds, rounded up, so a timer due in 47.06 ms fires up to a
    millisecond late (a 50 ms sleep in a step ends at 50.9 ms). Here the whole milliseconds are
    waited with epoll and the rest with select() on the epoll's own descriptor, which is readable
    as soon as any watched one is: I/O wakes the loop at once either way."""

    def leave_to_parent(self) -> None:
        """In a forked child: the epoll set is the parent's too (what the child unregisters, closing
        the loop, the parent's loop no longer hears: its self-pipe, so other threads and Ctrl-C
        could no longer wake it). The child's copy is closed and an empty set of its own used."""
        self._selector.close()
        self._selector = select.epoll()

    def select(self, timeout=None):
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        deadline = time.monotonic() + timeout
        whole = int(timeout * 1e3) * 1e-3
        if whole:  # (less a hair, so epoll's rounding up does not add a millisecond back)
            ready = super().select(whole - 1e-7)
            if ready:
                return ready
        rest = deadline - time.monotonic()
        if rest > 0:
            fd = self._selector.fileno()
            if fd >= _FD_SETSIZE:
                return super().select(rest)  # rounded up, as asyncio's own
            select.select([fd], [], [], rest)
        return super().select(0)


_Epoll = _PreciseEpoll if hasattr(selectors, "EpollSelector") else None
_selectors: list[_PreciseEpoll] = []  # those of the loops made here (see _after_fork)


def _after_fork() -> None:
    """A forked child leaves the loops it inherited to its parent (it closes them at exit without
    touching the parent's epoll sets) and makes its own."""
    global _threads
    for selector in _selectors:
        selector.leave_to_parent()
    _selectors.clear()
    _threads = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class _Stop:
    """Stops the loop when the run's task is done: only a task cancelled before it started calls
    this (``_stopping`` removes it otherwise), whose run's coroutine is then closed unstarted."""

    __slots__ = ("loop", "coro", "task")

    def __init__(self, loop, coro):
        self.loop, self.coro, self.task = loop, coro, None

    def __call__(self, _task) -> None:
        self.coro.close()
        self.loop.stop()


async def _stopping(coro, loop, stop: _Stop):
    try:
        return await coro
    finally:
        stop.task.remove_done_callback(stop)
        loop.stop()


def _close_all() -> None:
    for loop in _loops:
        if loop.is_running() or loop.is_closed():
            continue  # a daemon thread still inside a run at exit
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
