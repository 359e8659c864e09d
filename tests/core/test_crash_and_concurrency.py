"""Real processes: `kill -9` then `orc resume`; and one store used by several processes at once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ORC = [sys.executable, "-m", "orchestrator_nb"]


def orc(*args, env=None, check=True, timeout=120):
    proc = subprocess.run(ORC + list(args), capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode not in (0, 3):
        raise AssertionError(f"orc {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _env(tmp_path):
    env = dict(os.environ)
    env["ORC_DB"] = str(tmp_path / ".orc" / "orc.duckdb")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


@pytest.mark.slow
def test_kill_9_then_resume_never_repeats_finished_steps(tmp_path):
    log = tmp_path / "executions.log"
    steps = "".join(f"""
  - id: s{i}
    code: |
      import time
      open({str(log)!r}, "a").write("s{i}\\n")
      time.sleep(0.15)
      output = {i}
""" + (f"    needs: [s{i - 1}]\n" if i else "") for i in range(12))
    spec = tmp_path / "slow.yaml"
    spec.write_text("name: slow-chain\nsteps:" + steps)
    env = _env(tmp_path)
    proc = subprocess.Popen(ORC + ["run", str(spec), "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 5):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = log.read_text().splitlines()
    assert 5 <= len(before) < 12

    runs = json.loads(orc("runs", "--json", env=env).stdout)
    assert len(runs) == 1 and runs[0]["status"] == "failed"  # the dead writer is noticed
    run_id = runs[0]["run_id"]
    con = duckdb.connect(env["ORC_DB"], read_only=True)
    finished = {r[0] for r in con.execute("SELECT step_id FROM steps WHERE status = 'succeeded'").fetchall()}
    con.close()

    done = orc("resume", run_id, "-q", env=env)
    assert done.returncode == 0, done.stderr
    executions = log.read_text().splitlines()
    assert sorted(set(executions)) == sorted(f"s{i}" for i in range(12))
    for sid in finished:  # a step that had finished ran exactly once
        assert executions.count(sid) == 1, (sid, executions)
    # at most the one step in flight at the kill ran twice
    assert len(executions) - 12 <= 1
    show = json.loads(orc("show", run_id, "--json", env=env).stdout)
    assert show["run"]["status"] == "succeeded"


REPETITIONS = 20


@pytest.mark.slow
def test_many_processes_share_one_store_without_errors_or_lost_rows(tmp_path):
    """One process runs a 200-step pipeline, one lists and shows runs in a loop, one decides approvals."""
    env = _env(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("name: big\nsteps:\n" + "".join(
        f"  - id: s{i}\n    code: output = {i}\n" + (f"    needs: [s{i - 10}]\n" if i >= 10 else "")
        for i in range(200)))
    gate = tmp_path / "gate.yaml"
    gate.write_text("name: gate\nsteps:\n  - id: draft\n    code: output = 'x'\n  - id: ok\n    approval: ship?\n")

    reader = tmp_path / "reader.py"
    reader.write_text(f"""
import json, subprocess, sys, time
cmd = {ORC!r}
errors = 0
stop = time.time() + 60
while time.time() < stop:
    p = subprocess.run(cmd + ["runs", "--json", "--limit", "5"], capture_output=True, text=True)
    if p.returncode != 0:
        errors += 1; print(p.stderr, file=sys.stderr)
        continue
    runs = json.loads(p.stdout)
    if runs:
        q = subprocess.run(cmd + ["show", runs[0]["run_id"]], capture_output=True, text=True)
        errors += q.returncode != 0
        if q.returncode: print(q.stderr, file=sys.stderr)
    if open({str(tmp_path / 'done')!r}).read() == "yes":
        break
print(errors)
""")
    approver = tmp_path / "approver.py"
    approver.write_text(f"""
import json, subprocess, sys
cmd = {ORC!r}
ids = json.loads(sys.argv[1])
errors = 0
for rid in ids:
    p = subprocess.run(cmd + ["approve", rid, "ok", "-m", "fine"], capture_output=True, text=True)
    errors += p.returncode != 0
    if p.returncode: print(p.stderr, file=sys.stderr)
print(errors)
""")
    expected_big_steps = 0
    waiting = []
    total_errors = 0
    for rep in range(REPETITIONS):
        # two gated runs wait for the approver of this repetition
        ids = []
        for _ in range(2):
            out = orc("run", str(gate), "--json", "-q", "--approval", "defer", env=env)
            ids.append(json.loads(out.stdout.splitlines()[-1])["run_id"])
        waiting += ids
        (tmp_path / "done").write_text("no")
        rd = subprocess.Popen([sys.executable, str(reader)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        ap = subprocess.Popen([sys.executable, str(approver), json.dumps(ids)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        run = orc("run", str(big), "-q", env=env)
        assert run.returncode == 0, run.stderr
        expected_big_steps += 200
        a_out, a_err = ap.communicate(timeout=120)
        (tmp_path / "done").write_text("yes")
        r_out, r_err = rd.communicate(timeout=120)
        errs = int(a_out.strip() or 1) + int(r_out.strip() or 1)
        assert errs == 0, (a_err, r_err)
        total_errors += errs
    # runs leave their journals to the next reader: one more read through orc merges the last of them
    orc("runs", "--limit", "1", env=env)
    con = duckdb.connect(env["ORC_DB"])  # nobody else is running now
    try:
        n_big = con.execute("SELECT count(*) FROM steps s JOIN runs r USING (run_id) WHERE r.pipeline = 'big' "
                            "AND s.status = 'succeeded'").fetchall()[0][0]
        n_runs = con.execute("SELECT count(*) FROM runs WHERE pipeline = 'big' AND status = 'succeeded'").fetchall()[0][0]
        decided = con.execute("SELECT count(*) FROM approvals WHERE decision = 'approved'").fetchall()[0][0]
    finally:
        con.close()
    assert total_errors == 0
    assert n_runs == REPETITIONS
    assert n_big == expected_big_steps == 200 * REPETITIONS
    assert decided == len(waiting) == 2 * REPETITIONS


@pytest.mark.slow
def test_ctrl_c_records_the_run_as_cancelled(tmp_path):
    spec = tmp_path / "long.yaml"
    started = tmp_path / "started"
    spec.write_text(f"""
name: long
steps:
  - id: wait
    code: |
      import asyncio
      open({str(started)!r}, "w").close()
      await asyncio.sleep(60)
""")
    env = _env(tmp_path)
    proc = subprocess.Popen(ORC + ["run", str(spec)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not started.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "orc: interrupted" in err and "Traceback" not in err
    runs = json.loads(orc("runs", "--json", env=env).stdout)
    assert runs[0]["status"] == "cancelled"


def test_ctrl_c_during_a_step_that_holds_the_loop_starts_no_further_step(tmp_path):
    """The interrupt is only seen once the blocking step returns: the steps after it must not start."""
    spec = tmp_path / "blocking.yaml"
    started = tmp_path / "started"
    spec.write_text(f"""
name: blocking
steps:
  - id: hold
    code: |
      import time
      open({str(started)!r}, "w").close()
      time.sleep(1.5)
      output = 1
  - id: after
    needs: hold
    write: {{path: after.txt, content: "should not be written"}}
""")
    env = _env(tmp_path)
    proc = subprocess.Popen(ORC + ["run", str(spec), "--outdir", str(tmp_path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not started.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert not list(tmp_path.rglob("after.txt")), out
    runs = json.loads(orc("runs", "--json", env=env).stdout)
    assert runs[0]["status"] == "cancelled"
