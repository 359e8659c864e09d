"""The notebook front-end in a real JupyterLab, driven through headless chromium: live
progress, an approval clicked in the page while "Run All" waits, rendered outputs."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser


def _store_rows(root, sql):
    from orchestrator_nb.store import Store
    with Store(root / ".orc" / "orc.duckdb").connect() as con:
        return con.execute(sql).fetchall()


def test_run_all_progress_approve_and_rendered_outputs(lab, browser, lab_root, screenshots):
    started = time.monotonic()
    nb = lab.open(browser, "demo.ipynb")
    page = nb.page
    nb.run_all()

    run = page.locator(".orc-run").first
    run.wait_for(timeout=60_000)
    page.wait_for_selector(".orc-run tr[data-status='running']", timeout=30_000)     # a step is running
    first = run.locator(".orc-status").inner_text()
    nb.screenshot_cell(3, screenshots / "notebook-progress.png")

    approve = page.get_by_role("button", name="Approve")
    approve.wait_for(timeout=60_000)
    assert "waiting" in run.locator(".orc-status").inner_text()
    assert "2/4 steps" in run.inner_text() or "3/4 steps" in run.inner_text()      # progress moved
    assert "running" in first
    card = page.locator(".orc-approval")
    assert "Is this outline right?" in card.inner_text() and "Why the Moon matters" in card.inner_text()
    assert "[*]" in nb.cells().nth(4).locator(".jp-InputArea-prompt").inner_text()   # Run All waits behind it
    nb.screenshot_cell(3, screenshots / "notebook-approval.png")

    approve.click()
    nb.wait_idle(timeout=60)
    assert "succeeded | # Tides" in nb.output_text(4)                 # the next cell saw the finished run
    result = page.locator(".orc-result")
    assert result.locator("h1", has_text="Tides").count() == 1        # markdown rendered
    assert result.locator("table.orc-table th", has_text="model").count() >= 1
    assert result.locator("svg.orc-dag .orc-node").count() == 4
    assert result.locator("details", has_text="claims").count() >= 1  # JSON tree
    assert "approved" in card.inner_text()
    assert "planner" in nb.output_text(5) and "succeeded" in nb.output_text(5)   # %orc runs
    nb.screenshot_cell(3, screenshots / "notebook-result.png")
    assert _store_rows(lab_root, "SELECT decision, mode FROM approvals") == [("approved", "interactive")]
    print(f"open + run all + approve + render: {time.monotonic() - started:.1f}s")


def test_request_changes_in_the_page_brings_the_card_back(lab, browser, lab_root, screenshots):
    nb = lab.open(browser, "demo.ipynb")
    page = nb.page
    nb.run_all()
    page.get_by_role("button", name="Request changes").wait_for(timeout=60_000)
    page.get_by_role("button", name="Request changes").click()
    page.get_by_text("Write what to change in the comment first").wait_for(timeout=10_000)
    page.locator(".orc-approval textarea[placeholder^='Comment']").fill("Mention the Sun as well")
    page.get_by_role("button", name="Request changes").click()
    page.locator(".orc-approval").nth(1).wait_for(timeout=60_000)
    second = page.locator(".orc-approval").nth(1)
    second.get_by_role("button", name="Approve").wait_for(timeout=60_000)
    assert "round 2" in second.inner_text() and "The Moon and the Sun" in second.inner_text()
    nb.screenshot_cell(3, screenshots / "notebook-changes.png")
    second.get_by_role("button", name="Approve").click()
    nb.wait_idle(timeout=60)
    assert "succeeded | # Tides" in nb.output_text(4)
    assert _store_rows(lab_root, "SELECT round, decision, comment FROM approvals ORDER BY round") == [
        (1, "changes_requested", "Mention the Sun as well"), (2, "approved", None)]
