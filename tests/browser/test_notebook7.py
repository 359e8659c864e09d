"""The extension in Jupyter Notebook 7 (`jupyter notebook`), in Debian's chromium.

Notebook 7 has no JupyterLab shell: the Orchestrator panel goes to its left side panel, reached
from the View menu or the command palette, and a run opens in the right side panel.

- on the file browser page, View > Orchestrator Runs shows runs from the store (one waiting at an
  approval); a click on a run shows its steps;
- on a notebook's page, a live `%%orc` run waiting for approval continues when Approve is
  clicked in the panel.

Screenshots go to docs/screenshots/notebook7-*.png.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orchestrator_nb.testing.lab import write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDEBAR = "#orchestrator-nb-sidebar"

REVIEWED = """\
name: release-notes
prices:
  "scripted:writer": {input: 3000, output: 15000}
steps:
  - id: draft
    model: scripted:writer
    prompt: Draft release notes for version 2.0 (faster runs, a Notebook 7 panel).
  - id: review
    approval: Are these release notes ready to publish?
    show: "{{ steps.draft.output }}"
  - id: publish
    needs: [review]
    code: "output = 'published'"
"""

SETUP_CELL = """\
%load_ext orchestrator_nb
from orchestrator_nb.providers.scripted import script
script([{"match": "Pitch", "reply": "Runs you can watch. Approvals you can click."}])
"""

APPROVAL_CELL = """\
%%orc pitch --approval ask
name: pitch
steps:
  - id: draft
    model: scripted:writer
    prompt: Pitch the feature in two sentences
  - id: check
    approval: Send this pitch?
    show: "{{ steps.draft.output }}"
  - id: send
    needs: [check]
    code: "output = 'sent: ' + steps['draft']"
"""


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


def orc(server, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "orchestrator_nb", *args], cwd=server.root, env=server.env,
                          capture_output=True, text=True, timeout=120)


def wait_app(page) -> None:
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                           ".hasCommand('orchestrator-nb:show-runs')", timeout=90_000)
    page.evaluate("() => window.jupyterapp.restored")


def store_runs(server, pipeline: str) -> list[dict]:
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import list_runs
    return list_runs(Store(server.env["ORC_DB"]), pipeline=pipeline)


def test_the_view_menu_opens_the_panel_with_the_stores_runs(notebook7, browser, make_runs, screenshots):
    make_runs(notebook7, "nightly-report", 2)
    (notebook7.root / "release.yaml").write_text(REVIEWED)
    assert orc(notebook7, "run", "release.yaml", "--approval", "defer").returncode == 3  # waiting
    (waiting,) = store_runs(notebook7, "release-notes")

    page = browser.new_page()
    page.goto(notebook7.url("tree"))
    wait_app(page)
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    expect(page.locator(SIDEBAR)).to_be_hidden()
    page.locator("#menu-panel .lm-MenuBar-item", has_text="View").click()
    page.locator(".lm-Menu-item", has_text="Orchestrator Runs").click()

    sidebar = page.locator(SIDEBAR)
    expect(sidebar).to_be_visible()
    row = sidebar.locator(f'.jp-orc-run[data-run-id="{waiting["run_id"]}"]')
    expect(row).to_have_attribute("data-status", "waiting")
    expect(row.locator('.jp-orc-step-chip[data-step="review"]')).to_have_attribute("data-status", "waiting")
    expect(sidebar.locator(".jp-orc-run", has_text="nightly-report")).to_have_count(2)
    card = sidebar.locator(f'.jp-orc-approval[data-run-id="{waiting["run_id"]}"]')
    expect(card).to_contain_text("Are these release notes ready to publish?")
    expect(card).to_contain_text("Draft release notes")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook7-sidebar.png"))

    row.locator(".jp-orc-run-open").click()  # the run opens in the right side panel
    view = page.locator("#jp-right-stack .jp-orc-runview[data-status='waiting']")
    expect(view).to_be_visible()
    expect(view.locator(".jp-orc-timeline-row")).to_have_count(3)
    expect(view.locator(".jp-orc-facts")).to_contain_text(waiting["run_id"])
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook7-run.png"))


def test_approve_in_the_panel_releases_a_live_run_on_a_notebook_page(notebook7, browser, screenshots):
    write_notebook(notebook7.root / "pitch.ipynb", [SETUP_CELL, APPROVAL_CELL])
    nb = notebook7.open(browser, "pitch.ipynb")
    page = nb.page
    wait_app(page)
    page.keyboard.press("Escape")  # command mode, where the palette's shortcut is bound
    page.keyboard.press("Control+Shift+C")  # the command palette
    page.keyboard.type("Orchestrator Runs")
    page.keyboard.press("Enter")
    expect(page.locator(SIDEBAR)).to_be_visible()

    nb.run_all()
    card = page.locator(f'{SIDEBAR} .jp-orc-approval[data-step="check"]')
    expect(card).to_contain_text("Send this pitch?", timeout=60_000)
    expect(card).to_contain_text("live")
    (run,) = store_runs(notebook7, "pitch")
    assert run["status"] == "running"  # the cell waits in the kernel for the decision
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "notebook7-approval.png"))
    card.locator(".jp-orc-approve").click()
    row = page.locator(f'{SIDEBAR} .jp-orc-run[data-run-id="{run["run_id"]}"]')
    expect(row).to_have_attribute("data-status", "succeeded", timeout=60_000)
    nb.wait_idle()
    assert "sent: Runs you can watch." in nb.output_text(1)
