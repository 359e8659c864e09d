"""The DuckDB store: migrations, journal merging (exactly once), crash detection, decisions, resume."""
from __future__ import annotations

import asyncio
import errno
import json
import os
import time

import duckdb
import pytest

import orchestrator_nb as orc
from orchestrator_nb.api.runner import resume_run, run_pipeline
from orchestrator_nb.errors import OrcError, UsageError
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import decide, list_runs, pending_approvals, run_detail
from orchestrator_nb.store.schema import MIGRATIONS, latest_version


def counts(store):
    with store.connect() as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("runs", "steps", "events", "artifacts", "approvals", "llm_calls")}


def test_migrations_build_every_table_from_a_blank_file(tmp_path):
    store = Store(tmp_path / "blank.duckdb")
    with store.connect() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    assert {"runs", "steps", "llm_calls", "approvals", "events", "artifacts", "notebook_runs"} <= tables
    assert version == latest_version() == len(MIGRATIONS)
    # a second process (fresh memo) finds nothing to do and the data stays
    from orchestrator_nb.store import _migrated
    _migrated.clear()
    from orchestrator_nb.store.schema import migrate
    with store.connect() as con:
        assert migrate(con) == 0


def test_spec_columns_hold_what_the_spec_names(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    spec = {
        "runs": "run_id pipeline status inputs spec_yaml spec_hash source notebook_path started_at ended_at cost_usd "
                "tokens_in tokens_out error",
        "steps": "run_id step_id item_index attempt status model started_at ended_at output error cached",
        "llm_calls": "call_id run_id step_id provider model request response_text tokens_in tokens_out cost_usd "
                     "latency_ms cached request_hash error created_at",
        "approvals": "run_id step_id decision comment decided_by mode decided_at",
        "events": "run_id ts level step_id message",
        "artifacts": "run_id step_id path sha256 media_type created_at"}
    with store.connect() as con:
        for table, cols in spec.items():
            have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
            assert set(cols.split()) <= have, (table, set(cols.split()) - have)


def test_every_record_of_a_run_lands_once_even_when_merged_repeatedly():
    p = orc.load("name: m\nsteps:\n" + "".join(f"  - id: s{i}\n    code: output = {i}\n" for i in range(30)))
    r = asyncio.run(run_pipeline(p, db=None, sync="none"))
    store = Store()
    assert not store.exists() or True
    first = counts(store)
    store.sync()
    assert counts(store) == first
    assert first["steps"] == 30 and first["runs"] == 1
    assert run_detail(store, r.run_id)["run"]["status"] == "succeeded"
    assert not any(store.journal_dir.iterdir())  # merged journals are removed


def test_a_torn_last_line_is_skipped_not_fatal():
    store = Store()
    store.journal_dir.mkdir(parents=True)
    path = store.journal_dir / f"abc123.{os.uname().nodename}.{os.getpid()}.9.jsonl"
    good = {"t": "run", "run_id": "abc123", "pipeline": "p", "status": "running", "started_at": 1.0}
    path.write_text(json.dumps(good) + "\n" + '{"t": "step", "run_id": "abc1\n' + '{"t":"eof"}\n')
    assert [r["run_id"] for r in list_runs(store)] == ["abc123"]
    assert not path.exists()


def test_a_run_whose_process_died_is_marked_failed_and_resumable():
    store = Store()
    store.journal_dir.mkdir(parents=True)
    dead = 2 ** 22 + 12345  # above pid_max defaults: no such process
    path = store.journal_dir / f"deadrun00001.{os.uname().nodename}.{dead}.1.jsonl"
    lines = [{"t": "run", "run_id": "deadrun00001", "pipeline": "p", "status": "running", "started_at": 1.0,
              "pid": dead, "host": os.uname().nodename, "spec_yaml": "name: p\nsteps:\n  - id: a\n    code: output = 1\n",
              "inputs": {}},
             {"t": "step", "run_id": "deadrun00001", "step_id": "a", "item_index": -1, "attempt": 1,
              "status": "running", "started_at": 1.0}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = run_detail(store, "deadrun")["run"]
    assert run["status"] == "failed" and "orc resume deadrun00001" in run["error"]
    assert run_detail(store, "deadrun")["steps"][0]["status"] == "failed"
    r = asyncio.run(resume_run("deadrun00001"))
    assert r.status == "succeeded" and r["a"] == 1


def test_decisions_are_validated():
    p = orc.load("name: d\nsteps:\n  - id: draft\n    code: output = 1\n  - id: ok\n    approval: Ship it?\n")
    r = asyncio.run(run_pipeline(p, db=None, approval="defer"))
    store = Store()
    [pending] = pending_approvals(store)
    assert (pending["run_id"], pending["step_id"], pending["question"]) == (r.run_id, "ok", "Ship it?")
    with pytest.raises(UsageError, match="has no step 'nope'"):
        decide(store, r.run_id, "nope", "approve")
    with pytest.raises(OrcError, match="is not waiting for approval"):
        decide(store, r.run_id, "draft", "approve")
    with pytest.raises(UsageError, match="needs a comment"):
        decide(store, r.run_id, "ok", "changes")
    with pytest.raises(UsageError, match="unknown decision"):
        decide(store, r.run_id, "ok", "maybe")
    out = decide(store, r.run_id[:6], "ok", "approve", "looks good", "ana", "cli")
    assert out == {"run_id": r.run_id, "step_id": "ok", "round": 1, "decision": "approved",
                   "resume": r.run_id}
    with pytest.raises(OrcError, match="already decided: approved"):
        decide(store, r.run_id, "ok", "reject")
    assert pending_approvals(store) == []
    assert store.inbox_mtime(r.run_id) is not None


def test_resume_never_repeats_finished_steps(tmp_path):
    counter = tmp_path / "count"
    flag = tmp_path / "fixed"
    p = orc.load(f"""
name: resume
steps:
  - id: one
    code: |
      open({str(counter)!r}, "a").write("one\\n")
      output = 1
  - id: two
    code: |
      import os
      open({str(counter)!r}, "a").write("two\\n")
      if not os.path.exists({str(flag)!r}):
          raise RuntimeError("not yet")
      output = 2
  - id: three
    needs: [two]
    code: output = steps["one"] + steps["two"]
""")
    r = asyncio.run(run_pipeline(p, db=None))
    assert r.status == "failed"
    flag.write_text("x")
    r2 = asyncio.run(resume_run(r.run_id))
    assert r2.status == "succeeded" and r2["three"] == 3 and r2.run_id == r.run_id
    assert counter.read_text().splitlines() == ["one", "two", "two"]
    attempts = [(s["step_id"], s["attempt"], s["status"]) for s in run_detail(Store(), r.run_id)["steps"]
                if s["step_id"] == "two"]
    assert attempts == [("two", 1, "failed"), ("two", 2, "succeeded")]
    with pytest.raises(OrcError, match="already succeeded"):
        asyncio.run(resume_run(r.run_id))


def test_unchanged_steps_are_not_recomputed_on_a_rerun():
    calls = []

    def work(x):
        calls.append(x)
        return x * 2

    p = orc.Pipeline("cache", [orc.step("a", python=work, params={"x": 2}),
                               orc.step("b", python=work, params={"x": "{{ steps.a.output }}"})],
                     defaults={"cache": True})
    r1 = asyncio.run(run_pipeline(p, db=None))
    r2 = asyncio.run(run_pipeline(p, db=None))
    assert r1["b"] == r2["b"] == 8
    assert calls == [2, 4]
    assert all(s["cached"] for s in r2.steps)
    r3 = asyncio.run(run_pipeline(p, db=None, use_cache=False))
    assert calls == [2, 4, 2, 4] and not any(s["cached"] for s in r3.steps)


def test_plain_duckdb_sees_every_table_after_a_run(tmp_path):
    """A run does not open DuckDB; this process merges its journal once idle (store.merger)."""
    p = orc.load("name: plain\nsteps:\n  - id: a\n    code: output = dict(x=1)\n  - id: w\n"
                 "    write: {path: out.txt, content: hi}\n")
    r = asyncio.run(run_pipeline(p, db=None))
    from orchestrator_nb.store.merger import _mergers
    merger, journals = _mergers[str(Store().path)], Store().journal_dir
    deadline = time.monotonic() + 30
    while (any(journals.iterdir()) or merger.merging) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(journals.iterdir()), "the idle merger did not merge the run's journal"
    con = duckdb.connect(str(Store().path), read_only=True)
    try:
        assert con.execute("SELECT status FROM runs WHERE run_id = ?", [r.run_id]).fetchall() == [("succeeded",)]
        assert con.execute("SELECT output->>'x' FROM steps WHERE step_id = 'a'").fetchall() == [("1",)]
        assert con.execute("SELECT rel_path FROM artifacts").fetchall() == [("out.txt",)]
        assert con.execute("SELECT count(*) FROM events WHERE run_id = ?", [r.run_id]).fetchall()[0][0] >= 5
    finally:
        con.close()


def test_a_store_locked_by_another_program_gives_a_clear_error(tmp_path, monkeypatch):
    import subprocess
    import sys
    path = tmp_path / "held.duckdb"
    Store(path).sync()
    with Store(path).connect():
        pass
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                                                     "print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        import orchestrator_nb.store as st
        monkeypatch.setattr(st, "LOCK_TIMEOUT", 0.5)
        with pytest.raises(orc.StoreError, match="cannot open the store .*close other programs"):
            with Store(path).connect():
                pass
    finally:
        holder.kill()
        holder.wait()



def test_a_store_on_a_full_disk_says_so_not_to_close_other_programs(tmp_path, monkeypatch):
    def full(path, *a, **kw):  # what DuckDB raises when it cannot grow its file
        raise duckdb.IOException(f'IO Error: Could not write file "{path}": No space left on device')
    monkeypatch.setattr(duckdb, "connect", full)
    with pytest.raises(orc.StoreError, match=r"cannot open the store .*No space left on device \(free some disk "
                                             r"space, or put the store on another disk with --db or ORC_DB\)$"):
        with Store(tmp_path / "full.duckdb").connect():
            pass

def test_resume_keeps_what_the_run_spent_before(scripted):
    scripted([{"reply": "word " * 40}])
    p = orc.load("""
name: spend
prices: {"scripted:paid": {input: 100, output: 100}}
steps:
  - id: ask
    prompt: say something
    model: scripted:paid
  - id: gate
    approval: ok?
""")
    r = asyncio.run(run_pipeline(p, db=None, approval="defer"))
    assert r.status == "waiting" and r.cost > 0
    orc.approve(r.run_id, "gate")
    r2 = asyncio.run(resume_run(r.run_id))
    assert r2.status == "succeeded"
    assert r2.cost == pytest.approx(r.cost) and r2.tokens == r.tokens
    assert run_detail(Store(), r.run_id)["run"]["cost_usd"] == pytest.approx(r.cost)


def test_resume_keeps_the_model_the_run_was_started_with(scripted, capsys):
    from orchestrator_nb.cli.main import main
    Path = __import__("pathlib").Path
    Path("p.yaml").write_text("name: m\nsteps:\n  - id: gate\n    approval: go?\n  - id: ask\n    needs: [gate]\n"
                              "    prompt: hello\n")
    assert main(["run", "p.yaml", "--model", "scripted:chosen", "-q"]) == 3
    run_id = list_runs(Store())[0]["run_id"]
    orc.approve(run_id, "gate")
    r = asyncio.run(resume_run(run_id))
    assert r.status == "succeeded" and r["ask"].startswith("[chosen]")


def test_a_finished_run_is_visible_at_once_without_the_run_opening_duckdb():
    """The run only writes its journal; the first reader merges it (and the runs before it) in one go."""
    p = orc.Pipeline("v", [orc.step("a", python=lambda: {"n": 1}),
                           orc.step("b", python=lambda n: n + 1, params={"n": "{{ steps.a.output.n }}"})])
    ids = [p.run().run_id for _ in range(5)]
    store = Store()
    assert not store.path.exists()            # no run opened DuckDB
    assert len(list(store.journal_dir.iterdir())) == 5
    rows = orc.sql("SELECT run_id, count(*) FILTER (WHERE status = 'succeeded') FROM steps GROUP BY run_id")[1]
    assert sorted(rows) == sorted((i, 2) for i in ids)
    assert [r["run_id"] for r in orc.runs(limit=10)] == ids[::-1]
    assert not any(store.journal_dir.iterdir())


def test_a_burst_of_journals_is_merged_in_one_transaction_and_a_bad_one_is_named(tmp_path, caplog):
    p = orc.Pipeline("burst", [orc.step("a", python=lambda: 1)])
    for _ in range(3):
        p.run(sync="none")
    store = Store()
    bad = store.journal_dir / f"badrun000001.{os.uname().nodename}.{os.getpid()}.99.jsonl"
    # well formed (a malformed line is skipped), but DuckDB cannot hold the number
    bad.write_text('{"t": "step", "run_id": "badrun000001", "step_id": "a", "item_index": 0, "attempt": 100000000000000000000000000000}\n'
                   '{"t":"eof"}\n')
    store.sync()  # merged one by one: the bad journal is set aside, named, and the store stays readable
    assert "badrun000001" in caplog.text and "set aside" in caplog.text
    assert not bad.exists() and bad.with_name(bad.name + ".bad").exists()
    assert counts(store)["runs"] == 3
    store.sync()  # and later reads do not trip on it again
    assert counts(store)["runs"] == 3



CTRL_C = r'''
import asyncio
import errno
import orchestrator_nb as orc
async def wait(seconds):
    print("started", seconds, flush=True)
    await asyncio.sleep(seconds)
p = orc.Pipeline("interrupted", [orc.step("a", python=lambda: 1),
                                 orc.step("w", python=wait, params={"seconds": "{{ inputs.seconds }}"}, needs=["a"])],
                 inputs={"seconds": {"type": "number"}})
for _ in range(2):
    p.run({"seconds": 0}, db=False)   # the thread's loop is kept between runs
try:
    p.run({"seconds": 30})
except KeyboardInterrupt:
    print("interrupted", flush=True)
print(p.run({"seconds": 0}, db=False).status)   # and still works after an interrupted run
'''


def test_ctrl_c_in_the_blocking_api_cancels_the_run_and_records_it(tmp_path):
    import signal
    import subprocess
    import sys
    script = tmp_path / "ctrlc.py"
    script.write_text(CTRL_C)
    env = {**os.environ, "PYTHONPATH": str(__import__("pathlib").Path(orc.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, text=True, env=env)
    lines = [proc.stdout.readline().split() for _ in range(3)]
    assert lines == [["started", "0"], ["started", "0"], ["started", "30"]], lines
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert out.split() == ["interrupted", "started", "0", "succeeded"], out
    runs = orc.runs(db=str(tmp_path / ".orc" / "orc.duckdb"))
    assert [r["status"] for r in runs] == ["cancelled"]


class _Disk:
    """The os module as the journal sees it, on a disk with ``room`` bytes left (fault injection)."""

    def __init__(self, room: int = 10 ** 9, refuse_open: int | None = None):
        self.room, self.refuse_open = room, refuse_open

    def __getattr__(self, name):
        return getattr(os, name)

    def open(self, path, flags, mode=0o777):
        if self.refuse_open:
            raise OSError(self.refuse_open, os.strerror(self.refuse_open), path)
        return os.open(path, flags, mode)

    def write(self, fd, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(data), self.room)  # what fits, as a filling disk writes
        self.room -= n
        return os.write(fd, data[:n])


def test_a_disk_that_fills_up_mid_run_stops_it_with_one_line_and_keeps_what_was_written(tmp_path, monkeypatch, capsys):
    from orchestrator_nb.cli.main import main
    from orchestrator_nb.store import journal
    spec = tmp_path / "full.yaml"
    spec.write_text("name: full\nsteps:\n" + "".join(f"  - id: s{i}\n    code: output = 'x' * 100\n" for i in range(60)))
    with monkeypatch.context() as m:
        m.setattr(journal, "os", _Disk(room=9000))
        assert main(["run", "-q", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("orc: error: cannot write the run's journal "), err
    assert "No space left on device (free some disk space, or put the store on another disk with --db" in err
    (kept,), = orc.sql("SELECT count(*) FROM steps WHERE status = 'succeeded'")[1]
    assert 0 < kept < 60                                   # the steps recorded before the disk filled stay
    (run,), = orc.sql("SELECT count(*) FROM runs WHERE pipeline = 'full'")[1]
    assert run == 1


def test_a_run_whose_journal_failed_reads_failed_once_the_disk_has_room_not_running(tmp_path, monkeypatch):
    """A process that lives on (a kernel) kept such a run `running` until it exited: the next run it
    starts, or any read it does, writes the run's end once the disk takes it."""
    from orchestrator_nb.errors import StoreError
    from orchestrator_nb.store import journal
    p = orc.load("name: full\nsteps:\n" + "".join(f"  - id: s{i}\n    code: output = 'x' * 100\n" for i in range(60)))
    with monkeypatch.context() as m:
        m.setattr(journal, "os", _Disk(room=9000))
        with pytest.raises(StoreError, match="No space left on device"):
            p.run()
        journal.finish_abandoned()  # still full: nothing written, tried again later
        assert len(journal._abandoned) == 1

    (run, error), = orc.sql("SELECT status, error FROM runs WHERE pipeline = 'full'")[1]  # a read here writes it
    assert run == "failed" and "No space left on device" in error
    assert not journal._abandoned
    assert orc.sql("SELECT count(*) FROM steps WHERE status = 'running'")[1] == [(0,)]


def test_a_short_write_is_not_taken_for_a_whole_one(tmp_path, monkeypatch):
    from orchestrator_nb.errors import StoreError
    from orchestrator_nb.store import journal
    w = journal.JournalWriter(str(tmp_path), "shortwrite")
    with monkeypatch.context() as m:
        m.setattr(journal, "os", _Disk(room=10))
        with pytest.raises(StoreError, match="cannot write the run's journal .*No space left on device"):
            w.write({"t": "event", "message": "x" * 100})     # 10 bytes fit: the rest must not vanish silently
        with pytest.raises(StoreError):
            w.write({"t": "event", "message": "later"})        # and the writer stays failed
    w.close()                                              # closes without raising the same error again
    assert w.fd is None


def test_a_journal_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    from orchestrator_nb.errors import StoreError
    from orchestrator_nb.store import journal
    monkeypatch.setattr(journal, "os", _Disk(refuse_open=errno.EACCES))
    p = orc.load("name: ro\nsteps:\n  - id: a\n    code: output = 1\n")
    with pytest.raises(StoreError, match="cannot create the run's journal .*Permission denied "
                                         r"\(make the store's files and folders writable, or put the store elsewhere"):
        p.run(db=tmp_path / "ro.duckdb")


def test_a_cache_entry_that_cannot_be_written_costs_a_recomputation_and_leaves_no_file(tmp_path, monkeypatch):
    from orchestrator_nb.core import cache as cache_module
    from orchestrator_nb.core.cache import MISS, Cache

    class FullFile:
        def __init__(self, fd, mode):
            self.f = os.fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    class FullDisk(_Disk):
        def fdopen(self, fd, mode):
            return FullFile(fd, mode)

    c = Cache(tmp_path / "cache")
    with monkeypatch.context() as m:
        m.setattr(cache_module, "os", FullDisk())
        c.put("step", "ab" * 32, {"output": 1})                  # no error: the cache is an optimisation
    assert c.get("step", "ab" * 32) is MISS
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []   # no half-written temporary
    c.put("step", "ab" * 32, {"output": 1})
    assert c.get("step", "ab" * 32) == {"output": 1}


def test_user_sql_only_reads_the_store(tmp_path, capsys):
    from orchestrator_nb.cli.main import main
    r = orc.load("name: keep\nsteps:\n  - id: a\n    code: output = 1\n  - id: b\n    code: output = 2\n").run()
    before = counts(Store())
    for query in ("DROP TABLE runs", "DELETE FROM steps", "SELECT 1; DROP TABLE runs", "UPDATE runs SET status = 'x'",
                  "CREATE TABLE t (a INT)", "ATTACH 'other.duckdb'", "INSTALL json", "BEGIN", "CHECKPOINT; VACUUM"):
        with pytest.raises(UsageError, match=r"^orc sql only reads the store: a [A-Z]+ statement would change it "):
            orc.sql(query)
    assert main(["sql", "DROP TABLE runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("orc: error: orc sql only reads the store: a DROP statement") and err.count("\n") == 1
    # reading, describing and exporting work; a COPY ... FROM runs, and is rolled back
    assert orc.sql(f"SELECT status FROM runs WHERE run_id = '{r.run_id}'")[1] == [("succeeded",)]
    assert "status" in [row[0] for row in orc.sql("DESCRIBE steps")[1]]
    assert ("runs",) in orc.sql("SHOW TABLES")[1]
    out = tmp_path / "steps.csv"
    orc.sql(f"COPY (SELECT run_id, step_id, status FROM steps) TO '{out}' (HEADER)")
    assert out.read_text().count("succeeded") == 2
    rows = tmp_path / "more.parquet"
    orc.sql(f"COPY (SELECT * REPLACE (run_id || '-copy' AS run_id) FROM steps) TO '{rows}'")
    orc.sql(f"COPY steps FROM '{rows}'")                                 # inserts two rows...
    assert counts(Store()) == before                                     # ...that are not kept
    with pytest.raises(Exception, match="Parser Error"):
        orc.sql("SELEC 1")


def test_a_writer_that_appends_its_last_records_and_exits_while_a_reader_merges_loses_nothing(monkeypatch):
    """The reader asked whether the writer was alive after reading its journal: a writer that
    appended and exited in between was taken for dead and its file retired with those lines unread
    (a finished run stored 'failed', its last steps missing)."""
    from orchestrator_nb.store import journal
    p = orc.load("name: m\nsteps:\n" + "".join(f"  - id: s{i}\n    code: output = {i}\n" for i in range(6)))
    asyncio.run(run_pipeline(p, db=None, sync="none"))
    store = Store()
    (done,) = list(store.journal_dir.iterdir())
    lines = done.read_text().splitlines(keepends=True)
    done.unlink()
    pid = 2 ** 22 + 4321  # no such process: "exited"
    path = store.journal_dir / f"{done.name.split('.')[0]}.{journal.HOST}.{pid}.1.jsonl"
    path.write_text("".join(lines[:4]))  # the run's first records; the rest come while the reader reads
    state = {"exited": False}
    read_new = journal.read_new

    def read_then_writer_appends_and_exits(name, offset):
        out = read_new(name, offset)
        if not state["exited"]:
            with open(path, "a") as f:
                f.write("".join(lines[4:]))
            state["exited"] = True
        return out
    monkeypatch.setattr(journal, "read_new", read_then_writer_appends_and_exits)
    monkeypatch.setattr(journal, "writer_alive", lambda name, directory=None: not state["exited"])
    store.sync()
    store.sync()
    (run,) = list_runs(store)
    assert run["status"] == "succeeded"
    assert counts(store)["steps"] == 6 and not path.exists()


def test_a_journal_that_cannot_be_removed_after_merging_leaves_the_store_readable(monkeypatch, caplog):
    """A read-only journal folder made every read fail: 'internal error: PermissionError'."""
    from pathlib import Path
    p = orc.Pipeline("ro", [orc.step("a", python=lambda: 1)])
    first = p.run(sync="none")
    real_unlink = Path.unlink

    def refuse(self, *a, **k):
        if self.suffix == ".jsonl":
            raise PermissionError(13, "Permission denied")
        return real_unlink(self, *a, **k)
    monkeypatch.setattr(Path, "unlink", refuse)
    for _ in range(2):  # read twice: merged once, the file kept, nothing doubled
        assert [r["run_id"] for r in orc.runs()] == [first.run_id]
    assert counts(Store())["steps"] == 1
    assert "could not remove the merged journal" in caplog.text and "make its folder writable" in caplog.text
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert [r["run_id"] for r in orc.runs()] == [first.run_id] and counts(Store())["steps"] == 1


@pytest.mark.parametrize("when", ["1e300", "-1e12", "1e12", "-1"])
def test_a_journal_line_with_a_time_python_cannot_hold_is_skipped(when, caplog):
    """A start time past the year 9999 raised OverflowError/ValueError on every read, and nothing
    else was listed (a step's, stored, made `orc show` fail)."""
    p = orc.Pipeline("t", [orc.step("a", python=lambda: 1)])
    ok = p.run(sync="none")
    store = Store()
    bad = store.journal_dir / f"zz1.{os.uname().nodename}.1.1.jsonl"
    bad.write_text('{"t":"run","run_id":"zz1","pipeline":"t","status":"succeeded","started_at":%s}\n' % when)
    assert [r["run_id"] for r in orc.runs()] == [ok.run_id]
    assert "skipped 1 journal line(s)" in caplog.text


def test_a_store_file_cut_short_is_named_as_damaged_and_moving_it_away_keeps_the_pending_runs(capsys):
    """It said 'could not merge journal X into the store', blaming the journal."""
    from orchestrator_nb.cli.main import main
    p = orc.Pipeline("cut", [orc.step("a", python=lambda: 1)])
    for _ in range(3):
        p.run()
    orc.runs()
    pending = p.run(sync="none")
    path = Store().path
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    assert main(["runs"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"orc: error: the store {path} is damaged (") and "move it away" in err and "\n" not in err
    path.rename(path.with_suffix(".old"))
    assert [r["run_id"] for r in orc.runs()] == [pending.run_id]


def test_a_crashed_runs_end_is_when_its_journal_was_last_written_not_when_it_was_noticed():
    """`orc runs` said a run killed at 420 s took 875 s: the time until someone read the store."""
    from orchestrator_nb.store import journal
    store = Store()
    store.journal_dir.mkdir(parents=True, exist_ok=True)
    path = store.journal_dir / f"cafecafecafe.{journal.HOST}.{2 ** 22 + 91}.1.jsonl"
    started = time.time() - 600
    path.write_text(json.dumps({"t": "run", "run_id": "cafecafecafe", "pipeline": "p", "status": "running",
                                "started_at": started, "pid": 2 ** 22 + 91, "host": journal.HOST}) + "\n"
                    + json.dumps({"t": "step", "run_id": "cafecafecafe", "step_id": "a", "item_index": -1,
                                  "attempt": 1, "status": "running", "started_us": int(started * 1e6)}) + "\n")
    os.utime(path, (started + 30, started + 30))  # its last record, 30 s in
    (run,) = list_runs(store)
    assert run["status"] == "failed" and "ended without finishing" in run["error"]
    with store.connect() as con:
        took, step_took = con.execute("SELECT epoch(r.ended_at - r.started_at), epoch(s.ended_at - s.started_at) "
                                      "FROM runs r JOIN steps s USING (run_id)").fetchall()[0]
    assert 29 <= took <= 31 and 29 <= step_took <= 31


def test_a_journal_whose_pid_was_given_to_another_process_since_is_a_crashed_runs():
    """A writer killed, its pid reused by a process that lives on: the run read `running` for as
    long as that stranger lived."""
    import subprocess
    from orchestrator_nb.store import journal
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        store = Store()
        store.journal_dir.mkdir(parents=True, exist_ok=True)
        path = store.journal_dir / f"beefbeefbeef.{journal.HOST}.{stranger.pid}.1.jsonl"
        started = time.time() - 600
        path.write_text(json.dumps({"t": "run", "run_id": "beefbeefbeef", "pipeline": "p", "status": "running",
                                    "started_at": started, "pid": stranger.pid, "host": journal.HOST}) + "\n")
        os.utime(path, (started + 5, started + 5))  # its writer's last record, ten minutes ago
        (run,) = list_runs(store)
        assert run["status"] == "failed" and "ended without finishing" in run["error"]
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
