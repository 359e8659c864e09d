"""A record is at most ORC_MAX_RECORD_BYTES: writers store a larger value as a note, readers read
journals a bounded piece at a time and skip lines no writer writes (a planted file, say)."""
from __future__ import annotations

import json
import logging

import orchestrator_nb as orc
from orchestrator_nb.store import Store
from orchestrator_nb.store import journal
from orchestrator_nb.store.queries import list_runs

LIMIT = 10_000  # the lowest the variable may set


def _records(store, run_id):
    with store.connect() as con:
        return con.execute("SELECT step_id, status, output FROM steps WHERE run_id = ? ORDER BY step_id",
                           [run_id]).fetchall()


def test_an_output_over_the_limit_is_stored_as_a_note_and_the_run_goes_on(monkeypatch):
    monkeypatch.setenv("ORC_MAX_RECORD_BYTES", str(LIMIT))
    big = "é" * 6_000  # 6,000 characters, 12,000 bytes
    p = orc.Pipeline("big", [orc.step("a", python=lambda: big), orc.step("b", python=lambda: {"rows": [big, 1]}),
                             orc.step("c", python=lambda: "small")])
    r = p.run()
    assert r.status == "succeeded" and r["a"] == big  # the caller gets the value itself
    rows = {sid: (status, json.loads(out)) for sid, status, out in _records(Store(), r.run_id)}
    assert rows["c"] == ("succeeded", "small")
    for sid in "ab":
        status, out = rows[sid]
        assert status == "succeeded"
        assert out.startswith("<not stored: a value of ") and "over the limit of 10,000 bytes" in out \
            and "ORC_MAX_RECORD_BYTES" in out


def test_inputs_over_the_limit_are_noted_in_the_runs_record(monkeypatch):
    monkeypatch.setenv("ORC_MAX_RECORD_BYTES", str(LIMIT))
    p = orc.load("name: i\ninputs:\n  text: {type: string}\nsteps:\n  - id: a\n    code: output = len(inputs['text'])\n")
    r = p.run({"text": "x" * 20_000})
    assert r.status == "succeeded" and r["a"] == 20_000
    (run,) = list_runs(Store())
    assert run["status"] == "succeeded"


def _planted(store, lines: list[str], pid: int = 2 ** 22 + 77) -> str:
    """A journal file of a writer that is gone (no such pid), holding ``lines``."""
    store.journal_dir.mkdir(parents=True, exist_ok=True)
    path = store.journal_dir / f"0123456789ab.{journal.HOST}.{pid}.1.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def _run_lines(run_id="0123456789ab", steps=3):
    out = [json.dumps({"t": "run", "run_id": run_id, "pipeline": "planted", "status": "running",
                       "started_at": 1.7e9})]
    for i in range(steps):
        out.append(json.dumps({"t": "step", "run_id": run_id, "step_id": f"s{i}", "item_index": -1, "attempt": 1,
                               "status": "succeeded", "started_us": 1_700_000_000_000_000,
                               "ended_us": 1_700_000_000_000_001, "output": i}))
    out.append(json.dumps({"t": "run", "run_id": run_id, "status": "succeeded", "ended_at": 1.7e9 + 1}))
    return out


def test_a_line_longer_than_any_record_is_skipped_piece_by_piece_and_the_rest_merged(monkeypatch, caplog):
    monkeypatch.setenv("ORC_MAX_RECORD_BYTES", str(LIMIT))
    monkeypatch.setattr(journal, "_SLACK", 0)
    reads = []
    real_open = open

    class Watched:
        def __init__(self, f):
            self.f = f

        def __getattr__(self, name):
            return getattr(self.f, name)

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()
    monkeypatch.setattr(journal, "open", lambda *a, **k: Watched(real_open(*a, **k)), raising=False)
    store = Store()
    lines = _run_lines()
    _planted(store, lines[:2] + ["x" * 3_000_000] + lines[2:])
    with caplog.at_level(logging.WARNING, logger="orchestrator_nb"):
        rows = _records(store, "0123456789ab")
    assert [r[0] for r in rows] == ["s0", "s1", "s2"]
    assert "skipped 1 journal line" in caplog.text
    assert reads and all(0 <= n <= 1 << 20 for n in reads)  # never the whole file at once
    assert not any(store.journal_dir.glob("*.jsonl"))  # merged and retired


def test_a_big_journal_is_merged_in_passes_each_record_once(monkeypatch):
    monkeypatch.setenv("ORC_MAX_RECORD_BYTES", str(LIMIT))
    monkeypatch.setattr(journal, "_SLACK", 0)
    from orchestrator_nb import store as store_mod
    monkeypatch.setattr(store_mod, "MERGE_BYTES", 3_000)
    store = Store()
    _planted(store, _run_lines("aaaaaaaaaaaa", steps=400), pid=2 ** 22 + 78)
    _planted(store, _run_lines("bbbbbbbbbbbb", steps=50), pid=2 ** 22 + 79)
    passes = []
    real = Store._merge_some

    def counted(self, con):
        passes.append(1)
        return real(self, con)
    monkeypatch.setattr(Store, "_merge_some", counted)
    assert len(_records(store, "aaaaaaaaaaaa")) == 400
    assert len(_records(store, "bbbbbbbbbbbb")) == 50
    assert len(passes) > 5
    assert {r["run_id"]: r["status"] for r in list_runs(store)} == {"aaaaaaaaaaaa": "succeeded",
                                                                    "bbbbbbbbbbbb": "succeeded"}


def test_an_end_mark_at_the_edge_of_a_piece_ends_the_journal(monkeypatch):
    """The end mark read as the last line of a full piece: the journal is complete (its writer's
    run is not taken for a crash on the next pass)."""
    monkeypatch.setenv("ORC_MAX_RECORD_BYTES", str(LIMIT))
    monkeypatch.setattr(journal, "_SLACK", 0)
    store = Store()
    lines = _run_lines("cccccccccccc", steps=2) + ['{"t":"eof"}']
    size = sum(len(x) + 1 for x in lines)
    pad = json.dumps({"t": "later-kind", "pad": ""})
    lines.insert(0, json.dumps({"t": "later-kind", "pad": "p" * (LIMIT - size - len(pad) - 1)}))
    path = _planted(store, lines, pid=2 ** 22 + 80)
    assert sum(len(x) + 1 for x in lines) == LIMIT
    records, offset, eof, more = journal.read_new(path, 0)
    assert eof and more and offset == LIMIT
    (run,) = list_runs(store)
    assert run["status"] == "succeeded"
