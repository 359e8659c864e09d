"""Cancel signals a run's process only once it knows the pid is the run's: a run record naming a
pid the system gave to another process since (or a record from another machine's store) gets a
409, and that process is left alone; a real `orc run` process is still cancelled."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from orchestrator_nb.store.journal import HOST

from test_run_control import LONG_ASYNC, post, wait_for


async def test_a_pid_that_is_not_the_run_s_process_is_not_signalled(api, waiting_run, store):
    run_id = await waiting_run()
    stranger = subprocess.Popen(["sleep", "60"])  # stands for the user's editor, a kernel...
    try:
        with store.connect() as con:  # what pid reuse, or a shared store, leaves in a run's record
            con.execute("UPDATE runs SET status = 'running', ended_at = NULL, pid = ?, source = 'cli', host = ? "
                        "WHERE run_id = ?", [stranger.pid, HOST, run_id])
        code, data = await api.error("runs", run_id, "cancel", method="POST", body="")
        assert code == 409 and "nothing was signalled" in data["message"], data
        assert f"pid {stranger.pid}" in data["message"], data
        time.sleep(0.2)
        assert stranger.poll() is None, "the stranger was signalled"
        assert (await api.get("runs", run_id))["run"]["status"] == "running"
    finally:
        stranger.kill()
        stranger.wait()


async def test_an_orc_run_process_on_this_machine_is_still_cancelled(api, jp_root_dir):
    (jp_root_dir / "long.yaml").write_text(LONG_ASYNC)
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator_nb", "run", "long.yaml", "--quiet"],
                            cwd=jp_root_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run_id = None
        for _ in range(300):
            runs = (await api.get("runs"))["runs"]
            if runs and runs[0]["status"] == "running":
                run_id = runs[0]["run_id"]
                break
            time.sleep(0.05)
        assert run_id is not None, "the run did not start"
        code, data = await post(api, "runs", run_id, "cancel")
        assert code == 200 and data["status"] == "cancelled" and data["signals"][:1] == ["SIGINT"], data
        assert proc.wait(10) != 0
        await wait_for(api, run_id, {"cancelled"}, timeout=10)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def test_a_pid_reused_since_the_run_s_last_record_is_not_the_run_s(tmp_path):
    from orchestrator_nb.store.procs import not_the_run
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        journal = tmp_path / f"run000000001.{HOST}.{stranger.pid}.0.jsonl"
        journal.write_text("{}\n")
        assert not_the_run(tmp_path, "run000000001", stranger.pid) is None  # journaled since it started
        os.utime(journal, (time.time() - 3600, time.time() - 3600))  # the run's process wrote last an hour ago
        assert "started after the run's last record" in not_the_run(tmp_path, "run000000001", stranger.pid)
        assert "keeps no journal" in not_the_run(tmp_path, "run000000002", stranger.pid)
    finally:
        stranger.kill()
        stranger.wait()
