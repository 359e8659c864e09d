"""Approval clicks in a real kernel: while the cell still runs ("Run All"), after it returned
(--background), Request changes, decisions from elsewhere, and headless kernels."""
from __future__ import annotations

import time

import pytest

from kernelkit import store_rows

pytestmark = pytest.mark.kernel

PIPELINE = '''%%orc planner
name: planner
steps:
  - id: outline
    model: scripted:echo
    prompt: Outline the topic {{ topic }}
  - id: review
    approval: Is the outline right?
    show: "{{ steps.outline.output }}"
  - id: draft
    needs: [review]
    model: scripted:echo
    output: markdown
    prompt: Draft an article from {{ steps.outline.output }}
'''


def test_click_while_the_cell_is_still_executing_then_later_cells_see_the_result(kernel, tmp_path):
    kernel.run("topic = 'tides'")
    cell = kernel.execute(PIPELINE)
    after = kernel.execute("print('DRAFT:', planner['draft'][:7], planner.status)")   # queued, like Run All
    approve = kernel.find("ButtonModel", description="Approve")
    assert not kernel.done(cell) and not kernel.done(after)           # the cell is still executing
    kernel.click(approve)
    assert kernel.reply(cell)["status"] == "ok"
    assert kernel.reply(after)["status"] == "ok"
    assert "DRAFT: # Tides succeeded" in kernel.text(after)
    rows = store_rows(tmp_path, "SELECT decision, mode, round FROM approvals")
    assert rows == [("approved", "interactive", 1)]
    assert store_rows(tmp_path, "SELECT status FROM runs") == [("succeeded",)]
    frozen = [m["content"]["data"].get("text/html", "") for m in kernel.outputs(cell)
              if m["msg_type"] == "update_display_data"]      # the notebook keeps a static copy
    assert frozen and "orc-snapshot" in frozen[-1] and "approved" in frozen[-1]


def test_click_after_the_cell_returned(kernel, tmp_path):
    kernel.run("topic = 'tides'")
    started = time.monotonic()
    out = kernel.run(PIPELINE.replace("%%orc planner", "%%orc planner --background"))
    assert time.monotonic() - started < 5
    assert "background" in out
    assert "running" in kernel.run("print(planner.status)")
    kernel.click(kernel.find("ButtonModel", description="Approve"))
    out = kernel.run("r = await planner\nprint(r.status, type(r).__name__, planner['draft'][:7], planner.status)")
    assert "succeeded RunResult # Tides succeeded" in out


def test_request_changes_regenerates_the_step_and_asks_again(kernel, tmp_path):
    kernel.run("topic = 'tides'")
    cell = kernel.execute(PIPELINE)
    approve = kernel.find("ButtonModel", description="Approve")
    first = kernel.find("ButtonModel", description="Request changes")
    comment = kernel.find("TextareaModel")
    kernel.click(first)        # without a comment: refused on the card, nothing decided
    kernel.wait(0.5)
    assert not kernel.done(cell)
    assert any("Write what to change" in str(m.get("value")) for m in kernel.models.values())
    kernel.type_into(comment, "mention the Sun as well")
    kernel.click(first)
    second = kernel.find("ButtonModel", description="Approve", timeout=20, exclude={approve})
    assert not kernel.done(cell)
    kernel.click(second)
    assert kernel.reply(cell)["status"] == "ok"
    out = kernel.run("print(planner.status, planner['outline'])")
    assert out.startswith("succeeded") and "mention the Sun as well" in out
    assert store_rows(tmp_path, "SELECT decision, comment, mode, round FROM approvals ORDER BY round") == [
        ("changes_requested", "mention the Sun as well", "interactive", 1), ("approved", None, "interactive", 2)]
    attempts = store_rows(tmp_path, "SELECT max(attempt) FROM steps WHERE step_id = 'outline'")
    assert attempts == [(2,)]


def test_a_decision_made_elsewhere_releases_the_waiting_cell(kernel, tmp_path):
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import decide, pending_approvals

    kernel.run("topic = 'tides'")
    cell = kernel.execute(PIPELINE)
    kernel.find("ButtonModel", description="Approve")
    store = Store(tmp_path / ".orc" / "orc.duckdb")
    deadline = time.monotonic() + 10
    while not pending_approvals(store) and time.monotonic() < deadline:
        time.sleep(0.1)
    run_id = pending_approvals(store)[0]["run_id"]
    decide(store, run_id, "review", "approve", "fine from the shell", "tester", "cli")
    assert kernel.reply(cell, timeout=10)["status"] == "ok"
    assert any("from the command line" in str(m.get("value")) for m in kernel.models.values())
    assert store_rows(tmp_path, "SELECT decision, mode FROM approvals") == [("approved", "cli")]
    assert store_rows(tmp_path, "SELECT status FROM runs") == [("succeeded",)]


def test_headless_kernel_never_waits_for_a_click(kernel_factory, tmp_path):
    k = kernel_factory(frontend=False, ORC_VIEW_TIMEOUT="1")
    k.run("topic = 'tides'")
    started = time.monotonic()
    out = k.run(PIPELINE, timeout=20)
    assert time.monotonic() - started < 10
    assert "waiting for approval" in out and "%orc approve" in out
    assert "review               waiting" in out or "review" in out
    assert store_rows(tmp_path, "SELECT status FROM runs") == [("waiting",)]
