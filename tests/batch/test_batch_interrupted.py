"""`orc batch` killed with kill -9 mid-batch: nothing finished is lost, the batch is not left
`running`, and `orc batch --resume` runs only the items that did not finish. Real Dask workers,
real kernels, the real CLI, a real store."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time

import psutil
import pytest

from batchkit import ORC, calls, run_orc, sql, write_notebook

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

CELLS = (
    "%load_ext orchestrator_nb\nimport os, time",
    '%%orc one -p n="$n"\nname: one\ninputs:\n  n: {type: integer}\nsteps:\n'
    "  - id: say\n    model: scripted:echo\n    prompt: item {{ inputs.n }}\n",
    # the first time an item runs it naps; run again, it does not
    'first = not os.path.exists(os.path.join(marks, f"slept-{n}"))\n'
    'open(os.path.join(marks, f"slept-{n}"), "w").close()\ntime.sleep(nap if first else 0)',
    'open(os.path.join(marks, f"done-{n}"), "w").close()',
)


def _wait(what, check, proc=None, timeout=120):
    deadline = time.time() + timeout
    while not check():
        assert proc is None or proc.poll() is None, f"orc batch ended before {what}: {proc.communicate()}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kill_9_of_orc_batch_loses_nothing_and_resume_runs_the_rest(headless_env, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    write_notebook(tmp_path / "sweep.ipynb", 'n = 0\nnap = 0.0\nmarks = ""\n', *CELLS)
    (tmp_path / "grid.yaml").write_text(f"params: {{marks: '{marks}'}}\nitems:\n  - {{n: 0, nap: 0}}\n"
                                        "  - {n: 1, nap: 60}\n")
    err = open(tmp_path / "batch.err", "w+")
    proc = subprocess.Popen(ORC + ["batch", "sweep.ipynb", "--grid", "grid.yaml", "--workers", "2", "--approval",
                                   "auto", "--timeout", "90"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait("the batch's first line", lambda: "batch " in (tmp_path / "batch.err").read_text(), proc)
        batch_id = re.search(r"batch (\w{12}):", (tmp_path / "batch.err").read_text()).group(1)
        root = tempfile.gettempdir() + f"/orc-batch-{batch_id}"
        _wait("both items on a worker", lambda: os.path.isdir(root) and len(os.listdir(root)) == 2, proc)
        # freeze `orc batch` (and the scheduler inside it): item 0 finishes on its worker with
        # nobody to take the result; item 1 makes its pipeline run, then naps; then kill -9
        family = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGSTOP)
        _wait("item 0 to finish and item 1 to nap", lambda: (marks / "done-0").exists() and
              (marks / "slept-1").exists())
        time.sleep(2)                                         # item 0's worker records its outcome
        proc.kill()
        proc.wait()
        psutil.wait_procs(family, timeout=60)                 # its workers and their kernels follow it
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sql("SELECT status FROM batches") == [("running",)]
    assert sql("SELECT count(*) FROM runs") == [(0,)]                # nothing was taken in before the kill

    # the next orc command (here one that then fails at once) takes in what the workers left
    other = run_orc("notebook", "--resume", "ffffffff", cwd=tmp_path)
    assert other.returncode == 2
    assert (f"batch {batch_id} was interrupted (its orc process ended): 1 of 2 items finished and are recorded; "
            f"`orc batch --resume {batch_id}` runs the other 1") in other.stderr, other.stderr
    assert sql("SELECT status FROM batches") == [("interrupted",)]
    items = sql("SELECT item_index, status, error, output_path FROM notebook_runs ORDER BY 1")
    assert items[0][1] == "succeeded" and os.path.exists(items[0][3])           # its output notebook too
    assert items[1][1] == "failed" and f"orc batch --resume {batch_id}" in items[1][2]
    assert sorted(sql("SELECT r.status, n.item_index FROM runs r JOIN notebook_runs n USING (nb_run_id)")) == \
        [("succeeded", 0), ("succeeded", 1)]                                   # item 1's run before the kill
    assert not os.path.exists(root)

    done = run_orc("batch", "--resume", batch_id[:6], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"batch {batch_id}: 1 unfinished item again" in done.stderr, done.stderr
    assert re.search(rf"batch {batch_id}: 2 items · 2 succeeded", done.stdout), done.stdout
    assert sql("SELECT status FROM batches") == [("done",)]
    assert sql("SELECT item_index, status, resumes FROM notebook_runs ORDER BY 1") == \
        [(0, "succeeded", 0), (1, "succeeded", 1)]
    prompts = sorted(c["prompt"].strip() for c in calls(headless_env["log"]))
    assert prompts == ["item 0", "item 1", "item 1"]                             # item 0 never ran again

    again = run_orc("batch", "--resume", batch_id, cwd=tmp_path)
    assert again.returncode == 0 and "every item finished; nothing to resume" in again.stderr, again.stderr
