"""Fixtures for browser tests: a JupyterLab server per test (own root dir, store and scripted
models) and one headless chromium per session. Reusable by any browser test:

    def test_x(lab, browser):
        nb = lab.open(browser, "some.ipynb")
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # module scope: Playwright's sync API marks an event loop as running in this thread while it
    # is open, which would break asyncio.run() in the tests collected after these
    from orchestrator_nb.testing.lab import Browser
    with Browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b


@pytest.fixture
def lab_root(tmp_path):
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(HERE / "demo.ipynb", root / "demo.ipynb")
    shutil.copy(HERE / "demo_script.yaml", root / "demo_script.yaml")
    return root


@pytest.fixture
def lab(lab_root, request):
    """JupyterLab on a free port; kernels get the store and the scripted models of this test."""
    from orchestrator_nb.testing.lab import Lab
    env = {"ORC_DB": str(lab_root / ".orc" / "orc.duckdb"), "ORC_SCRIPT": str(lab_root / "demo_script.yaml")}
    env.update(getattr(request, "param", None) or {})
    with Lab(lab_root, env=env) as server:
        yield server


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
