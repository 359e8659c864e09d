"""A tool call waiting for approval in the JupyterLab sidebar (its card shows the tool and its
arguments); after Approve and `orc resume`, the run view lists the run's tool calls."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from test_lab_extension import SIDEBAR, open_lab, orc, run_row, store_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PIPELINE = """name: saver
steps:
  - id: save
    model: scripted:echo
    tools: [write_file]
    approve_tools: [write_file]
    prompt: Save the note
"""
SCRIPT = """
- match: "wrote note.txt"
  reply: "Saved."
- match: "Save the note"
  reply: {tool_calls: [{name: write_file, arguments: {path: note.txt, content: hello from the model}}]}
"""


def test_a_tool_approval_in_the_sidebar_and_the_tool_calls_in_the_run_view(lab, browser):
    with open(lab.env["ORC_SCRIPT"], "a") as f:
        f.write(SCRIPT)
    (lab.root / "saver.yaml").write_text(PIPELINE)
    first = orc(lab, "run", "saver.yaml", "--approval", "defer")
    assert first.returncode == 3, first.stderr
    (run,) = store_runs(lab, "saver")
    page = open_lab(lab, browser)
    card = page.locator(f'{SIDEBAR} .jp-orc-approval[data-run-id="{run["run_id"]}"][data-step="save"]')
    expect(card).to_contain_text("Allow the tool call write_file?")
    expect(card).to_contain_text("hello from the model")
    card.locator(".jp-orc-approve").click()
    expect(card).to_have_count(0)
    assert orc(lab, "resume", run["run_id"]).returncode == 0
    assert (lab.root / "note.txt").read_text() == "hello from the model"
    row = run_row(page, run["run_id"])
    expect(row).to_have_attribute("data-status", "succeeded")
    row.click()
    table = page.locator(".jp-orc-runview[data-status='succeeded'] .jp-orc-tool-calls")
    expect(table).to_contain_text("write_file")
    expect(table).to_contain_text("wrote note.txt (20 bytes)")
    expect(table).to_contain_text("approved")
