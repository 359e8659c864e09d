"""`orc notebook` options that outlive the first run (--approval, --timeout on --resume) and a
cell past --timeout: real kernels, the real CLI, a real store."""
from __future__ import annotations

import re

import pytest

from batchkit import run_orc, sql, write_notebook

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

FLAKY_THEN_GATED = (
    'import os\nif not os.path.exists(marker):  # fails once, as a flaky network does\n'
    '    open(marker, "w").close()\n    raise RuntimeError("transient")',
    "%load_ext orchestrator_nb",
    "%%orc gated\nname: gated\nsteps:\n  - id: draft\n    model: scripted:echo\n    prompt: hello\n"
    "  - id: review\n    approval: Is the draft right?\n",
    "import time\ntime.sleep(30)",
)


def test_a_cell_past_timeout_is_one_line_naming_it(headless_env, tmp_path):
    nb = write_notebook(tmp_path / "slow.ipynb", "nap = 30\n", "import time\ntime.sleep(nap)")
    done = run_orc("notebook", nb, "--timeout", "1", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "ZMQ" not in done.stderr and "Timeout waiting" not in done.stderr, \
        done.stderr
    assert "error: cell In [2] (import time): CellTimeoutError: ran longer than --timeout 1 s" in done.stdout, \
        done.stdout
    assert sql("SELECT status, exit_code FROM notebook_runs") == [("failed", 1)]


def test_resume_keeps_the_first_runs_approval_and_timeout(headless_env, tmp_path):
    nb = write_notebook(tmp_path / "flaky.ipynb", f'marker = "{tmp_path / "tried"}"\n', *FLAKY_THEN_GATED)
    first = run_orc("notebook", nb, "--approval", "auto", "--timeout", "2", cwd=tmp_path)
    assert first.returncode == 1 and "RuntimeError: transient" in first.stdout, first.stdout + first.stderr
    (nb_run_id,), = sql("SELECT nb_run_id FROM notebook_runs")

    again = run_orc("notebook", "--resume", nb_run_id, cwd=tmp_path)
    assert "· --approval auto --timeout 2 (as recorded" in again.stderr, again.stderr
    # the gate is approved as the first run would have (not left waiting: exit 3), and the
    # 30-second cell stops at the first run's 2-second limit
    assert sql("SELECT status FROM runs") == [("succeeded",)]
    assert sql("SELECT decision, mode FROM approvals") == [("approved", "auto")]
    assert again.returncode == 1 and re.search(r"cell In \[\d\] \(import time\): CellTimeoutError: ran longer than "
                                               r"--timeout 2 s", again.stdout), again.stdout + again.stderr

    # an option given again wins, and is what the next resume uses
    third = run_orc("notebook", "--resume", nb_run_id, "--timeout", "1", "-q", cwd=tmp_path)
    assert third.returncode == 1 and "--timeout 1 s" in third.stdout, third.stdout + third.stderr
    fourth = run_orc("notebook", "--resume", nb_run_id, cwd=tmp_path)
    assert "· --approval auto --timeout 1 (as recorded" in fourth.stderr and "--timeout 1 s" in fourth.stdout
    assert sql("SELECT status, resumes FROM notebook_runs") == [("failed", 3)]
