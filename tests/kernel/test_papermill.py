"""The browser test's notebook, executed headless by papermill: it finishes (policy auto) or
ends `waiting` (policy defer), never hangs, and the output notebook reads as text progress."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator_nb.testing.lab import notebook_text

pytestmark = pytest.mark.kernel
DEMO = Path(__file__).resolve().parents[1] / "browser"


@pytest.mark.parametrize("env, status", [
    ({"ORC_APPROVAL": "auto"}, "succeeded"),
    ({}, "waiting"),                                           # default headless policy: defer
    ({"ORC_HEADLESS": "1", "ORC_APPROVAL": "defer"}, "waiting"),   # as `orc notebook` runs it
])
def test_papermill_runs_the_demo_notebook_headless(tmp_path, env, status):
    shutil.copy(DEMO / "demo.ipynb", tmp_path / "demo.ipynb")
    shutil.copy(DEMO / "demo_script.yaml", tmp_path / "script.yaml")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("ORC_")}
    run_env.update(ORC_DB=str(tmp_path / ".orc" / "orc.duckdb"), ORC_SCRIPT=str(tmp_path / "script.yaml"), **env)
    papermill = Path(sys.executable).with_name("papermill")
    started = time.monotonic()
    proc = subprocess.run([str(papermill), "demo.ipynb", "out.ipynb", "-k", "python3", "-p", "topic", "neap tides",
                           "--execution-timeout", "60"], cwd=tmp_path, env=run_env, capture_output=True, text=True,
                          timeout=180)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = notebook_text(tmp_path / "out.ipynb")
    for line in ("· pipeline planner", "outline              running", "outline              succeeded",
                 "review               waiting for approval: Is this outline right?"):
        assert line in text, text
    assert f"{status} | {'# Tides' if status == 'succeeded' else ''}" in text
    assert "VBox(" not in text and "FloatProgress(" not in text        # no widget fallbacks in the output
    if status == "waiting":
        assert "%orc approve" in text and "draft" in text
    else:
        assert "draft                succeeded" in text
    from orchestrator_nb.store import Store
    with Store(tmp_path / ".orc" / "orc.duckdb").connect() as con:
        runs = con.execute("SELECT status FROM runs").fetchall()
        asked = con.execute("SELECT request::VARCHAR FROM llm_calls WHERE step_id = 'outline'").fetchall()
    assert runs == [(status,)]
    assert "neap tides" in asked[0][0]                  # the papermill parameter reached the template
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    assert "parameters" in nb["cells"][1]["metadata"]["tags"]
    print(f"papermill {env or 'default'}: {status} in {took:.1f}s")
