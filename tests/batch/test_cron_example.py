"""The cron example of docs/batch.md, run as written: a waiting run is finished the next night."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from batchkit import REPO, calls, run_orc, sql

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def _script() -> str:
    doc = (REPO / "docs" / "batch.md").read_text()
    m = re.search(r"`/srv/explainer/nightly\.sh`.*?```bash\n(.*?)```", doc, re.S)
    assert m, "the cron script is missing from docs/batch.md"
    return m.group(1)


def test_the_cron_script_defers_then_finishes_what_was_approved(headless_env, tmp_path):
    script = tmp_path / "nightly.sh"
    script.write_text(_script())
    (tmp_path / "notebooks").symlink_to(REPO / "notebooks")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"   # `orc` as installed
    env = dict(os.environ, ORC_MODEL="scripted:echo", PATH=path)

    night1 = subprocess.run(["bash", str(script)], env=dict(env, TOPIC="tides"), capture_output=True, text=True,
                            timeout=600)
    assert night1.returncode == 0, night1.stdout + night1.stderr
    assert "tonight's run waits for approval" in night1.stdout
    (first, run_id), = sql("SELECT nb_run_id, run_id FROM runs")
    assert run_orc("approve", run_id, "review").returncode == 0

    night2 = subprocess.run(["bash", str(script)], env=dict(env, TOPIC="comets"), capture_output=True, text=True,
                            timeout=600)
    assert night2.returncode == 0, night2.stdout + night2.stderr
    rows = dict(sql("SELECT nb_run_id, status FROM notebook_runs"))
    assert rows.pop(first) == "succeeded" and list(rows.values()) == ["waiting"]   # finished; tonight's waits
    assert sql("SELECT resumes FROM notebook_runs WHERE nb_run_id = ?", [first]) == [(1,)]
    reports = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert len(reports) == 2 and all(re.match(r"\d{4}-\d\d-\d\d-\w{12}\.ipynb", r) for r in reports)
    prompts = [c["prompt"] for c in calls(headless_env["log"])]
    assert len(prompts) == 3 and len(set(prompts)) == 3                  # nothing asked twice
