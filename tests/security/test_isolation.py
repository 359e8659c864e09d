"""`isolation: process` / `--isolate`: code the user does not trust runs in a child process with time,
memory and output limits, the output directory as its only writable place, no network and no
secrets; a step that breaks a limit fails with the reason and the run's other records stay."""
from __future__ import annotations

import socket
import sys
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main as orc_main
from orchestrator_nb.core.landlock import abi

needs_landlock = pytest.mark.skipif(not sys.platform.startswith("linux") or abi() < 4,
                                    reason="file and network confinement need Linux Landlock ABI 4+")


def run(tmp_path, code, **step):
    p = orc.load({"name": "iso", "steps": [
        {"id": "before", "code": "output = 'kept'"},
        {"id": "s", "code": code, "isolation": step.pop("isolation", "process"), "needs": ["before"], **step}]})
    return p.run(db=str(tmp_path / ".orc" / "orc.duckdb"), outdir=str(tmp_path / "out"))


def test_an_isolated_step_computes_with_the_run_values(tmp_path):
    p = orc.load({"name": "iso", "inputs": {"n": {"type": "integer", "default": 4}}, "steps": [
        {"id": "a", "code": "output = [1, 2, 3]"},
        {"id": "b", "code": "output = sum(steps['a']) * inputs['n'] + params['k']", "params": {"k": 1},
         "isolation": "process"},
        {"id": "c", "code": "output = [item * 2]", "for_each": "{{ steps.a.output }}", "isolation": "process"}]})
    r = p.run(db=False, outdir=str(tmp_path))
    assert r.status == "succeeded", r.error
    assert r["b"] == 25 and r["c"] == [[2], [4], [6]]


def test_an_endless_loop_is_stopped_at_the_timeout(tmp_path):
    t = time.monotonic()
    r = run(tmp_path, "while True:\n    pass", timeout=2)
    assert time.monotonic() - t < 15
    assert r.status == "failed" and "timed out after 2 s" in r.error, r.error
    assert r["before"] == "kept"
    rows = orc.sql("SELECT step_id, status FROM steps WHERE item_index = -1 ORDER BY step_id",
                   db=str(tmp_path / ".orc" / "orc.duckdb"))[1]
    assert rows == [("before", "succeeded"), ("s", "failed")]


def test_allocating_10_gb_fails_with_the_memory_limit(tmp_path):
    r = run(tmp_path, "x = bytearray(10 * 1024 ** 3)\noutput = len(x)")
    assert r.status == "failed" and "MemoryError" in r.error and "isolation.memory_mb is 1024" in r.error, r.error
    assert r["before"] == "kept"


@needs_landlock
def test_writing_outside_the_output_folder_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    r = run(tmp_path, f"open({str(target)!r}, 'w').write('x')\noutput = 'wrote'")
    assert r.status == "failed" and "PermissionError" in r.error, r.error
    assert not target.exists()
    inside = run(tmp_path, "open('inside.txt', 'w').write('fine')\noutput = 'ok'")
    assert inside.status == "succeeded" and (tmp_path / "out" / "inside.txt").read_text() == "fine"


@needs_landlock
def test_no_network_and_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-isolation-secret-000000")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        r = run(tmp_path, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\noutput = 1")
        assert r.status == "failed" and "PermissionError" in r.error, r.error
    finally:
        server.close()
    r = run(tmp_path, "import os\noutput = os.environ.get('OPENAI_API_KEY')")
    assert r.status == "succeeded" and r["s"] is None


@needs_landlock
def test_the_dotenv_next_to_the_pipeline_is_not_readable(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=sk-ant-in-dotenv-00000000\n")
    (tmp_path / "helpers.py").write_text("def read_env():\n    return open('../.env').read()\n")
    monkeypatch.chdir(tmp_path)
    p = orc.load({"name": "peek", "steps": [{"id": "s", "python": "helpers:read_env", "isolation": "process"}]})
    r = p.run(db=False, outdir=str(tmp_path / "out"))
    assert r.status == "failed" and "PermissionError" in r.error, r.error
    assert "sk-ant" not in r.error


def test_output_over_the_limit_is_refused(tmp_path):
    r = run(tmp_path, "output = 'x' * (3 * 1024 * 1024)", isolation={"output_mb": 1})
    assert r.status == "failed" and "output_mb" in r.error, r.error


def test_isolate_on_the_command_line_imports_nothing_of_the_pipeline_in_this_process(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hostile.py").write_text(
        "import pathlib\npathlib.Path('imported-in-parent').write_text('x')\n"
        "def go(n):\n    return n + 1\n")
    (tmp_path / "p.yaml").write_text("name: p\nsteps:\n  - id: s\n    python: hostile:go\n    params: {n: 1}\n")
    assert orc_main(["run", "p.yaml", "--isolate", "--outdir", "out", "--quiet"]) == 0, capsys.readouterr().err
    assert not (tmp_path / "imported-in-parent").exists()
    assert (tmp_path / "out" / "imported-in-parent").exists()  # the child imported it, in the output folder
    assert "hostile" not in sys.modules
