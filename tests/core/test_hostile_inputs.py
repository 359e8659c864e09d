"""What careless or hostile input does to a run and its store: refused up front with one line
naming the fix, never a raw error, never a store that can no longer be read, never a key shown."""
from __future__ import annotations

import asyncio
import glob
import json

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main
from orchestrator_nb.errors import OrcError, SpecError, UsageError


def one_error_line(capsys, argv, code=2) -> str:
    assert main(argv) == code, argv
    err = capsys.readouterr().err
    assert err.startswith("orc: error: ") and err.count("\n") == 1, err
    return err


def test_a_write_step_cannot_overwrite_the_store_the_repository_or_the_keys(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text("name: ok\nsteps:\n  - {id: a, code: 'output = 1'}\n")
    assert main(["run", "ok.yaml", "-q"]) == 0
    for path in (".orc/orc.duckdb", ".orc/orc.journal/x.jsonl", ".git/config", ".env", "x.duckdb"):
        (tmp_path / "kill.yaml").write_text(f"name: kill\nsteps:\n  - id: a\n    write: {{path: '{path}', "
                                            "content: pwned}\n")
        db = ["--db", "x.duckdb"] if path == "x.duckdb" else []
        assert main(["run", "kill.yaml", "-q", *db]) == 1, path
        assert "a step may not write it" in capsys.readouterr().out, path
    assert [r["pipeline"] for r in orc.runs(limit=10)][-1] == "ok"  # the history is intact
    assert not (tmp_path / ".env").exists() and not (tmp_path / ".git").exists()


def test_an_output_folder_inside_a_repositorys_git_folder_is_refused(tmp_path, capsys, monkeypatch):
    """`--outdir .git` let a write step rewrite .git/config or plant a hook."""
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / ".git" / "config").write_text("[core]\n")
    (tmp_path / "w.yaml").write_text("name: w\ninputs:\n  p: {type: string}\nsteps:\n  - id: w\n"
                                     "    write: {path: '{{ inputs.p }}', content: pwned}\n")
    for outdir in (".git", ".git/hooks", "sub/../.git"):
        err = one_error_line(capsys, ["run", "w.yaml", "-p", "p=config", "--outdir", outdir])
        assert "inside a repository's .git folder" in err and "give a folder outside .git" in err, outdir
    with pytest.raises(UsageError, match="inside a repository's .git folder"):
        orc.load(str(tmp_path / "w.yaml")).run({"p": "config"}, outdir=str(tmp_path / ".git"))
    monkeypatch.chdir(tmp_path / ".git")  # the working directory (the default output folder) inside one
    assert main(["run", "../w.yaml", "-p", "p=config", "-q", "--db", str(tmp_path / "x.duckdb")]) == 1
    assert "a step may not write it" in capsys.readouterr().out
    assert (tmp_path / ".git" / "config").read_text() == "[core]\n"


def test_a_path_that_cannot_be_a_store_is_refused_before_the_run(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text("name: ok\nsteps:\n  - {id: a, code: 'output = 1'}\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a database at all\n")
    for db, words in [("folder", "is a folder"), ("notes.txt", "is not a DuckDB database"),
                      ("/dev/null", "not a regular file"), ("", "db must be the store's path")]:
        assert words in one_error_line(capsys, ["run", "ok.yaml", "--db", db]), db
    assert not list(tmp_path.glob("*.journal"))  # nothing was recorded next to them
    with pytest.raises(UsageError, match="db must be the store's path"):
        orc.Pipeline("p", [orc.step("a", code="output = 1")]).run(db=123)


def test_lines_in_a_journal_that_orc_did_not_write_are_skipped_not_fatal(tmp_path, caplog):
    p = orc.Pipeline("p", [orc.step("a", code="output = 1")])
    p.run(db="x.duckdb", sync="none")
    (journal,) = glob.glob("x.journal/*.jsonl")
    lines = open(journal).read().splitlines(True)
    lines[1:1] = ['{"t":"step"}\n', "[1, 2, 3]\n", '{"t":"run","run_id":"zz","started_at":"x"}\n',
                  '{"t":"step","run_id":"r","step_id":"s","item_index":"x","attempt":1}\n', "garbage {\n"]
    open(journal, "w").write("".join(lines))
    assert [(r["pipeline"], r["status"]) for r in orc.runs(db="x.duckdb")] == [("p", "succeeded")]
    assert "skipped 5 journal line(s)" in caplog.text and journal in caplog.text
    p.run(db="x.duckdb")  # and later runs merge as before
    assert len(orc.runs(db="x.duckdb")) == 2


def test_keys_are_redacted_from_errors_and_stored_step_errors(tmp_path, capsys, monkeypatch):
    key = "sk-proj-SECRET" + "1234567890abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    (tmp_path / "ki.yaml").write_text("name: ki\ninputs: {k: {type: integer}}\nsteps:\n  - id: a\n"
                                      "    code: raise ValueError('leak ' + str(inputs['k']) + " + repr(key) + ")\n")
    assert key not in one_error_line(capsys, ["run", "ki.yaml", "-p", f"k={key}"])
    assert main(["run", "ki.yaml", "-p", "k=5"]) == 1
    assert key not in capsys.readouterr().out
    (stored,) = orc.sql("SELECT error FROM steps WHERE step_id = 'a'")[1]
    assert key not in stored[0] and "[redacted]" in stored[0]


def test_part_of_a_key_that_a_clipped_message_kept_is_redacted_too(tmp_path, capsys, monkeypatch):
    """A message cut short (a step's own error clipped, a vendor's echo) kept the key's first 20
    characters: only whole keys were redacted."""
    key = "sk-proj-SECRET" + "1234567890abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    (tmp_path / "cut.yaml").write_text("name: cut\nsteps:\n  - id: a\n    code: raise ValueError('key '"
                                       f" + {key[:20]!r} + '... and ...' + {key[-14:]!r})\n")
    assert main(["run", "cut.yaml"]) == 1
    shown = capsys.readouterr()
    (stored,) = orc.sql("SELECT error FROM steps WHERE step_id = 'a'")[1]
    for text in (shown.out + shown.err, stored[0]):
        assert key[:12] not in text and key[-12:] not in text and text.count("[redacted]") >= 2, text
    from orchestrator_nb.credentials import redact
    assert redact("sk-proj-SE is not enough", [key]) == "sk-proj-SE is not enough"  # under 12 characters


def test_an_input_default_of_the_wrong_type_fails_at_load():
    with pytest.raises(SpecError, match=r"inputs\.x\.default: expected integer, got 'abc'"):
        orc.load("name: d\ninputs:\n  x: {type: integer, default: abc}\nsteps:\n  - {id: a, code: 'output = 1'}\n")
    with pytest.raises(SpecError, match=r"inputs\.x\.default: 7 is not one of \[1, 2\]"):
        orc.load("name: d\ninputs:\n  x: {type: integer, default: 7, choices: [1, 2]}\n"
                 "steps:\n  - {id: a, code: 'output = 1'}\n")


def test_wrong_options_are_refused_before_anything_runs(tmp_path):
    (tmp_path / "afile").write_text("x")
    p = orc.Pipeline("p", [orc.step("a", code="output = 1")])
    for kwargs, words in [({"outdir": "afile"}, "is a file, not a folder"), ({"outdir": 5}, "outdir must be"),
                          ({"sync": "later"}, "sync must be one of"), ({"inputs": [1, 2]}, "inputs must be a mapping")]:
        with pytest.raises(UsageError, match=words):
            p.run(**kwargs)
    with pytest.raises(UsageError, match="a run id is text"):
        orc.resume(123)

    async def inside_a_loop():
        with pytest.raises(OrcError, match=r"await orc\.aresume"):
            orc.resume("abc")
    asyncio.run(inside_a_loop())
    assert orc.runs() == []


def test_a_value_that_contains_itself_is_stored_with_a_note(tmp_path):
    loop = {}
    loop["self"] = loop
    p = orc.Pipeline("p", [orc.step("a", code="d = {}; d['d'] = d; output = d")],
                     inputs={"o": {"type": "any", "required": False}})
    assert p.run({"o": loop}).status == "succeeded"
    ((pipeline, inputs),) = orc.sql("SELECT pipeline, inputs FROM runs")[1]
    assert pipeline == "p" and json.loads(inputs) == {"o": {"self": "<not stored: a circular reference>"}}
    assert json.loads(orc.sql("SELECT output FROM steps")[1][0][0]) == {"d": "<not stored: a circular reference>"}


def test_dry_run_json_and_long_table_cells(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("name: p\ninputs: {s: {type: string}}\nsteps:\n"
                                     "  - {id: a, code: \"output = inputs['s']\"}\n")
    assert main(["run", "p.yaml", "--dry-run", "--json", "-p", "s=hi"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True and [s["id"] for s in plan["steps"]] == ["a"] and plan["inputs"] == {"s": "hi"}
    assert main(["run", "p.yaml", "-q", "-p", "s=" + "x" * 100_000]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT inputs FROM runs"]) == 0
    out = capsys.readouterr().out
    assert len(out) < 1000 and out.rstrip().endswith("…")


def test_tool_call_arguments_are_refused_at_a_gate_that_reviews_an_output(tmp_path, capsys):
    (tmp_path / "gate.yaml").write_text("name: gate\nsteps:\n  - {id: draft, code: \"output = 'text'\"}\n"
                                        "  - {id: review, approval: Good?, show: '{{ steps.draft.output }}'}\n")
    assert main(["run", "gate.yaml", "-q", "--approval", "defer"]) == 3
    run_id = orc.runs()[0]["run_id"]
    capsys.readouterr()
    err = one_error_line(capsys, ["approve", run_id, "review", "--args", "{}"])
    assert "--args is for a tool call's approval" in err and "--edit" in err
    assert orc.sql("SELECT count(*) FROM approvals")[1] == [(0,)]  # nothing was decided
