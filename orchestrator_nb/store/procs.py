"""Which process a pid is: its start time, so a pid the system gave to another process since is
not taken for the one we knew (a cancel must not signal a stranger; a dead server is dead).

Linux reads ``/proc/<pid>/stat``; elsewhere a start time is unknown (None) and only whether the
pid exists can be told.
"""
from __future__ import annotations

import os
import socket
import time

HOST = socket.gethostname()

# seconds: clock ticks, and the wall clock stepped since (NTP); a pid comes back only after the
# system has handed out all the others, far later than this
SLACK = 60.0


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


def pid_alive(pid) -> bool:
    """Is there a process with this id on this host? (Unknown -> assume yes.)"""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True


def same_process(pid: int | None, start: float | None) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` (None: it exists at all)."""
    if not pid or not pid_alive(pid):
        return False
    if start is None:
        return True
    now = started(pid)
    return now is None or abs(now - start) <= SLACK


def not_the_run(journal_dir, run_id: str, pid: int) -> str | None:
    """Why process ``pid`` is not the one running ``run_id`` on this host, or None if it is.

    A run's process journals it (``<run>.<host>.<pid>.<n>.jsonl``) from its start until the run
    ends, so the run's own process has such a file, and started before its last write. A pid the
    system gave to another process since (or a row from another machine's store) has neither."""
    prefix = f"{run_id}.{HOST}.{int(pid)}."
    try:
        names = [n for n in os.listdir(journal_dir) if n.startswith(prefix) and n.endswith(".jsonl")]
        last = max((os.stat(os.path.join(journal_dir, n)).st_mtime for n in names), default=None)
    except OSError:
        names, last = [], None
    if last is None:
        return f"process {pid} on this machine keeps no journal of this run"
    start = started(pid)
    if start is not None and start > last + SLACK:
        return f"process {pid} started after the run's last record (the run's own process has ended)"
    return None
