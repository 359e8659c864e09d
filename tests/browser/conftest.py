"""Fixtures for browser tests: a JupyterLab (or Notebook 7) server per test (own root dir, store
and scripted models) and one headless chromium per module. Reusable by any browser test:

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
def notebook7(lab_root, request):
    """Jupyter Notebook 7 (`jupyter notebook`) on a free port, like `lab`."""
    from orchestrator_nb.testing.lab import Notebook7
    env = {"ORC_DB": str(lab_root / ".orc" / "orc.duckdb"), "ORC_SCRIPT": str(lab_root / "demo_script.yaml")}
    env.update(getattr(request, "param", None) or {})
    with Notebook7(lab_root, env=env) as server:
        yield server


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


MAKE_RUNS = """\
import sys
import orchestrator_nb as orc
name, db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
pipeline = {"name": name, "steps": [{"id": "count", "code": "output = 1"},
                                    {"id": "double", "needs": ["count"], "code": "output = 2"}]}
for _ in range(count):
    assert orc.run(pipeline, db=db, outdir="out").status == "succeeded"
"""


@pytest.fixture
def make_runs():
    """``make_runs(server, "tick", 3)``: that many finished runs of a two-step code pipeline in the
    server's store, made by another process through the public API (as a user's script would)."""
    import subprocess
    import sys

    def make(server, name: str, count: int = 1) -> None:
        done = subprocess.run([sys.executable, "-c", MAKE_RUNS, name, server.env["ORC_DB"], str(count)],
                              cwd=server.root, env=server.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    return make
