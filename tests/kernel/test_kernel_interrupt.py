"""Interrupting the kernel during a run: the run is recorded as cancelled within 2 s, the cell
says so in one line, and the kernel stays usable."""
from __future__ import annotations

import time

import pytest

from kernelkit import store_rows

pytestmark = pytest.mark.kernel

SLOW = """%%orc slow
- id: first
  python: time:time
- id: wait
  needs: [first]
  model: scripted:echo
  prompt: Slow please
"""


def _status(tmp_path):
    rows = store_rows(tmp_path, "SELECT status FROM runs")    # reading merges the kernel's journal
    return rows[0][0] if rows else None


def test_interrupt_marks_the_run_cancelled_within_two_seconds(kernel, tmp_path):
    cell = kernel.execute(SLOW)
    deadline = time.monotonic() + 20
    while _status(tmp_path) != "running" and time.monotonic() < deadline:
        kernel.wait(0.2)
    assert _status(tmp_path) == "running"
    kernel.wait(0.5)                      # well inside the 60 s model call
    interrupted = time.monotonic()
    kernel.km.interrupt_kernel()
    while _status(tmp_path) != "cancelled" and time.monotonic() - interrupted < 5:
        kernel.wait(0.05)
    took = time.monotonic() - interrupted
    assert _status(tmp_path) == "cancelled", _status(tmp_path)
    assert took < 2.0, took
    reply = kernel.reply(cell)
    assert reply["status"] == "error" and reply["ename"] == "RunCancelled"
    text = kernel.text(cell)
    assert "cancelled (kernel interrupted)" in text and "%orc resume" in text and "Traceback" not in text
    assert store_rows(tmp_path, "SELECT status FROM steps WHERE step_id = 'wait'") == [("cancelled",)]
    assert kernel.run("print(1 + 1)").strip() == "2"
    print(f"cancelled recorded {took:.2f}s after the interrupt")



def test_the_stop_button_cancels_the_run(kernel, tmp_path):
    cell = kernel.execute(SLOW)
    stop = kernel.find("ButtonModel", description="Stop")
    deadline = time.monotonic() + 20
    while _status(tmp_path) != "running" and time.monotonic() < deadline:
        kernel.wait(0.2)
    kernel.click(stop)
    reply = kernel.reply(cell, timeout=10)
    assert reply["status"] == "error" and reply["ename"] == "RunCancelled"
    assert "cancelled (stopped)" in kernel.text(cell)
    assert _status(tmp_path) == "cancelled"
    assert kernel.models[stop]["disabled"] is True


def test_interrupting_a_wait_for_a_background_run_leaves_the_run_going(kernel, tmp_path):
    kernel.run(SLOW.replace("%%orc slow", "%%orc slow --background"))
    cell = kernel.execute("await slow")
    deadline = time.monotonic() + 20
    while _status(tmp_path) != "running" and time.monotonic() < deadline:
        kernel.wait(0.2)
    kernel.km.interrupt_kernel()
    reply = kernel.reply(cell, timeout=10)
    assert reply["status"] == "error" and reply["ename"] == "WaitInterrupted"
    assert "goes on in the background" in kernel.text(cell)
    assert "running" in kernel.run("print(slow.status)")
    assert _status(tmp_path) == "running"
    kernel.run("slow.cancel()")
    deadline = time.monotonic() + 10
    while _status(tmp_path) != "cancelled" and time.monotonic() < deadline:
        kernel.wait(0.2)
    assert _status(tmp_path) == "cancelled"


def test_a_step_that_exits_or_interrupts_itself_leaves_the_kernel_alive(kernel, tmp_path):
    """sys.exit() in a step fails the step; a step raising KeyboardInterrupt cancels the run. Out of
    the run's task either one used to stop the event loop, and with it the kernel."""
    cell = kernel.execute("%%orc exits\n- id: a\n  code: |\n    import sys\n    sys.exit(3)\n")
    reply = kernel.reply(cell)
    assert "failed" in kernel.text(cell) and "sys.exit(3)" in kernel.text(cell), (reply, kernel.text(cell))
    cell = kernel.execute("%%orc interrupts\n- id: a\n  code: raise KeyboardInterrupt\n")
    reply = kernel.reply(cell)
    assert reply["status"] == "error" and reply["ename"] == "RunCancelled", reply
    assert kernel.km.is_alive() and kernel.run("print(2 + 2)").strip() == "4"
    assert store_rows(tmp_path, "SELECT pipeline, status FROM runs ORDER BY started_at") == [
        ("exits", "failed"), ("interrupts", "cancelled")]
