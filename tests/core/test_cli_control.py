"""`orc show` of a waiting run prints what to review; `orc cancel` ends a run `cancelled`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from orchestrator_nb.api.cancel import cancel_run
from orchestrator_nb.cli.main import main
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import run_detail

REVIEWED = """
name: notes
steps:
  - id: draft
    model: scripted:writer
    prompt: Write three lines about the harbour at dawn
  - id: review
    approval: Is the draft good?
    show: |
      Title: Dawn
      {{ steps.draft.output }}
  - id: publish
    needs: [review]
    code: output = 1
"""
OUTER = """
name: outer
steps:
  - id: first
    code: output = 1
  - id: inner
    needs: [first]
    pipeline: notes.yaml
"""
LONG = """
name: long
steps:
  - id: nap
    python: asyncio:sleep
    params: {delay: 60}
"""


def _json(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_show_prints_every_pending_question_with_the_content(capsys, tmp_path):
    (tmp_path / "notes.yaml").write_text(REVIEWED)
    (tmp_path / "outer.yaml").write_text(OUTER)
    assert main(["run", "outer.yaml", "-q"]) == 3
    outer = _json(capsys, ["runs", "--json"])[0]["run_id"]
    d = _json(capsys, ["show", outer, "--json"])
    (child,) = d["children"]
    (pending,) = d["pending"]  # the sub-pipeline's gate, shown on the run a user started
    assert pending["run_id"] == child["run_id"] and pending["step_id"] == "review" and pending["round"] == 1
    assert pending["question"] == "Is the draft good?"
    assert pending["show"].startswith("Title: Dawn\n[writer] Write three lines about the harbour")
    assert pending["approve"] == f"orc approve {child['run_id']} review" and pending["resume"] == f"orc resume {outer}"

    assert main(["show", outer]) == 0
    text = capsys.readouterr().out
    assert f"waiting for approval: run {child['run_id']} step review (round 1)" in text
    assert "  Is the draft good?" in text and "  │ Title: Dawn" in text and "  │ [writer] Write three lines" in text
    assert f"approve:  orc approve {child['run_id']} review" in text and f"then:     orc resume {outer}" in text

    assert main(["approve", child["run_id"], "review"]) == 0
    assert _json(capsys, ["show", outer, "--json"])["pending"] == []  # decided: nothing left to ask
    assert main(["resume", outer, "-q"]) == 0


def test_cancel_a_waiting_run(capsys, tmp_path):
    (tmp_path / "notes.yaml").write_text(REVIEWED)
    assert main(["run", "notes.yaml", "-q"]) == 3
    run_id = _json(capsys, ["runs", "--json"])[0]["run_id"]
    assert main(["cancel", run_id, "--by", "ada"]) == 0
    assert f"cancelled: run {run_id} (was waiting)" in capsys.readouterr().out
    d = _json(capsys, ["show", run_id, "--json"])
    assert d["run"]["status"] == "cancelled" and d["run"]["error"] == "cancelled by cli:ada" and d["pending"] == []
    assert [e["kind"] for e in d["events"]][-1] == "run_cancelled"
    assert main(["cancel", run_id]) == 1
    assert f"run {run_id} already ended (cancelled); nothing to cancel" in capsys.readouterr().err


def test_cancel_a_running_orc_run_process(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator_nb", "run", "long.yaml", "-q"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    store = Store()
    try:
        run_id = None
        for _ in range(300):
            if store.exists():
                rows = [r for r in _runs(store) if r[1] == "running"]
                if rows:
                    run_id = rows[0][0]
                    break
            time.sleep(0.1)
        assert run_id, proc.stderr.read() if proc.poll() is not None else "the run did not start"
        out = cancel_run(store, run_id, "cli:ada")
        assert out["status"] == "cancelled" and out["previous"] == "running" and out["signals"] == ["SIGINT"]
        assert out["seconds"] < 2.0
        assert proc.wait(10) == 130  # `orc run`'s exit code for an interrupted run
        d = run_detail(store, run_id)
        assert d["run"]["status"] == "cancelled" and d["run"]["error"] == "cancelled by cli:ada"
        assert [s["status"] for s in d["steps"]] == ["cancelled"]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)


def _runs(store):
    with store.connect() as con:
        return con.execute("SELECT run_id, status FROM runs").fetchall()


def test_orc_cancel_does_not_signal_a_process_that_is_not_the_runs(capsys, tmp_path):
    """A run record naming a pid the system gave to another process since (or written on
    another machine into a shared store): `orc cancel` killed that process."""
    from orchestrator_nb.store.journal import HOST
    (tmp_path / "notes.yaml").write_text(REVIEWED)
    assert main(["run", "notes.yaml", "--db", "s.duckdb", "-q"]) == 3  # waits at the review
    capsys.readouterr()
    store = Store("s.duckdb")
    with store.connect() as con:
        (run_id,), = con.execute("SELECT run_id FROM runs").fetchall()
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        with store.connect() as con:
            con.execute("UPDATE runs SET status = 'running', pid = ?, source = 'cli', host = ? WHERE run_id = ?",
                        [stranger.pid, HOST, run_id])
        assert main(["cancel", run_id, "--db", "s.duckdb"]) != 0
        err = capsys.readouterr().err
        assert "nothing was signalled" in err and f"pid {stranger.pid}" in err, err
        time.sleep(0.2)
        assert stranger.poll() is None, "the stranger was signalled"
    finally:
        stranger.kill()
        stranger.wait()
