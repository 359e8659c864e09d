"""`orc` as a user types it: the tour example, exit codes, approvals from the shell, core purity."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestrator_nb.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "examples" / "tour.yaml"


def test_tour_runs_and_everything_is_in_the_store(capsys, tmp_path):
    assert main(["run", str(TOUR), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "run " in out and ": succeeded" in out
    runs = json.loads(_run_json(capsys, ["runs", "--json"]))
    assert len(runs) == 1 and runs[0]["pipeline"] == "tour" and runs[0]["status"] == "succeeded"
    run_id = runs[0]["run_id"]
    detail = json.loads(_run_json(capsys, ["show", run_id, "--json"]))
    steps = {}
    for s in detail["steps"]:
        steps.setdefault(s["step_id"], []).append((s["item_index"], s["attempt"], s["status"]))
    assert len({sid for sid in steps}) == 20
    assert steps["glossary"] == [(-1, 1, "failed"), (-1, 2, "succeeded")]          # retry, 2nd attempt
    assert [a for a in steps["summary"]] == [(-1, 1, "failed"), (-1, 2, "succeeded")]  # check failed once
    assert steps["all_good"] == [(-1, 1, "skipped")] and steps["flag_short"][-1][2] == "succeeded"  # condition
    assert sorted(i for i, _, _ in steps["stats"]) == [-1, 0, 1, 2, 3, 4]            # fan-out items
    assert {a["rel_path"].split("/")[-1] for a in detail["artifacts"]} == {"report.md", "data.json"}
    assert detail["children"][0]["pipeline"] == "tour-title"                           # sub-pipeline
    report = tmp_path / detail["artifacts"][0]["rel_path"]
    assert report.exists()

    assert main(["show", run_id[:5]]) == 0
    text = capsys.readouterr().out
    for word in ("glossary", "failed", "ConnectionError", "artifacts:", "report.md", "check failed"):
        assert word in text, word

    # plain DuckDB SQL sees runs, steps, attempts, events and artifacts
    con = duckdb.connect(str(tmp_path / ".orc" / "orc.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM runs").fetchall()[0][0] == 2  # the tour and its sub-run
        assert con.execute("SELECT max(attempt) FROM steps WHERE step_id = 'glossary'").fetchall()[0][0] == 2
        kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM events").fetchall()}
        assert {"step_retry", "check_failed", "step_skipped", "run_succeeded"} <= kinds
        assert con.execute("SELECT count(*) FROM artifacts").fetchall()[0][0] == 2
    finally:
        con.close()


def _run_json(capsys, args) -> str:
    assert main(args) == 0
    return capsys.readouterr().out


def test_a_long_runs_table_shows_its_failure_and_counts_the_rest(capsys, tmp_path):
    """A 100-step chain failing at step 60: the end-of-run table has 40 rows, the failure among
    them, and one line counting what it leaves out (`orc show` has every step)."""
    lines = ["name: long", "steps:", "  - id: s0", "    code: output = 0"]
    for i in range(1, 100):
        lines += [f"  - id: s{i}", "    code: output = 1 / 0" if i == 60 else f"    code: output = steps['s{i - 1}'] + 1"]
    spec = tmp_path / "long.yaml"
    spec.write_text("\n".join(lines) + "\n")
    assert main(["run", str(spec), "--quiet"]) == 1
    out = capsys.readouterr().out
    table = out[out.index("step "):]
    rows = [line for line in table.splitlines() if line.split() and line.split()[0][1:].isdigit()]
    assert len(rows) == 40 and rows[-1].split()[:2] == ["s60", "failed"] and rows[0].split()[0] == "s0"
    assert "… and 60 more steps (21 succeeded, 39 pending): `orc show " in table
    run_id = table.split("`orc show ")[1].split("`")[0]
    detail = json.loads(_run_json(capsys, ["show", run_id, "--json"]))
    assert len({s["step_id"] for s in detail["steps"]}) >= 61


def test_exit_codes_follow_the_run_status(capsys, tmp_path):
    (tmp_path / "fail.yaml").write_text("name: f\nsteps:\n  - id: a\n    code: raise ValueError('nope')\n")
    (tmp_path / "wait.yaml").write_text("name: w\nsteps:\n  - id: a\n    code: output = 1\n  - id: ok\n    approval: go?\n")
    assert main(["run", "fail.yaml", "-q"]) == 1
    assert "ValueError: nope" in capsys.readouterr().out
    assert main(["run", "wait.yaml", "-q"]) == 3
    out = capsys.readouterr().out
    run_id = out.split("orc approve ")[1].split()[0]
    assert main(["approve", run_id, "ok", "--reject", "-m", "not now"]) == 0
    capsys.readouterr()
    assert main(["resume", run_id, "-q"]) == 1
    assert "rejected by" in capsys.readouterr().out
    assert main(["run", "missing.yaml"]) == 2
    assert "no pipeline file 'missing.yaml'" in capsys.readouterr().err
    assert main(["show", "zzzz"]) == 2
    assert "no run 'zzzz'" in capsys.readouterr().err


def test_params_from_the_command_line_and_files(capsys, tmp_path):
    (tmp_path / "p.yaml").write_text("name: p\ninputs:\n  n: {type: integer}\n  text: {type: string}\n"
                                     "steps:\n  - id: a\n    code: output = inputs['text'] * inputs['n']\n")
    (tmp_path / "t.txt").write_text("ab")
    assert main(["run", "p.yaml", "-p", "n=2", "-p", "text=@t.txt", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"]["a"] == "abab"
    assert main(["run", "p.yaml", "-p", "n"]) == 2
    assert "-p 'n': expected key=value" in capsys.readouterr().err
    assert main(["run", "p.yaml", "-p", "n=x", "-p", "text=y"]) == 2
    assert "input 'n': expected integer" in capsys.readouterr().err


def test_unknown_options_are_one_line(capsys):
    try:
        main(["run", "--bogus"])
    except SystemExit as e:
        assert e.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments" in err or "required" in err



def test_a_run_count_below_one_is_one_line_not_a_database_error(capsys):
    for bad in ("-5", "0", "x"):
        with pytest.raises(SystemExit) as e:
            main(["runs", "--limit", bad])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err == (f"orc runs: error: argument --limit/-n: expected a whole number of at least 1, got '{bad}' "
                       "(see `orc runs --help`)\n")
    import orchestrator_nb as orc
    from orchestrator_nb.errors import UsageError
    with pytest.raises(UsageError, match="limit must be a whole number of at least 1, not -1"):
        orc.runs(limit=-1)

def test_cache_export_and_import_round_trip(capsys, tmp_path, scripted):
    (tmp_path / "p.yaml").write_text("name: c\nsteps:\n  - id: a\n    prompt: hello\n    model: scripted:x\n")
    assert main(["run", "p.yaml", "-q"]) == 0
    assert main(["cache", "export", "rec.jsonl"]) == 0
    lines = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["response"]["text"].startswith("[x] hello")
    assert main(["cache", "clear"]) == 0
    assert main(["cache", "import", "rec.jsonl"]) == 0
    capsys.readouterr()
    calls = len(scripted.calls)
    assert main(["run", "p.yaml", "-q"]) == 0
    assert len(scripted.calls) == calls  # answered from the imported recording
    (tmp_path / "bad.jsonl").write_text('{"key": "x"}\n')
    assert main(["cache", "import", "bad.jsonl"]) == 2
    assert "bad.jsonl:1: not a cassette line" in capsys.readouterr().err


def test_a_command_builds_only_its_own_parser_and_help_still_names_every_command(capsys):
    code = ("import sys\nfrom orchestrator_nb.cli.main import main\nrc = main(['schema'])\n"
            "print(sorted(m for m in ('orchestrator_nb.cli.convert', 'orchestrator_nb.cli.batch', "
            "'orchestrator_nb.cli.notebook', 'orchestrator_nb.dialects') if m in sys.modules), rc, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stderr.strip() == "[] 0"  # `orc schema` set up (and imported) no other command
    commands = ("validate", "run", "runs", "show", "approve", "cancel", "sql", "cache", "notebook", "batch",
                "convert", "tools", "stats", "budget", "export")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"\n    {c} " in out for c in commands), out
    with pytest.raises(SystemExit) as e:
        main(["rnu", "x.yaml"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and all(f"'{c}'" in err for c in commands), err
    with pytest.raises(SystemExit) as e:
        main(["convert", "--help"])  # an extra command's own options are there when it is the one run
    assert e.value.code == 0 and "usage: orc convert" in capsys.readouterr().out


def test_core_imports_no_front_end():
    code = ("import sys, orchestrator_nb, orchestrator_nb.core.executor, orchestrator_nb.core.runner, "
            "orchestrator_nb.core.loader, orchestrator_nb.store, orchestrator_nb.store.queries, "
            "orchestrator_nb.providers.gateway, orchestrator_nb.providers.registry, orchestrator_nb.api.runner\n"
            "bad = [m for m in ('IPython', 'ipywidgets', 'papermill', 'jupyter_server', 'click', 'typer', "
            "'nbformat', 'tornado') if m in sys.modules]\nprint(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_import_is_light():
    code = "import sys, orchestrator_nb; print(sorted(m for m in ('pydantic', 'jinja2', 'duckdb', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_live_progress_draws_one_line_per_step_and_plain_mode_logs():
    import asyncio
    import io

    import orchestrator_nb as orc
    from orchestrator_nb.report.console import ConsoleProgress
    from orchestrator_nb.api.runner import run_pipeline

    p = orc.Pipeline("live", [orc.step("a", code="output = 1"), orc.step("b", code="output = 2", needs=["a"]),
                              orc.step("c", code="raise ValueError('x')", on_error="continue")])
    live, plain = io.StringIO(), io.StringIO()
    asyncio.run(run_pipeline(p, db=False, subscribers=[ConsoleProgress(live, live=True),
                                                        ConsoleProgress(plain, live=False)]))
    drawn = live.getvalue()
    assert "\x1b[2K" in drawn  # lines are redrawn in place
    last = drawn.rsplit("\x1b[J", 2)[-2] if drawn.count("\x1b[J") > 1 else drawn
    for sid, word in (("a", "succeeded"), ("b", "succeeded"), ("c", "failed")):
        assert any(sid in line and word in line for line in last.splitlines()), last
    log = plain.getvalue().splitlines()
    assert any(" a " in line and "succeeded" in line for line in log)
    assert any(" c " in line and "failed" in line and "ValueError: x" in line for line in log)
    assert "\x1b" not in plain.getvalue()


def test_plain_progress_writes_a_finished_step_with_the_next_line_in_order():
    """A step that ended well is written with the next line (one write), never out of order, and
    a line about a step about to hold the loop is written before it runs."""
    import asyncio
    import io
    import time

    import orchestrator_nb as orc
    from orchestrator_nb.report.console import ConsoleProgress

    class Counted(io.StringIO):
        writes = 0
        seen_before_slow = None

        def write(self, text):
            Counted.writes += 1
            return super().write(text)

    out = Counted()

    def slow():
        Counted.seen_before_slow = out.getvalue()
        time.sleep(0.05)
        return 1

    async def nap(i):
        await asyncio.sleep(0.01)
        return i

    steps = [orc.step(f"a{i}", code=f"output = {i}") for i in range(5)] + [
        orc.step(f"n{i}", python=nap, params={"i": i}, needs=["a4"]) for i in range(5)] + [
        orc.step("slow", python=slow, needs=[f"n{i}" for i in range(5)])]
    r = orc.Pipeline("lines", steps).run(db=False, subscribers=[ConsoleProgress(out, live=False)])
    assert r.status == "succeeded"
    lines = [line.split("] ", 1)[1].split() for line in out.getvalue().splitlines() if line.startswith("[")]
    events = [(words[0], words[1]) for words in lines]
    assert len(events) == 2 * len(steps)
    for sid in (s.id for s in steps):
        assert events.index((sid, "running")) < events.index((sid, "succeeded"))
    assert [e for e in events if e[0].startswith("a")] == [
        (f"a{i}", w) for i in range(5) for w in ("running", "succeeded")]
    assert "slow                 running" in Counted.seen_before_slow  # on screen while it holds the loop
    assert "n4                   succeeded" in Counted.seen_before_slow
    assert Counted.writes < len(events)  # lines written together


def test_a_step_that_never_returns_is_cut_off_by_its_timeout_and_orc_exits(tmp_path):
    """An endless sync step with `timeout:` fails after it, for `code:` and `python:` alike, and
    `orc run` then ends (the thread it leaves behind holds up neither the run's end nor the exit)."""
    import os
    import time
    (tmp_path / "spin.py").write_text("def spin():\n    while True:\n        pass\n")
    (tmp_path / "p.yaml").write_text(
        "name: spin\nsteps:\n"
        "  - id: code_spin\n    code: |\n      while True:\n          pass\n    timeout: 1\n    on_error: continue\n"
        "  - id: python_spin\n    python: spin:spin\n    timeout: 1\n    on_error: continue\n"
        "  - id: after\n    code: output = 'still here'\n")
    t = time.monotonic()
    repo = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", "-q", "--json", "p.yaml",
                           "--db", str(tmp_path / "s.duckdb")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=repo))
    took = time.monotonic() - t
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["outputs"]["after"] == "still here"
    assert took < 30, took                                   # two 1 s timeouts, not for ever
    from orchestrator_nb.store import Store
    with Store(tmp_path / "s.duckdb").connect() as con:
        steps = {s[0]: s[1:] for s in con.execute("SELECT step_id, status, error FROM steps").fetchall()}
    assert steps["code_spin"] == ("failed", "TimeoutError: timed out after 1 s")
    assert steps["python_spin"] == ("failed", "TimeoutError: timed out after 1 s")


def test_files_and_queries_from_the_command_line_are_bounded_and_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("name: p\ninputs: {s: {type: string}}\nsteps:\n"
                                     "  - {id: a, code: \"output = len(inputs['s'])\"}\n")
    bomb = "arr: [&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]" + "".join(
        f", &{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcde", "bcdef")) + "]\n"
    (tmp_path / "bomb.yaml").write_text(bomb)
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    (tmp_path / "big.txt").write_text("x" * 5000)
    monkeypatch.setenv("ORC_MAX_INPUT_FILE_BYTES", "2000")
    for argv, words in [(["run", "p.yaml", "-p", "s=@/dev/zero"], "not a regular file"),   # never ends
                        (["run", "p.yaml", "-p", "s=@big.txt"], "ORC_MAX_INPUT_FILE_BYTES"),
                        (["run", "p.yaml", "-f", "bomb.yaml"], "ORC_MAX_YAML_EXPANSION"),
                        (["sql", ""], "no SQL statement"), (["sql", ";"], "no SQL statement"),
                        (["sql", "selec 1"], "SQL: Parser Error"),
                        (["cache", "import", "list.jsonl"], "list.jsonl:1: not a cassette line"),
                        (["cache", "import", "/dev/zero"], "not a regular file")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("orc: error: ") and err.count("\n") == 1 and words in err, (argv, err)


def test_a_step_calling_sys_exit_fails_and_the_process_goes_on(tmp_path):
    import orchestrator_nb as orc

    def leave():
        sys.exit(3)

    result = orc.Pipeline("exits", [orc.step("a", python=leave), orc.step("b", code="output = 1")]).run(
        db=str(tmp_path / "x.duckdb"))
    assert result.status == "failed" and "called sys.exit(3)" in result.error
