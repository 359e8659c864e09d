"""The JupyterLab extension in a real JupyterLab and Debian's chromium (Python Playwright).

- a headless run deferred at an approval shows in the sidebar as waiting; Approve there, then
  `orc resume` finishes it;
- a live notebook run shows its steps changing state in the sidebar;
- a live notebook run waiting at an approval continues when Approve is clicked in the sidebar;
- a `%%orc` cell is highlighted as YAML (checked through the editor's token classes and colours).

Screenshots go to docs/screenshots/lab-*.png (shown in the README and docs/).
"""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from orchestrator_nb.testing.lab import write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDEBAR = "#orchestrator-nb-sidebar"

REVIEWED = """\
name: release-notes
description: Draft release notes, have a person check them, publish.
prices:
  "scripted:writer": {input: 3000, output: 15000}
steps:
  - id: draft
    model: scripted:writer
    system: You write crisp release notes.
    prompt: Draft release notes for version 2.0 (faster runs, a JupyterLab sidebar).
  - id: review
    approval: Are these release notes ready to publish?
    show: "{{ steps.draft.output }}"
  - id: publish
    needs: [review]
    write: {path: "out/{{ run.id }}/NOTES.md", content: "{{ steps.draft.output }}"}
"""

LIVE_CELL = """\
%%orc live-essay --approval auto
name: live-essay
prices:
  "scripted:writer": {input: 2000, output: 8000}
steps:
  - id: gather
    model: scripted:writer
    prompt: Gather facts about tides, slowly
  - id: outline
    model: scripted:writer
    prompt: "Outline slowly: {{ steps.gather.output }}"
  - id: polish
    model: scripted:writer
    prompt: "Polish slowly: {{ steps.outline.output }}"
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

SETUP_CELL = """\
%load_ext orchestrator_nb
from orchestrator_nb.providers.scripted import script
# every prompt saying "slowly" takes 3 s, so the sidebar can watch each step run
script([{"match": "slowly", "reply": "Tides follow the moon.", "delay": 3},
        {"match": "Pitch", "reply": "Runs you can watch. Approvals you can click."}])
"""


# -- helpers on top of orchestrator_nb.testing.lab (fixtures `lab`, `browser` in conftest.py) ----

def settle_focus(page, quiet_ms: int = 1000) -> None:
    """Wait until the focused element has stayed the same for ``quiet_ms``."""
    page.wait_for_function(f"""() => {{
        const now = performance.now(), active = document.activeElement;
        if (window.orcLastActive !== active) {{ window.orcLastActive = active; window.orcActiveSince = now; }}
        return now - window.orcActiveSince >= {quiet_ms};
    }}""", polling=100, timeout=30_000)


def open_lab(lab, browser, notebook: str | None = None):
    """A page with JupyterLab (and ``notebook`` open, its kernel idle) and the Orchestrator sidebar shown."""
    return lab.open_sidebar(browser, notebook)


def run_all(page) -> None:
    """Queue every cell of the current notebook and return at once (cells may wait for clicks)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")


def orc(lab, *args):
    """`orc ...` in another process, on the lab's store, from its root folder."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "orchestrator_nb", *args], cwd=lab.root, env=lab.env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


def run_row(page, run_id: str):
    return page.locator(f'{SIDEBAR} .jp-orc-run[data-run-id="{run_id}"]')


def store_runs(lab, pipeline: str) -> list[dict]:
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import list_runs
    return list_runs(Store(lab.env["ORC_DB"]), pipeline=pipeline)


def test_deferred_run_is_waiting_in_the_sidebar_and_approve_lets_orc_resume_finish_it(lab, browser):
    (lab.root / "release.yaml").write_text(REVIEWED)
    done = orc(lab, "run", "release.yaml", "--approval", "defer")
    assert done.returncode == 3, done.stderr  # waiting for approval
    (run,) = store_runs(lab, "release-notes")
    run_id = run["run_id"]

    page = open_lab(lab, browser)
    row = run_row(page, run_id)
    expect(row).to_have_attribute("data-status", "waiting")
    expect(row.locator('.jp-orc-step-chip[data-step="review"]')).to_have_attribute("data-status", "waiting")
    expect(row.locator('.jp-orc-step-chip[data-step="publish"]')).to_have_attribute("data-status", "pending")
    card = page.locator(f'{SIDEBAR} .jp-orc-approval[data-run-id="{run_id}"][data-step="review"]')
    expect(card).to_contain_text("Are these release notes ready to publish?")
    expect(card).to_contain_text("Draft release notes")  # the `show` content, rendered
    card.locator(".jp-orc-approve").click()
    expect(card).to_have_count(0)  # decided: gone from the pending list

    from orchestrator_nb.store import Store
    with Store(lab.env["ORC_DB"]).connect() as con:
        decisions = con.execute("SELECT decision, mode FROM approvals WHERE run_id = ?", [run_id]).fetchall()
    assert decisions == [("approved", "ui")]

    resumed = orc(lab, "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    expect(row).to_have_attribute("data-status", "succeeded")
    expect(row.locator('.jp-orc-step-chip[data-step="publish"]')).to_have_attribute("data-status", "succeeded")
    assert (lab.root / "out" / run_id / "NOTES.md").exists()

    row.click()  # the run view
    view = page.locator(".jp-orc-runview[data-status='succeeded']")
    expect(view).to_be_visible()
    expect(view.locator(".jp-orc-timeline-row")).to_have_count(3)
    expect(view.locator('.jp-orc-chart-row[data-step="draft"]')).to_have_count(1)
    view.locator("details[data-key='step:draft'] > summary").click()
    call = view.locator("details[data-key='step:draft'] details[data-key^='call:']")
    call.locator("summary").click()
    expect(call.locator(".jp-orc-msg-system")).to_contain_text("You write crisp release notes.")
    expect(call.locator(".jp-orc-msg-response")).to_contain_text("Draft release notes")
    expect(view.locator(".jp-orc-decisions")).to_contain_text("review round 1: approved by ui:")


def test_request_changes_in_the_sidebar_regenerates_the_draft_on_resume(lab, browser):
    (lab.root / "release.yaml").write_text(REVIEWED)
    assert orc(lab, "run", "release.yaml", "--approval", "defer").returncode == 3
    (run,) = store_runs(lab, "release-notes")
    run_id = run["run_id"]
    page = open_lab(lab, browser)
    card = page.locator(f'{SIDEBAR} .jp-orc-approval[data-run-id="{run_id}"]')
    expect(card).to_contain_text("round 1")
    card.locator(".jp-orc-request-changes").click()
    comment = card.locator(".jp-orc-comment")
    expect(comment).to_be_visible()
    card.locator(".jp-orc-send-changes").click()  # no comment yet: refused in the page
    expect(card.locator(".jp-orc-error")).to_contain_text("Write what should change first.")
    comment.fill("Mention the 30% faster runs.")
    card.locator(".jp-orc-send-changes").click()
    expect(card).to_have_count(0)

    again = orc(lab, "resume", run_id)
    assert again.returncode == 3, again.stderr  # the draft was regenerated; the reviewer is asked again
    expect(card).to_contain_text("round 2")
    from orchestrator_nb.store import Store
    with Store(lab.env["ORC_DB"]).connect() as con:
        prompts = [r[0] for r in con.execute("SELECT request::VARCHAR FROM llm_calls WHERE run_id = ? "
                                             "ORDER BY created_at", [run_id]).fetchall()]
        decisions = con.execute("SELECT decision, mode, comment FROM approvals WHERE run_id = ?",
                                [run_id]).fetchall()
    assert len(prompts) == 2 and "Mention the 30% faster runs." in prompts[1]
    assert decisions == [("changes_requested", "ui", "Mention the 30% faster runs.")]
    card.locator(".jp-orc-reject").click()  # asks first
    page.locator(".jp-Dialog").get_by_role("button", name="Reject").click()
    expect(card).to_have_count(0)
    ended = orc(lab, "resume", run_id)
    assert ended.returncode == 1, ended.stderr
    expect(run_row(page, run_id)).to_have_attribute("data-status", "failed")


def test_a_live_notebook_run_shows_its_steps_changing_state(lab, browser, screenshots):
    write_notebook(lab.root / "live.ipynb", [SETUP_CELL, LIVE_CELL])
    page = open_lab(lab, browser, "live.ipynb")
    run_all(page)

    seen: list[dict] = []
    deadline = time.monotonic() + 180  # kernel start + three 3 s steps, on a busy machine
    while time.monotonic() < deadline:
        snap = page.evaluate("""() => {
            const row = Array.from(document.querySelectorAll('#orchestrator-nb-sidebar .jp-orc-run'))
                .find(r => r.querySelector('.jp-orc-run-pipeline').textContent === 'live-essay');
            if (!row) return null;
            const steps = {};
            row.querySelectorAll('.jp-orc-step-chip').forEach(c => steps[c.dataset.step] = c.dataset.status);
            return {run: row.dataset.status, steps};
        }""")
        if snap and (not seen or seen[-1] != snap):
            seen.append(snap)
        if snap and snap["run"] == "succeeded":
            break
        page.wait_for_timeout(250)
    outputs = page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts()
    assert seen and seen[-1] == {"run": "succeeded",
                                 "steps": {"gather": "succeeded", "outline": "succeeded", "polish": "succeeded"}}, \
        (seen, outputs, lab.log()[-2000:])
    # while it ran, the sidebar showed a step running with later steps still pending, then moving on
    assert any(s["run"] == "running" and "running" in s["steps"].values() and "pending" in s["steps"].values()
               for s in seen), seen
    running = [next(k for k, v in s["steps"].items() if v == "running") for s in seen
               if "running" in s["steps"].values()]
    assert len(set(running)) >= 2, seen  # at least two different steps were seen running, one after another
    order = ["gather", "outline", "polish"]
    assert running == sorted(running, key=order.index), seen

    page.locator(f"{SIDEBAR} .jp-orc-run", has_text="live-essay").click()  # its run view
    view = page.locator(".jp-orc-runview[data-status='succeeded']")
    expect(view.locator(".jp-orc-timeline-row[data-status='succeeded']")).to_have_count(3)
    expect(view.locator(".jp-orc-chart-row")).to_have_count(3)  # each step made one priced call
    expect(view.locator(".jp-orc-run-head a", has_text="live.ipynb")).to_have_count(1)  # opens the notebook
    view.locator("details[data-key='step:outline'] > summary").click()
    call = view.locator("details[data-key='step:outline'] details[data-key^='call:']")
    call.locator("summary").click()
    expect(call.locator(".jp-orc-msg-user")).to_contain_text("Outline slowly: Tides follow the moon.")
    expect(call.locator(".jp-orc-msg-response")).to_contain_text("Tides follow the moon.")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "lab-run.png"))


def test_approve_in_the_sidebar_releases_a_live_notebook_run(lab, browser, screenshots):
    write_notebook(lab.root / "pitch.ipynb", [SETUP_CELL, APPROVAL_CELL])
    page = open_lab(lab, browser, "pitch.ipynb")
    run_all(page)
    card = page.locator(f'{SIDEBAR} .jp-orc-approval[data-step="check"]')
    expect(card).to_contain_text("Send this pitch?", timeout=60_000)
    expect(card).to_contain_text("live")
    expect(card).to_contain_text("Runs you can watch.")
    (run,) = store_runs(lab, "pitch")
    assert run["status"] == "running"  # the cell is still waiting for a decision in the kernel
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "lab-sidebar.png"))
    card.locator(".jp-orc-approve").click()
    row = run_row(page, run["run_id"])
    expect(row).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(row.locator('.jp-orc-step-chip[data-step="send"]')).to_have_attribute("data-status", "succeeded")
    (run,) = store_runs(lab, "pitch")
    assert run["status"] == "succeeded"


def test_orc_cells_are_highlighted_as_yaml(lab, browser, screenshots):
    write_notebook(lab.root / "yaml.ipynb", ["import os\nsteps = {'name': 'x', 'id': 3}\n", LIVE_CELL])
    page = open_lab(lab, browser, "yaml.ipynb")
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    python, orc_cell = cells.nth(0), cells.nth(1)
    expect(orc_cell.locator(".cm-content .tok-keyword").first).to_have_text("%%orc")
    keys = orc_cell.locator(".cm-content .tok-atom")
    expect(keys.first).to_have_text("name")
    key_texts = [t.strip() for t in keys.all_text_contents()]
    assert {"name", "prices", "steps", "id", "model", "prompt"} <= set(key_texts), key_texts
    expect(orc_cell.locator(".cm-content .tok-string").first).to_contain_text("Outline slowly")
    expect(orc_cell.locator(".cm-content .tok-meta").first).to_contain_text("live-essay --approval auto")
    # the theme's YAML colours: keys in the atom colour, not the text colour
    colours = page.evaluate("""() => {
        const probe = document.createElement('span');
        probe.style.color = 'var(--jp-mirror-editor-atom-color)';
        document.body.appendChild(probe);
        const atom = getComputedStyle(probe).color;
        probe.remove();
        const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
        const key = cells[1].querySelector('.cm-content .tok-atom');
        return {atom, key: getComputedStyle(key).color,
                text: getComputedStyle(cells[1].querySelector('.cm-content')).color};
    }""")
    assert colours["key"] == colours["atom"] != colours["text"], colours
    assert python.locator(".cm-content [class*='tok-']").count() == 0  # other cells keep Python
    top, bottom = python.bounding_box(), orc_cell.bounding_box()
    page.screenshot(path=str(screenshots / "lab-yaml.png"), clip={
        "x": top["x"], "y": top["y"] - 6, "width": top["width"],
        "height": bottom["y"] + bottom["height"] - top["y"] + 12})

    # typing the magic into a cell makes it YAML; removing it gives Python back
    python.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("%%orc\n")
    expect(python.locator(".cm-content .tok-atom").first).to_have_text("steps = {'name'")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+End")
    page.keyboard.press("Backspace")
    expect(python.locator(".cm-content [class*='tok-']")).to_have_count(0)


def test_the_sidebar_keeps_focus_selection_and_place_across_refreshes(lab, browser, make_runs):
    make_runs(lab, "tick", 12)
    page = open_lab(lab, browser)
    page.set_viewport_size({"width": 1280, "height": 520})  # shorter than the list: it scrolls
    rows = page.locator(f"{SIDEBAR} .jp-orc-run")
    expect(rows).to_have_count(12)
    run_id = rows.nth(5).get_attribute("data-run-id")
    target = run_row(page, run_id)
    settle_focus(page)  # JupyterLab focuses its launcher a moment after the page is restored
    target.locator(".jp-orc-run-open").focus()  # the row's button, as Tab would reach it
    page.evaluate("""() => {
        const sidebar = document.querySelector('#orchestrator-nb-sidebar');
        window.orcFocused = document.activeElement;
        const cell = sidebar.querySelectorAll('.jp-orc-run')[7].querySelector('.jp-orc-run-id');
        const range = document.createRange();
        range.selectNodeContents(cell);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        window.orcSelected = cell;
        sidebar.scrollTop = 120;
    }""")
    assert page.evaluate("() => window.orcFocused.classList.contains('jp-orc-run-open')")
    selected = page.evaluate("() => getSelection().toString()")
    top = target.bounding_box()["y"]
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/orc/api/runs?" in r.url else None)

    make_runs(lab, "tock", 1)  # a new run: the next refresh puts a row above the others
    expect(rows).to_have_count(13)
    expect(rows.first).to_contain_text("tock")
    deadline = time.monotonic() + 60
    while len(polls) < 4 and time.monotonic() < deadline:  # and a few refreshes more
        page.wait_for_timeout(250)
    assert len(polls) >= 4, polls

    state = page.evaluate("""() => ({
        same: document.activeElement === window.orcFocused && window.orcFocused.isConnected,
        row: document.activeElement.closest('.jp-orc-run')?.dataset.runId,
        selection: getSelection().toString(),
        selectedCell: getSelection().rangeCount > 0 && getSelection().getRangeAt(0).startContainer === window.orcSelected,
    })""")
    assert state == {"same": True, "row": run_id, "selection": selected, "selectedCell": True}, state
    assert abs(target.bounding_box()["y"] - top) <= 1  # the row did not jump (the browser kept the scroll anchored)

    page.keyboard.press("Enter")  # the focused button opens its run
    expect(page.locator(f".jp-orc-runview .jp-orc-facts", has_text=run_id)).to_be_visible()
