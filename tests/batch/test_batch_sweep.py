"""`orc batch` on a real Dask LocalCluster of worker processes; one worker is killed mid-batch."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from batchkit import NOTEBOOK, ORC, calls, run_orc, sql

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

GRID = """
params: {model: "scripted:echo"}
grid:
  topic: [tides, comets, volcanoes, eclipses]
  audience: [children, experts]
items:
  - {topic: auroras, audience: pilots}
  - {topic: geysers, audience: pilots}
  - {topic: glaciers, audience: pilots}
  - {topic: monsoons, audience: pilots}
"""


def _check_accounted(batch_id: str) -> list[tuple]:
    items = sql("SELECT nb_run_id, item_index, status, attempts, output_path FROM notebook_runs WHERE batch_id = ? "
                "ORDER BY item_index", [batch_id])
    assert [i[1] for i in items] == list(range(12))
    assert all(os.path.exists(i[4]) for i in items if i[2] == "succeeded")
    return items


def test_twelve_items_on_three_worker_processes(headless_env, tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    proc = run_orc("batch", NOTEBOOK, "--grid", tmp_path / "grid.yaml", "--workers", "3", "--approval", "auto",
                   timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "a local Dask cluster of 3 worker processes" in proc.stderr
    assert "12/12 done · 12 succeeded · 0 failed · 0 waiting" in proc.stderr              # the live summary
    (batch_id, status, succeeded, failed), = sql("SELECT batch_id, status, succeeded, failed FROM batches")
    assert (status, succeeded, failed) == ("done", 12, 0)
    assert f"batch {batch_id}: 12 items · 12 succeeded" in proc.stdout                  # the final table
    items = _check_accounted(batch_id)
    assert {i[2] for i in items} == {"succeeded"} and {i[3] for i in items} == {1}
    runs = sql("SELECT r.nb_run_id, r.status, r.inputs FROM runs r JOIN notebook_runs n USING (nb_run_id) "
               "WHERE n.batch_id = ?", [batch_id])
    assert len(runs) == 12 and {r[1] for r in runs} == {"succeeded"}
    assert len({r[0] for r in runs}) == 12                                              # one run per item
    topics = sorted(json.loads(r[2])["topic"] for r in runs)
    assert topics.count("tides") == 2 and topics.count("monsoons") == 1
    assert sql("SELECT count(*) FROM llm_calls") == [(24,)] and len(calls(headless_env["log"])) == 24
    assert sql("SELECT count(DISTINCT host), count(*) FROM batch_attempts") == [(1, 12)]
    workers = {w for (w,) in sql("SELECT worker FROM notebook_runs")}
    assert len(workers) >= 2                                                            # really in parallel
    assert not (Path(tempfile.gettempdir()) / f"orc-batch-{batch_id}").exists()       # attempt folders removed


def _worker_mid_pipeline(batch: psutil.Process) -> psutil.Process | None:
    """A Dask worker process (a child of `orc batch`) whose item's pipeline has started: its
    attempt folder names the worker's pid, and its journal holds the run's first steps."""
    workers = {c.pid: c for c in batch.children()}
    for meta in Path(tempfile.gettempdir()).glob("orc-batch-*/*/*/attempt.json"):
        try:
            pid = json.loads(meta.read_text())["pid"]
            journals = list((meta.parent / "orc.journal").glob("*.jsonl"))
            if pid in workers and any(b'"step_id":"outline"' in j.read_bytes() for j in journals):
                return workers[pid]
        except (OSError, ValueError, KeyError):
            continue
    return None


def test_killing_a_worker_mid_batch_still_accounts_for_every_item(headless_env, tmp_path, monkeypatch):
    (tmp_path / "grid.yaml").write_text(GRID)
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {match: List three key facts, delay: 2.0}\n")   # slow items: the kill lands mid-item
    monkeypatch.setenv("ORC_SCRIPT", str(rules))
    log = headless_env["log"]
    batch = subprocess.Popen(ORC + ["batch", str(NOTEBOOK), "--grid", str(tmp_path / "grid.yaml"), "--workers", "3",
                                    "--approval", "auto"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        parent = psutil.Process(batch.pid)
        deadline = time.time() + 600
        victim = None
        while time.time() < deadline and victim is None and batch.poll() is None:
            victim = _worker_mid_pipeline(parent) if len(calls(log)) >= 3 else None   # some items done
            time.sleep(0.1)
        assert victim is not None, "no worker ever got busy"
        victim.send_signal(signal.SIGKILL)
        out, err = batch.communicate(timeout=900)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 0, out + err
    (batch_id,), = sql("SELECT batch_id FROM batches")
    items = _check_accounted(batch_id)
    assert {i[2] for i in items} == {"succeeded"}                          # the killed item was run again
    assert max(i[3] for i in items) == 2                                  # ...and shows its two attempts
    runs = sql("SELECT nb_run_id, status, error FROM runs")
    per_item = {}
    for nb, status, error in runs:
        per_item.setdefault(nb, []).append((status, error))
    assert len(per_item) == 12
    assert all(sum(s == "succeeded" for s, _ in v) == 1 for v in per_item.values())   # nothing double-counted
    crashed = [e for v in per_item.values() for s, e in v if s == "failed"]
    assert crashed and all("orc resume" in e for e in crashed)            # the dead attempt's run is recorded
    salvaged = sql("SELECT status, runs FROM batch_attempts WHERE salvaged")
    assert len(salvaged) >= len(crashed) and all(s.startswith("salvaged: ") for s, _ in salvaged)
    assert sum(n for _, n in salvaged) == len(crashed)
    assert f"recorded {len(salvaged)} attempt" in err
    attempts = sql("SELECT sum(attempts) FROM notebook_runs")[0][0]
    assert attempts == 12 + len(salvaged)                                 # every attempt is accounted
