"""Which process a pid is: its start time, so a pid the system gave to another process since is
not taken for the one we knew (a cancel must not signal a stranger; a dead server is dead).

Linux reads ``/proc/<pid>/stat``; elsewhere a start time is unknown (None) and only whether the
pid exists can be told.
"""
from __future__ import annotations

import os
import time

from ..store.journal import pid_alive

SLACK = 2.0  # seconds: clock ticks, and the wall clock set a little since


def started(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None (gone, or not knowable here)."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            stat = f.read()
        ticks = int(stat.rsplit(b")", 1)[1].split()[19])  # field 22: start time, in ticks after boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.time() - age


def same_process(pid: int | None, start: float | None) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` (None: it exists at all)."""
    if not pid or not pid_alive(pid):
        return False
    if start is None:
        return True
    now = started(pid)
    return now is None or abs(now - start) <= SLACK
