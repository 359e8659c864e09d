"""Blocking work awaited from the event loop, each call in a daemon thread of its own.

``asyncio.to_thread`` runs work in the loop's default executor, whose threads are joined when
``asyncio.run`` ends and when the interpreter exits: a step (or tool) that overran its timeout and
is still spinning held up the run's end, and the process's exit, for ever. Here a timeout abandons
the thread (Python cannot stop one: it runs on until its function returns, in a kernel too; use
`isolation: process` to have runaway code killed), and nothing waits for it.
"""
from __future__ import annotations

import asyncio
import contextvars
import threading


async def in_thread(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a daemon thread, awaited (in this context's copy)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    context = contextvars.copy_context()

    def work():
        try:
            result = context.run(fn, *args, **kwargs)
        except GeneratorExit:  # the function's own: in the awaiting task it would read as a closing coroutine
            _settle(loop, done, None, RuntimeError("GeneratorExit raised in a thread"))
        except BaseException as e:  # handed to the task that awaits it
            _settle(loop, done, None, e)
        else:
            _settle(loop, done, result, None)

    threading.Thread(target=work, name=f"orc-{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await done


def _settle(loop, done, result, error) -> None:
    def settle():
        if not done.done():  # the awaiting task may have timed out or been cancelled meanwhile
            if error is None:
                done.set_result(result)
            else:
                done.set_exception(error)
    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop has closed: nobody waits for this any more
        pass
