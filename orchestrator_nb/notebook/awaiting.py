"""Letting a cell wait for a run without ever blocking the kernel.

A widget click reaches the kernel only while the kernel's event loop is free. So a ``%%orc``
cell must not block: it *awaits* the run. Two pieces make that work everywhere:

- ``transformer``: an IPython input transformer (run after IPython's own) that turns a
  ``%%orc`` cell - and a top-level ``%orc run|resume`` line - into ``await awaited(...)``.
  IPython then runs the cell as a coroutine on the kernel's loop (on a plain shell, on its own
  loop), so the run's progress, clicks and later cells ("Run All") all follow in order.
- ``wait_on_kernel``: awaits a run task. ipykernel 7 dispatches comm messages (clicks) while an
  async cell awaits; ipykernel 6 queues them behind the running cell, so there we pass comm
  messages from the kernel's queue to the comm manager ourselves while we wait. Execute
  requests stay queued, in order.
"""
from __future__ import annotations

import ast
import asyncio
import contextvars
import inspect
import re

AWAITED = contextvars.ContextVar("orc_awaited", default=False)

_HELPER = "__import__('orchestrator_nb.notebook.awaiting', fromlist=['awaited']).awaited"
_CELL = "get_ipython().run_cell_magic('orc', "
_LINE = re.compile(r"^(?P<lhs>[A-Za-z_][A-Za-z0-9_]*\s*=\s*)?get_ipython\(\)\.run_line_magic\('orc', (?P<arg>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)\s*$")
_RUNNING_SUBCOMMANDS = ("run", "resume")


async def awaited(call, *args):
    """Call a magic so that it gives back a coroutine, and await it (see ``AWAITED``)."""
    token = AWAITED.set(True)
    try:
        value = call(*args)
    finally:
        AWAITED.reset(token)
    if inspect.isawaitable(value):
        value = await value
    return value


def can_await(shell) -> bool:
    """Whether IPython will run a cell holding top-level ``await`` as a coroutine on asyncio."""
    try:
        from IPython.core.interactiveshell import _asyncio_runner
    except ImportError:  # pragma: no cover - very old IPython
        return False
    return bool(getattr(shell, "autoawait", False)) and shell.loop_runner is _asyncio_runner


def transformer(shell):
    """An ``input_transformers_post`` function for ``shell`` (see the module docstring)."""

    def orc_await(lines: list[str]) -> list[str]:
        if not lines or not can_await(shell):
            return lines
        changed = False
        out = []
        for line in lines:
            new = _rewrite(line)
            changed |= new is not line
            out.append(new)
        if not changed:
            return lines
        try:  # only hand IPython a cell that still compiles
            compile("".join(out), "<orc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError:
            return lines
        return out

    orc_await.orc_transformer = True
    return orc_await


def _rewrite(line: str) -> str:
    if line.startswith(_CELL):
        rest = line[len("get_ipython().run_cell_magic("):]
        return f"await {_HELPER}(get_ipython().run_cell_magic, {rest}"
    if "run_line_magic('orc'" not in line:
        return line
    m = _LINE.match(line)
    if not m:
        return line
    try:
        arg = ast.literal_eval(m["arg"])
    except (ValueError, SyntaxError):
        return line
    words = arg.split()
    if not words or words[0] not in _RUNNING_SUBCOMMANDS:
        return line
    lhs = m["lhs"] or ""
    end = "\n" if line.endswith("\n") else ""
    return f"{lhs}await {_HELPER}(get_ipython().run_line_magic, 'orc', {m['arg']}){end}"


def install(shell) -> None:
    uninstall(shell)
    shell.input_transformers_post.append(transformer(shell))


def uninstall(shell) -> None:
    shell.input_transformers_post[:] = [t for t in shell.input_transformers_post
                                        if not getattr(t, "orc_transformer", False)]


# waiting on a kernel ---------------------------------------------------------------------------
async def wait_on_kernel(task: asyncio.Future, kernel=None):
    """Await ``task``; meanwhile keep widget messages flowing on kernels that hold them back.

    Cancelling the caller (a kernel interrupt cancels the cell) cancels ``task`` too.
    """
    pump = None
    if kernel is not None and _needs_pump(kernel):
        pump = asyncio.get_running_loop().create_task(_pump(kernel), name="orc-comm-pump")
    try:
        return await task
    finally:
        if pump is not None:
            pump.cancel()


def _needs_pump(kernel) -> bool:
    """ipykernel < 7 queues every shell message (comms too) behind the executing cell."""
    queue = getattr(kernel, "msg_queue", None)
    return queue is not None and hasattr(queue, "_queue") and hasattr(kernel, "shell_handlers")


async def _pump(kernel, interval: float = 0.02) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            pump_once(kernel)
        except Exception as e:  # never let the pump break the wait; say so once
            kernel.log.warning("orchestrator-nb: could not pass widget messages on: %s", e)
            return


COMM_TYPES = ("comm_msg", "comm_close")


def pump_once(kernel) -> int:
    """Hand queued comm messages to their handlers; returns how many."""
    queue = kernel.msg_queue._queue
    handled = 0
    for entry in list(queue):
        dispatch, args = entry[-2], entry[-1]
        if getattr(dispatch, "__name__", None) != "dispatch_shell" or not args:
            continue
        frames = args[0]
        msg_type = _msg_type(kernel.session, frames)
        if msg_type not in COMM_TYPES:
            continue
        try:
            queue.remove(entry)
        except ValueError:  # taken meanwhile
            continue
        idents, msg = kernel.session.feed_identities(frames, copy=False)
        msg = kernel.session.deserialize(msg, content=True, copy=False)
        kernel.shell_handlers[msg_type](kernel.shell_stream, idents, msg)
        handled += 1
    return handled


def _msg_type(session, frames) -> str | None:
    """The message type, read from the header frame without consuming the signature."""
    try:
        _, parts = session.feed_identities(frames, copy=False)
        header = parts[1]
        data = header.bytes if hasattr(header, "bytes") else header
        return session.unpack(data).get("msg_type")
    except Exception:
        return None
