"""A worker whose server dies without stopping it (kill -9) cancels its run by itself."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from orchestrator_nb.store import Store
from orchestrator_nb.store.control import queue_run, run_status
from orchestrator_nb.store.journal import pid_alive

LONG = "name: long\nsteps:\n  - id: nap\n    code: |\n      import time\n      time.sleep(60)\n      output = 1\n"

# stands in for the server: starts the worker as the server does, then waits to be killed
PARENT = """
import json, subprocess, sys, time
job = json.loads(sys.argv[1])
p = subprocess.Popen([sys.executable, "-m", "orchestrator_nb.server.worker"], stdin=subprocess.PIPE,
                     start_new_session=True)
p.stdin.write(json.dumps(job).encode()); p.stdin.close()
print(p.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_an_orphaned_worker_cancels_its_run(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    store = Store()
    queue_run(store, "orphan000001", pipeline="long", inputs={}, spec_text=LONG, spec_path=str(tmp_path / "long.yaml"),
              outdir=str(tmp_path), source="server", approval_policy="defer")
    job = {"action": "run", "run_id": "orphan000001", "db": str(store.path), "pipeline": str(tmp_path / "long.yaml")}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, json.dumps(job)], stdout=subprocess.PIPE, text=True,
                              cwd=tmp_path)
    worker = int(parent.stdout.readline())
    try:
        for _ in range(300):
            if run_status(store, "orphan000001")[0] == "running":
                break
            time.sleep(0.1)
        assert run_status(store, "orphan000001")[0] == "running"
        os.kill(parent.pid, signal.SIGKILL)  # the server dies without a word
        parent.wait()
        t0 = time.monotonic()
        while pid_alive(worker) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert not pid_alive(worker), "the worker outlived its server"
        assert time.monotonic() - t0 < 5
        assert run_status(store, "orphan000001") == ("cancelled", "cancelled (interrupted)")
    finally:
        for pid in (parent.pid, worker):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
