"""`orc validate`, `orc run --dry-run`, `%%orc --dry-run` and `orc show` never run a pipeline's code.

A folder holds a hostile module (it writes MARKER and prints when imported) and a pipeline that
names it in every place a `module:name` reference can go; the checks must find the names
without importing the module, and still report references that do not exist.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HOSTILE = '''
import pathlib
pathlib.Path(__file__).with_name("MARKER").write_text("imported " + __name__)
print("HOSTILE MODULE RAN")


def run(**kwargs):
    return "ran"


class Plan:
    def check(self, output):
        return True
'''

PIPELINE = """
name: hostile
steps:
  - id: a
    python: hostile_mod:run
  - id: b
    python: hostile_pkg.steps:go
  - id: c
    code: "output = 1"
    check: {python: hostile_mod:Plan.check}
  - id: d
    prompt: hello
    model: scripted:x
    output: hostile_mod:Plan
"""


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "shared-repo"
    d.mkdir()
    (d / "hostile_mod.py").write_text(HOSTILE)
    pkg = d / "hostile_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(HOSTILE)      # a package's __init__ must not run either
    (pkg / "steps.py").write_text("def go(**kw):\n    return 1\n")
    (d / "pipe.yaml").write_text(PIPELINE)
    return d


def orc(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "orchestrator_nb", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def no_code_ran(folder: Path, proc=None):
    assert not (folder / "MARKER").exists(), (folder / "MARKER").read_text()
    assert not (folder / "hostile_pkg" / "MARKER").exists()
    if proc is not None:
        assert "HOSTILE" not in proc.stdout + proc.stderr


def test_validate_finds_the_names_without_importing(folder):
    p = orc("validate", "pipe.yaml", cwd=folder)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("ok: hostile — 4 steps")
    no_code_ran(folder, p)


def test_run_dry_run_imports_nothing(folder):
    p = orc("run", "pipe.yaml", "--dry-run", cwd=folder)
    assert p.returncode == 0, p.stderr
    assert "dry run: hostile" in p.stdout and "nothing ran" in p.stdout
    assert "hostile_mod:run" in p.stdout and "scripted:x" in p.stdout
    no_code_ran(folder, p)
    assert not (folder / ".orc").exists()       # no run was recorded either


def test_cell_magic_dry_run_imports_nothing(folder):
    script = textwrap.dedent("""
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        c = Config(); c.HistoryManager.hist_file = ":memory:"
        ip = InteractiveShell.instance(config=c)
        ip.run_line_magic("load_ext", "orchestrator_nb")
        body = open("pipe.yaml").read()
        r = ip.run_cell("%%orc --dry-run\\n" + body)
        assert r.success, r.error_in_exec or r.error_before_exec
        r = ip.run_cell("%%orc --dry-run\\nname: t\\nsteps:\\n  - id: a\\n    python: hostile_mod:nope\\n")
        import sys
        print("MODULES", "hostile_mod" in sys.modules, "hostile_pkg" in sys.modules)
    """)
    p = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "dry run: hostile" in p.stdout
    assert "MODULES False False" in p.stdout
    assert "UsageError: In[1]:4: steps[0].python: module 'hostile_mod' has no 'nope'" in p.stderr
    no_code_ran(folder, p)


def test_show_of_a_run_imports_nothing(folder):
    (folder / "run.yaml").write_text("name: runit\nsteps:\n  - id: a\n    python: hostile_mod:run\n")
    p = orc("run", "run.yaml", "--json", cwd=folder)   # running runs the code: that is what a run is
    assert p.returncode == 0, p.stderr
    run_id = json.loads(p.stdout.strip().splitlines()[-1])["run_id"]   # after the module's own print
    (folder / "MARKER").unlink()
    for args in (("show", run_id), ("show", run_id, "--json"), ("runs",)):
        p = orc(*args, cwd=folder)
        assert p.returncode == 0, p.stderr
        no_code_ran(folder, p)


@pytest.mark.parametrize("line, message", [
    ("output: nosuchmod:Plan", "steps[0].output: no module 'nosuchmod'"),
    ("check: {python: nosuchmod:chk}", "steps[0].check.python: no module 'nosuchmod'"),
    ("model: local:nosuch", "steps[0].model: local has no model 'nosuch' (use local:smollm2"),
    ("output: hostile_mod:Nope", "steps[0].output: module 'hostile_mod' has no 'Nope'"),
    ("check: {python: hostile_mod:Plan.chek}", "class 'Plan' has no 'chek' (did you mean 'check'?)"),
])
def test_missing_references_fail_validate_with_file_and_line(folder, line, message, capsys, monkeypatch):
    from orchestrator_nb.cli.main import main
    monkeypatch.chdir(folder)
    (folder / "bad.yaml").write_text(f"name: bad\nsteps:\n  - id: a\n    prompt: hi\n    model: scripted:x\n"
                                     f"    {line}\n".replace("    model: scripted:x\n    model:", "    model:"))
    for args in (["validate", "bad.yaml"], ["run", "bad.yaml", "--dry-run"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("orc: error: bad.yaml:"), err
        assert message in err, err
        no_code_ran(folder)
    assert "hostile_mod" not in sys.modules


def test_missing_python_step_module_and_name(folder, capsys, monkeypatch):
    from orchestrator_nb.cli.main import main
    monkeypatch.chdir(folder)
    (folder / "bad.yaml").write_text("name: bad\nsteps:\n  - id: a\n    code: 'output = 1'\n"
                                     "  - id: b\n    python: hostile_mod:runn\n")
    assert main(["validate", "bad.yaml"]) == 2
    assert capsys.readouterr().err.strip() == (
        "orc: error: bad.yaml:6: steps[1].python: module 'hostile_mod' has no 'runn' (did you mean 'run'?)")
    no_code_ran(folder)
