"""The example notebooks in a real JupyterLab (headless chromium): Run All works with live widgets,
no cell shows an error, and the flagship's approval gates are clicked in the page. Screenshots go
to docs/screenshots/notebook-0N.png (shown in the README and docs/)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "docs" / "screenshots"
# notebook -> the text of the cell shown in its screenshot
SHOTS = {"01-quickstart": "%%orc tides", "03-batch-and-papermill": "%%orc explainer",
         "04-providers-and-routing": "%%orc routed", "05-exploring-results": "fig, (ax1, ax2)",
         "06-research-with-tools": "%orc run research --out again"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from orchestrator_nb.testing.lab import Browser
    with Browser(tmp_path_factory.mktemp("chromium"), viewport=(1280, 1000)) as b:
        yield b


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from orchestrator_nb.testing.lab import Lab
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".orc", "out", "project*"))
    with Lab(root, env={"ORC_DB": str(root / "orc.duckdb")}) as server:
        yield server


def _cell_index(nb, text: str) -> int:
    """The index of the first cell whose input holds ``text``."""
    cells = nb.cells()
    for i in range(cells.count()):
        editor = cells.nth(i).locator(".jp-InputArea-editor")
        if editor.count() and text in editor.first.inner_text():
            return i
    raise LookupError(f"no cell with {text!r} in {nb.path}")


def _run_all_approving(nb, timeout: float = 300) -> int:
    """Run All; approve every gate that shows its buttons (a notebook may wait for a click).
    Returns how many gates were approved."""
    import time
    nb.run_all()
    deadline, clicks = time.monotonic() + timeout, 0
    busy_js = ("() => [...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.textContent.includes('*'))"
               " || window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status !== 'idle'")
    nb.page.wait_for_timeout(1000)
    while time.monotonic() < deadline:
        button = nb.page.locator(".orc-approval button:not([disabled])", has_text="Approve")
        if button.count():
            button.first.click()
            clicks += 1
            nb.page.wait_for_timeout(500)
        elif not nb.page.evaluate(busy_js):
            nb.wait_idle(timeout=30)
            return clicks
        else:
            nb.page.wait_for_timeout(500)
    raise TimeoutError(f"{nb.path} still running after {timeout:.0f} s")


def _errors(nb) -> list[str]:
    return nb.page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] .jp-RenderedText,"
                           " .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").all_inner_texts()


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_notebook_runs_in_jupyterlab(lab, browser, name):
    nb = lab.open(browser, f"notebooks/{name}.ipynb?reset")      # ?reset: only this notebook is open
    _run_all_approving(nb)
    errors = [e for e in _errors(nb) if "Traceback" in e or "Error" in e]
    assert not errors, errors
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    nb.screenshot_cell(_cell_index(nb, SHOTS[name]), SCREENSHOTS / f"notebook-{name[:2]}.png")
    nb.page.close()


def test_flagship_notebook_gates_are_clicked_in_the_page(lab, browser):
    nb = lab.open(browser, "notebooks/02-project-orchestrator.ipynb?reset")
    page = nb.page
    nb.run_all()
    # the last cell runs the built-in pipeline with the default policy `ask`: its gates are cards
    approve = page.locator(".orc-approval button:not([disabled])", has_text="Approve")
    approve.first.wait_for(timeout=300_000)
    card = page.locator(".orc-approval").last
    assert "Is this analysis right?" in card.inner_text() and "Goals" in card.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    nb.screenshot_cell(_cell_index(nb, "%%orc flagship"), SCREENSHOTS / "notebook-02.png")
    approve.first.click()
    plan = page.locator(".orc-approval", has_text="Is this plan right?")
    plan.locator("button:not([disabled])", has_text="Approve").first.wait_for(timeout=120_000)
    plan.locator("button:not([disabled])", has_text="Approve").first.click()
    nb.wait_idle(timeout=300)
    assert not [e for e in _errors(nb) if "Traceback" in e]
    folder = lab.root / "notebooks" / "out" / "project-buttons"
    assert (folder / "plan.md").is_file() and (folder / "project.json").is_file()
    assert list((folder / "stories").glob("*.md"))
