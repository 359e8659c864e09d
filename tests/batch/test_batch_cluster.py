"""`orc batch --cluster`: the same sweep sent to a separate Dask scheduler and worker processes,
whose temporary folder is not the client's; items wait for approval and one is finished later."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchkit import NOTEBOOK, calls, run_orc, sql

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

BIN = Path(sys.executable).parent


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and a worker (2 processes, 1 thread each) started with the `dask` command."""
    sched_file = tmp_path / "scheduler.json"
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    common = ["--scheduler-file", str(sched_file), "--no-dashboard"]
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--port", "0", *common],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.time() + 120
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        worker = subprocess.Popen([str(BIN / "dask"), "worker", "--nworkers", "2", "--nthreads", "1", *common],
                                  env=dict(os.environ, TMPDIR=str(worker_tmp)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        address = json.loads(sched_file.read_text())["address"]
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
        yield {"address": address, "worker_tmp": worker_tmp}
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_a_sweep_on_a_remote_scheduler_waits_then_an_item_is_finished(headless_env, tmp_path, cluster):
    (tmp_path / "grid.yaml").write_text("- {topic: tides}\n- {topic: comets}\n- {topic: eclipses}\n"
                                        "- {topic: geysers}\n")
    proc = run_orc("batch", NOTEBOOK, "--grid", tmp_path / "grid.yaml", "--cluster", cluster["address"],
                   "-p", "model=scripted:echo", timeout=900)
    assert proc.returncode == 3, proc.stdout + proc.stderr                       # items wait for approval
    assert f"on the Dask cluster at {cluster['address']}" in proc.stderr
    assert "4 item(s) wait for approval" in proc.stdout
    assert sql("SELECT cluster, waiting FROM batches") == [(cluster["address"], 4)]
    items = sql("SELECT nb_run_id, status, output_path FROM notebook_runs ORDER BY item_index")
    assert [i[1] for i in items] == ["waiting"] * 4 and all(os.path.exists(i[2]) for i in items)
    assert not list(cluster["worker_tmp"].glob("orc-batch-*"))                 # cleaned up on the worker

    nb_run_id = items[1][0]
    (run_id,), = sql("SELECT run_id FROM runs WHERE nb_run_id = ?", [nb_run_id])
    assert run_orc("approve", run_id, "review").returncode == 0
    done = run_orc("notebook", "--resume", nb_run_id)                          # here, on the shipped records
    assert done.returncode == 0, done.stdout + done.stderr
    assert sql("SELECT status FROM runs WHERE run_id = ?", [run_id]) == [("succeeded",)]
    assert sql("SELECT status FROM notebook_runs WHERE nb_run_id = ?", [nb_run_id]) == [("succeeded",)]
    prompts = [c["prompt"] for c in calls(headless_env["log"])]
    assert len(prompts) == 5 and len(set(prompts)) == 5                         # 4 outlines, 1 explain
    assert re.search(r"explain comets", prompts[-1])
