"""`%orc` subcommands in a real InteractiveShell."""
from __future__ import annotations

from orchestrator_nb.core.result import RunResult

PIPE = """name: tiny
inputs:
  word: {type: string, default: hello}
steps:
  - id: say
    model: scripted:echo
    prompt: Say {{ inputs.word }}
  - id: ok
    approval: Fine?
    needs: [say]
  - id: done
    needs: [ok]
    code: output = steps["say"].upper()
"""


def write(tmp_path, name="tiny.yaml", text=PIPE):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_run_graph(ip, tmp_path):
    path = write(tmp_path)
    value, _, _ = ip.cell(f"%orc load {path} --as t")
    assert "loaded tiny as 't'" in repr(value) and "<svg" in value._repr_html_()
    ip.cell("%orc run t -p word=moon --approval auto")
    assert ip.ns["t"]["done"] == "[ECHO] SAY MOON"
    ip.cell(f"%orc run {path} --approval auto --out direct")          # a path works too
    assert ip.ns["direct"].status == "succeeded"
    graph, _, _ = ip.cell("%orc graph t")
    assert "say" in repr(graph) and "done  <- ok" in repr(graph).replace("    ", "")
    assert graph._repr_html_().count('class="orc-node"') == 3
    r, _, _ = ip.cell("x = %orc run t --approval auto --no-cache")
    assert isinstance(ip.ns["x"], RunResult)
    dry, _, _ = ip.cell("%orc run t --dry-run")
    assert "dry run: tiny" in repr(dry)
    bg, _, _ = ip.cell("%orc run t --approval auto --background --out bg")
    assert type(bg).__name__ == "RunHandle"
    got, _, _ = ip.cell("await bg")
    assert got.status == "succeeded"


def test_runs_show_sql(ip, tmp_path):
    path = write(tmp_path)
    ip.cell(f"%orc run {path} --approval auto")
    run_id = ip.ns["tiny"].run_id
    table, _, _ = ip.cell("%orc runs --limit 5")
    assert run_id in repr(table) and table.to_dicts()[0]["run"] == run_id and "<table" in table._repr_html_()
    ip.cell(f"%orc run {path} --out other")                            # waits (headless: defer)
    assert len(ip.cell("%orc runs --status waiting")[0]) == 1
    assert len(ip.cell("%orc runs --pipeline tiny --limit 1")[0]) == 1
    assert len(ip.cell("%orc runs --pipeline nope")[0]) == 0
    shown, _, _ = ip.cell(f"%orc show {run_id[:6]}")
    text = repr(shown)
    assert f"run {run_id}" in text and "say" in text and "scripted:echo" in text and "decisions" in text
    assert "<svg" in shown._repr_html_()
    table, _, _ = ip.cell(f"%orc sql SELECT step_id, status FROM steps WHERE status = 'succeeded' "
                          f"AND run_id = '{run_id}' ORDER BY step_id")
    assert table.columns == ["step_id", "status"] and [r[0] for r in table.rows] == ["done", "ok", "say"]
    empty, _, _ = ip.cell("%orc sql SELECT * FROM runs WHERE 1 = 0")
    assert repr(empty) == "(no rows)"


def test_defer_approve_resume(ip, tmp_path):
    path = write(tmp_path)
    ip.cell(f"%orc run {path}")                      # headless: the approval defers
    res = ip.ns["tiny"]
    assert res.status == "waiting"
    _, out, _ = ip.cell(f"%orc approve {res.run_id} ok --comment 'looks right'")
    assert out.startswith(f"approved: run {res.run_id} step ok (round 1)")
    ip.cell(f"%orc resume {res.run_id} --out resumed")
    assert ip.ns["resumed"].status == "succeeded" and ip.ns["resumed"]["done"] == "[ECHO] SAY HELLO"
    table, _, _ = ip.cell("%orc sql SELECT decision, comment, mode FROM approvals")
    assert table.rows == [("approved", "looks right", "interactive")]


def test_run_model_and_resume_in_the_background(ip, tmp_path):
    path = write(tmp_path, "nomodel.yaml", "name: nomodel\nsteps:\n  - id: a\n    prompt: Hi there\n"
                                          "  - id: gate\n    approval: ok?\n    needs: [a]\n")
    ip.cell(f"%orc run {path} --model scripted:zed")
    res = ip.ns["nomodel"]
    assert res.status == "waiting" and res["a"] == "[zed] Hi there"
    ip.cell(f"%orc approve {res.run_id} gate")
    handle, _, _ = ip.cell(f"%orc resume {res.run_id} --background --no-cache --out later")
    assert type(handle).__name__ == "RunHandle" and ip.ns["later"] is handle
    done, _, _ = ip.cell("await later")
    assert done.status == "succeeded" and done.run_id == res.run_id


def test_approve_reject_and_changes(ip, tmp_path):
    path = write(tmp_path)
    ip.cell(f"%orc run {path}")
    rid = ip.ns["tiny"].run_id
    ip.cell(f"%orc approve {rid} ok --reject -m 'not now'")
    ip.cell(f"%orc resume {rid}")
    assert ip.ns["tiny"].status == "failed" and "not now" in ip.ns["tiny"].error
    ip.cell(f"%orc run {path} --out second")
    rid2 = ip.ns["second"].run_id
    ip.cell(f"%orc approve {rid2} ok --changes --comment 'say it louder'")
    ip.cell(f"%orc resume {rid2} --approval auto --out second")
    assert ip.ns["second"].status == "succeeded"
    assert "say it louder" in ip.ns["second"]["say"]


def test_models_and_help(ip):
    table, _, _ = ip.cell("%orc models")
    names = [r["provider"] for r in table]
    assert "scripted" in names and "openai" in names
    assert not any("sk-" in str(v) for r in table.rows for v in r)
    _, out, _ = ip.cell("%orc")
    for sub in ("load PATH", "run NAME|PATH", "runs", "show RUN", "resume RUN", "approve RUN STEP", "sql QUERY",
                "models", "graph NAME|PATH"):
        assert sub in out
    _, out2, _ = ip.cell("%orc help")
    assert out2 == out
