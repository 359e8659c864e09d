"""Is anyone watching? Decides between live widgets and plain text progress.

- ``ORC_HEADLESS=1`` (set by ``orc notebook`` / ``orc batch``): text, never wait for a click.
- ``ORC_HEADLESS=0``: widgets, trusted without checking.
- No kernel (terminal IPython, a plain ``InteractiveShell``): text.
- Otherwise probe: a widget displayed with ``_view_count = 0`` gets 1 from JupyterLab (or any
  widget frontend) within about a second; under papermill/nbclient it stays 0. ``ViewProbe``
  turns that into a future that says True (watched) or False (headless) after ``timeout``.
  Once a kernel has only ever missed (papermill), later probes wait less; a view seen even
  late restores the full wait.
"""
from __future__ import annotations

import asyncio
import os

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
DEFAULT_TIMEOUT = 3.0
REPEAT_TIMEOUT = 0.75
_history = {"seen": False, "missed": False}    # this kernel's probes so far


def headless_env() -> bool | None:
    value = (os.environ.get("ORC_HEADLESS") or "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return None


def kernel_of(shell):
    return getattr(shell, "kernel", None)


def display_mode(shell) -> str:
    """"text", "widgets" (trusted) or "probe" (widgets until the probe says nobody watches)."""
    env = headless_env()
    if env is True or kernel_of(shell) is None:
        return "text"
    if env is False:
        return "widgets"
    return "probe"


def probe_timeout(configured: float | None = None) -> float:
    timeout = DEFAULT_TIMEOUT if configured is None else configured
    value = os.environ.get("ORC_VIEW_TIMEOUT")
    if value:
        try:
            timeout = max(0.0, float(value))
        except ValueError:
            pass
    if _history["missed"] and not _history["seen"]:
        timeout = min(timeout, REPEAT_TIMEOUT)
    return timeout


class ViewProbe:
    """Watches a displayed widget's ``_view_count``; ``result`` is True once a view exists."""

    def __init__(self, widget, timeout: float):
        self.widget = widget
        loop = asyncio.get_running_loop()
        self.result: asyncio.Future = loop.create_future()
        self.late_view = False
        widget._view_count = 0
        widget.observe(self._changed, names="_view_count")
        self._timer = loop.call_later(timeout, self._expire)

    def _changed(self, change) -> None:
        if (change.get("new") or 0) >= 1:
            _history["seen"] = True
            if self.result.done():
                self.late_view = True
            else:
                self.result.set_result(True)
                self._timer.cancel()

    def _expire(self) -> None:
        if not self.result.done():
            _history["missed"] = True
            self.result.set_result(False)

    def close(self) -> None:
        self._timer.cancel()
        try:
            self.widget.unobserve(self._changed, names="_view_count")
        except ValueError:
            pass
        if not self.result.done():
            self.result.set_result(False)
