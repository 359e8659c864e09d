"""Every example notebook in notebooks/ runs top to bottom under nbval (`pytest --nbval-lax`): cells
must not raise, and cells marked `# NBVAL_CHECK_OUTPUT` must print what the notebook shows.

Each runs in a scratch copy of notebooks/ with its own store, headless (as in CI: no widget
frontend), with no API keys. A notebook with recorded model answers
(notebooks/recordings/<name>.jsonl) runs with ORC_MODE=replay: a prompt that changed without
re-recording (`python tests/notebooks/record.py`) fails here instead of calling a model.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


def notebook_env(store: Path, replay: bool) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ORC_") and not k.endswith(("_API_KEY", "_API_TOKEN"))}
    env.update({"ORC_DB": str(store), "ORC_HEADLESS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
    if replay:
        env["ORC_MODE"] = "replay"
    return env


def test_every_example_notebook_is_checked():
    assert {p.stem for p in ALL} >= {"01-quickstart", "02-project-orchestrator", "04-providers-and-routing",
                                     "05-exploring-results", "06-research-with-tools"}


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", ALL, ids=[p.stem for p in ALL])
def test_notebook_runs_top_to_bottom(notebook, tmp_path):
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns(".orc", "out", "project*", ".ipynb_checkpoints"))
    replay = (NOTEBOOKS / "recordings" / f"{notebook.stem}.jsonl").exists()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q",
         "--nbval-cell-timeout", "600", notebook.name],
        cwd=work, env=notebook_env(tmp_path / "orc.duckdb", replay), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{notebook.name} failed under nbval:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout
    # what the notebook wrote next to itself is ignored by git (out/, .orc/): no stray files in a checkout
    new = [f"notebooks/{p.relative_to(work).as_posix()}" for p in work.rglob("*")
           if p.is_file() and not (NOTEBOOKS / p.relative_to(work)).exists()]
    if new:
        ignored = subprocess.run(["git", "check-ignore", "--no-index", *new], cwd=NOTEBOOKS.parent,
                                 capture_output=True, text=True).stdout.split()
        assert sorted(set(new) - set(ignored)) == [], f"{notebook.name} left files that git would show"
