"""Runs a server left behind when it was killed (kill -9) while starting them: a run still
``pending`` is put back (resumable, with why), and a worker whose server died before it was even
up cancels its run instead of running it unsupervised."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from orchestrator_nb.server import owners
from orchestrator_nb.store.control import queue_run, run_status
from orchestrator_nb.store.journal import pid_alive

from test_run_control import LONG, post, wait_for


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def queue(store, tmp_path, run_id: str) -> None:
    (tmp_path / "long.yaml").write_text(LONG)
    queue_run(store, run_id, pipeline="long", inputs={}, spec_text=LONG, spec_path=str(tmp_path / "long.yaml"),
              outdir=str(tmp_path), source="server", approval_policy="defer")


def killed_server_owns(store, run_id: str) -> None:
    """Note run_id's owner as a server that has exited since (what kill -9 leaves)."""
    log_dir = store.path.with_name(store.path.stem + ".workers")
    owners.note(log_dir, run_id, None)
    path = log_dir / f"{run_id}.owner"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(data, server_pid=dead_pid())))


async def test_a_run_a_killed_server_left_pending_is_put_back_and_can_be_resumed(api, store, tmp_path, jp_root_dir):
    killed_server_owns(store, "leftbehind01")  # noted before it is queued, as a server does
    queue(store, tmp_path, "leftbehind01")
    owners.note(store.path.with_name(store.path.stem + ".workers"), "mine00000001", None)
    queue(store, tmp_path, "mine00000001")  # this server's own (alive): left alone

    runs = {r["run_id"]: r for r in (await api.get("runs"))["runs"]}
    assert runs["mine00000001"]["status"] == "pending"
    left = runs["leftbehind01"]
    assert left["status"] == "failed", left
    assert "stopped before its worker took it over" in left["error"] and "resume" in left["error"], left

    code, resumed = await post(api, "runs", "leftbehind", "resume")  # (a prefix, as everywhere)
    assert code == 202 and resumed["previous"] == "failed", resumed
    await wait_for(api, "leftbehind01", {"running"}, timeout=30)
    code, cancelled = await post(api, "runs", "leftbehind01", "cancel")
    assert code == 200 and cancelled["status"] == "cancelled", cancelled


async def test_resume_puts_back_a_run_left_pending_at_once(api, store, tmp_path):
    killed_server_owns(store, "leftbehind02")
    queue(store, tmp_path, "leftbehind02")
    code, resumed = await post(api, "runs", "leftbehind02", "resume")  # no listing in between
    assert code == 202 and resumed["previous"] == "failed", resumed
    await wait_for(api, "leftbehind02", {"running"}, timeout=30)
    code, cancelled = await post(api, "runs", "leftbehind02", "cancel")
    assert code == 200 and cancelled["status"] == "cancelled", cancelled


async def test_a_pending_run_no_server_owns_is_put_back_after_two_minutes(api, store, tmp_path):
    queue(store, tmp_path, "unowned00001")  # (queued by a version that noted no owner)
    queue(store, tmp_path, "unowned00002")
    with store.connect() as con:
        con.execute("UPDATE runs SET updated_at = updated_at - INTERVAL 3 MINUTE WHERE run_id = 'unowned00001'")
    runs = {r["run_id"]: r for r in (await api.get("runs"))["runs"]}
    assert runs["unowned00001"]["status"] == "failed" and "no server owns it" in runs["unowned00001"]["error"]
    assert runs["unowned00002"]["status"] == "pending"  # may still be starting


LEAVES = """
import json, subprocess, sys, os
job = json.loads(sys.argv[1])
p = subprocess.Popen([sys.executable, "-m", "orchestrator_nb.server.worker"], stdin=subprocess.PIPE,
                     stdout=open("worker.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
p.stdin.write(json.dumps(dict(job, server_pid=os.getpid())).encode()); p.stdin.close()
print(p.pid, flush=True)
os._exit(0)   # killed right after the 202, while its worker is still importing
"""


def test_a_worker_whose_server_died_while_it_started_cancels_its_run(tmp_path, store):
    queue(store, tmp_path, "orphan000002")
    job = {"action": "run", "run_id": "orphan000002", "db": str(store.path), "pipeline": str(tmp_path / "long.yaml")}
    out = subprocess.run([sys.executable, "-c", LEAVES, json.dumps(job)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=30)
    worker = int(out.stdout)
    try:
        t0 = time.monotonic()
        while pid_alive(worker) and time.monotonic() - t0 < 20:
            time.sleep(0.1)
        assert not pid_alive(worker), "the worker ran on without its server: " + (tmp_path / "worker.log").read_text()
        status, error = run_status(store, "orphan000002")
        assert status == "cancelled" and "the Jupyter server" in error and "stopped" in error, (status, error)
    finally:
        if pid_alive(worker):
            os.kill(worker, 9)
