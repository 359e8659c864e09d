"""Notebook-run records, the resume hook, journal watching and shipped records, on a real DuckDB file."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from batchkit import PIPELINE, sql
from orchestrator_nb.batch import records, ship
from orchestrator_nb.batch.watch import JournalWatch
from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.errors import RunNotFound, UsageError
from orchestrator_nb.providers.scripted import ScriptedProvider
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import decide


def _run(**kw):
    return asyncio.run(run_pipeline(PIPELINE, {"topic": "moon"}, **kw))


@pytest.mark.parametrize("cell_error, statuses, interrupted, expected", [
    (None, ["succeeded", "succeeded"], False, "succeeded"),
    (None, [], False, "succeeded"),
    ("cell 3: KeyError", ["waiting"], False, "waiting"),          # the pending approval explains the error
    ("cell 3: KeyError", ["succeeded"], False, "failed"),
    (None, ["waiting", "failed"], False, "failed"),
    (None, ["waiting", "budget_exceeded"], False, "budget_exceeded"),
    (None, ["running"], False, "failed"),                         # left unfinished by the kernel
    (None, ["succeeded"], True, "cancelled"),
])
def test_one_status_for_a_notebook_run(cell_error, statuses, interrupted, expected):
    assert records.outcome(cell_error, statuses, interrupted) == expected


def test_exit_codes_follow_the_cli():
    assert [records.exit_code(s) for s in ("succeeded", "failed", "waiting", "budget_exceeded", "cancelled")] \
        == [0, 1, 3, 4, 130]
    assert records.exit_code("failed", "UsageError") == 2


def test_rows_links_and_resolution(store):
    records.start(store, "nb0000000001", input_path="/x/a.ipynb", output_path="/o.ipynb",
                  parameters={"topic": "moon"}, kernel="python3", cwd="/x")
    r1 = _run(nb_run_id="nb0000000001")
    r2 = _run(nb_run_id="nb0000000001")
    _run()  # not from a notebook
    runs = records.pipeline_runs(store, "nb0000000001")
    assert [r["run_id"] for r in runs] == [r1.run_id, r2.run_id] and {r["status"] for r in runs} == {"waiting"}
    assert sorted(records.waiting_steps(store, [r1.run_id])) == [(r1.run_id, "review")]
    records.finish(store, "nb0000000001", status="waiting", exit_code=3, error=None, duration_s=1.5)
    row = records.get(store, "nb0000000001")
    assert row["status"] == "waiting" and row["parameters"] == {"topic": "moon"} and row["duration_s"] == 1.5
    assert records.resolve(store, "nb00000")["nb_run_id"] == "nb0000000001"       # prefix
    assert records.resolve(store, r2.run_id)["nb_run_id"] == "nb0000000001"      # a pipeline run's id
    with pytest.raises(RunNotFound, match="no notebook run"):
        records.resolve(store, "zzzz")
    with pytest.raises(UsageError, match="needs a notebook run id"):
        records.resolve(store, " ")
    plan = records.resume_plan(store, "nb0000000001")
    assert [p["run_id"] for p in plan] == [r1.run_id, r2.run_id] and all(len(p["spec_hash"]) == 16 for p in plan)


def test_a_notebook_run_left_running_by_a_dead_process_is_reconciled(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    records.start(store, "nbdead", input_path="/a.ipynb", output_path=None, parameters={})
    records.start(store, "nblive", input_path="/a.ipynb", output_path=None, parameters={})
    with store.connect() as con:
        con.execute("UPDATE notebook_runs SET pid = ? WHERE nb_run_id = 'nbdead'", [dead.pid])
    assert records.reconcile(store) == 1
    assert records.get(store, "nbdead")["status"] == "failed"
    assert "orc notebook --resume nbdead" in records.get(store, "nbdead")["error"]
    assert records.get(store, "nblive")["status"] == "running"


def test_resume_hook_continues_the_earlier_run_without_repeating_calls(store, monkeypatch):
    """What `orc notebook --resume` relies on inside the kernel (ORC_RESUME_RUNS)."""
    import orchestrator_nb.api.runner as runner
    monkeypatch.setattr(runner, "_claimed", set())
    first = _run(nb_run_id="nbresume0001")
    assert first.status == "waiting" and len(ScriptedProvider.calls) == 1
    decide(store, first.run_id, "review", "approve")
    monkeypatch.setenv("ORC_RESUME_RUNS", __import__("json").dumps(records.resume_plan(store, "nbresume0001")))
    again = _run(nb_run_id="nbresume0001")
    assert again.run_id == first.run_id and again.status == "succeeded"
    assert len(ScriptedProvider.calls) == 2            # only `final` was called
    fresh = _run(nb_run_id="nbresume0001")             # the plan is used up: a new run
    assert fresh.run_id != first.run_id
    assert len(sql("SELECT * FROM runs WHERE nb_run_id = 'nbresume0001'")) == 2


def test_resume_hook_ignores_a_changed_pipeline(store, monkeypatch):
    import orchestrator_nb.api.runner as runner
    monkeypatch.setattr(runner, "_claimed", set())
    first = _run(nb_run_id="nbchanged001")
    monkeypatch.setenv("ORC_RESUME_RUNS", __import__("json").dumps(records.resume_plan(store, "nbchanged001")))
    changed = asyncio.run(run_pipeline(PIPELINE.replace("Polish", "Shorten"), {"topic": "moon"},
                                       nb_run_id="nbchanged001"))
    assert changed.run_id != first.run_id


def test_journal_watch_reports_only_this_notebooks_runs(store):
    lines = []
    w = JournalWatch(store.journal_dir, "nbwatch00001", lines.append)
    spec = PIPELINE.split("  - id: review")[0]          # no approval: nothing reads the store mid-run
    # sync="none": the journals stay until someone reads the store, as while a kernel is running
    mine = asyncio.run(run_pipeline(spec, {}, nb_run_id="nbwatch00001", sync="none"))
    asyncio.run(run_pipeline(spec, {}, nb_run_id="someoneelse1", sync="none"))
    w.poll()
    text = "\n".join(lines)
    assert f"run {mine.run_id} · pipeline gate" in text
    assert "draft" in text and "succeeded in" in text and f"run {mine.run_id} succeeded" in text
    assert text.count("pipeline gate") == 1 and w.runs == {mine.run_id}
    assert w.missed([mine.run_id, "other"]) == ["other"]
    w.stop()


def test_shipped_records_are_applied_exactly_once(tmp_path, store):
    worker_store = Store(tmp_path / "attempt" / "orc.duckdb")
    records.start(worker_store, "nbship000001", input_path="/a.ipynb", output_path="/o.ipynb", parameters={"n": 1},
                  batch_id="b1", item_index=0)
    result = _run(nb_run_id="nbship000001", db=worker_store)
    records.finish(worker_store, "nbship000001", status="waiting", exit_code=3, error=None, duration_s=2.0)
    tables = ship.export(worker_store)
    assert set(tables) == set(ship.TABLES) and len(tables["runs"][1]) == 1
    bundle = {"attempt_id": "att1", "nb_run_id": "nbship000001", "status": "waiting", "tables": tables}
    records.start(store, "nbship000001", input_path="/a.ipynb", output_path=None, parameters={"n": 1},
                  status="queued", batch_id="b1", item_index=0)
    assert ship.apply(store, bundle, batch_id="b1", item_row=True) is True
    assert ship.apply(store, bundle, batch_id="b1", item_row=True) is False      # a duplicate delivery
    counts = {t: sql(f"SELECT count(*) FROM {t}")[0][0] for t in ("runs", "steps", "llm_calls", "events")}
    with worker_store.connect() as con:
        assert counts == {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in counts}
    assert sql("SELECT status, exit_code, batch_id FROM notebook_runs")[0] == ("waiting", 3, "b1")
    assert sql("SELECT run_id, status, nb_run_id FROM runs")[0] == (result.run_id, "waiting", "nbship000001")
    # the shipped waiting run can be decided and resumed from the client's store
    assert decide(store, result.run_id, "review", "approve")["decision"] == "approved"


def test_salvage_records_a_killed_attempt_as_crashed(tmp_path, store, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    attempt = ship.batch_root("bkill") / "nbkilled0001" / "attemptdead1"
    attempt.mkdir(parents=True)
    slow = PIPELINE.replace("  - id: review", "  - id: wait\n    needs: [draft]\n    code: |\n"
                            "      import time\n      time.sleep(60)\n  - id: review\n    needs: [wait]")
    code = ("import asyncio, os\nfrom orchestrator_nb.api.runner import run_pipeline\n"
            f"asyncio.run(run_pipeline({slow!r}, {{}}, nb_run_id='nbkilled0001'))")
    env = dict(os.environ, ORC_DB=str(attempt / "orc.duckdb"))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    journal = attempt / "orc.journal"
    deadline = time.time() + 60
    while time.time() < deadline and not (journal.is_dir() and any(
            b'"step_id":"wait"' in p.read_bytes() for p in journal.iterdir())):
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    bundles = ship.salvage("bkill", applied=set())
    assert [b["attempt_id"] for b in bundles] == ["attemptdead1"] and "notebook_runs" not in bundles[0]["tables"]
    assert ship.salvage("bkill", applied={"attemptdead1"}) == []
    records.start(store, "nbkilled0001", input_path="/a.ipynb", output_path=None, parameters={},
                  status="queued", batch_id="bkill", item_index=0)
    assert ship.apply(store, bundles[0], batch_id="bkill", item_row=False)
    (status, error), = sql("SELECT status, error FROM runs WHERE nb_run_id = 'nbkilled0001'")
    assert status == "failed" and "orc resume" in error
    assert sql("SELECT count(*) FROM llm_calls")[0][0] == 1                     # the spend before the kill
    assert sql("SELECT attempts, status FROM notebook_runs")[0] == (1, "queued")
    assert ship.cleanup("bkill") and not ship.batch_root("bkill").exists()


def test_cache_entries_travel_once(tmp_path):
    src = tmp_path / "attempt"
    (src / "orc.cache" / "llm" / "ab").mkdir(parents=True)
    (src / "orc.cache" / "llm" / "ab" / "abcd.json").write_text('{"x": 1}')
    (src / "orc.cache" / "llm" / "ab" / ".tmp-1").write_text("partial")
    files = ship.new_cache_files(src)
    assert files == {"llm/ab/abcd.json": b'{"x": 1}'}
    dest = tmp_path / "main.cache"
    assert ship.add_cache_files(dest, files) == 1 and ship.add_cache_files(dest, files) == 0
    assert ship.add_cache_files(dest, {"../evil.json": b"x"}) == 0
    linked = tmp_path / "linked"
    linked.mkdir()
    assert ship.link_cache(linked, str(dest)) and ship.new_cache_files(linked) == {}
    assert not ship.link_cache(tmp_path / "other", str(tmp_path / "missing"))


def test_a_finished_attempt_nobody_took_is_the_items_result_once(tmp_path, store):
    from orchestrator_nb.batch import recover
    out = tmp_path / "out" / "000.ipynb"
    records.start(store, "nbitem000001", input_path="/a.ipynb", output_path=str(out), parameters={"n": 0},
                  status="queued", batch_id="b2", item_index=0)

    def attempt(name, status):
        worker = Store(tmp_path / name / "orc.duckdb")
        records.start(worker, "nbitem000001", input_path="/tmp/copy.ipynb", output_path="/tmp/o.ipynb",
                      parameters={"n": 0}, batch_id="b2", item_index=0)
        records.finish(worker, "nbitem000001", status=status, exit_code=0, error=None, duration_s=1.0)
        return {"attempt_id": name, "nb_run_id": "nbitem000001", "finished": True, "status": status,
                "tables": ship.export(worker), "notebook": b'{"cells": [], "metadata": {}}'}

    assert [r["nb_run_id"] for r in recover.unfinished(store, "b2")] == ["nbitem000001"]
    assert recover.take(store, attempt("attA", "succeeded"), "b2")
    assert sql("SELECT status, input_path, output_path FROM notebook_runs") == [("succeeded", "/a.ipynb", str(out))]
    assert out.exists() and recover.unfinished(store, "b2") == []
    # another finished attempt of the item (Dask ran it again) is recorded, not taken as the result
    again = attempt("attB", "failed")
    assert recover.take(store, again, "b2") and not recover.take(store, again, "b2")   # once
    assert sql("SELECT status FROM notebook_runs") == [("succeeded",)]
    assert sql("SELECT attempt_id, salvaged FROM batch_attempts ORDER BY 1") == [("attA", False), ("attB", True)]
