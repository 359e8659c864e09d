"""`orc notebook` end to end: real papermill kernels, the real CLI in a subprocess, a real store."""
from __future__ import annotations

import json
import os
import re
import sys

import nbformat
import pytest

from batchkit import NOTEBOOK, calls, run_orc, sql

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def _outputs_text(path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or json.dumps(out.get("data", {})))
            parts.extend(out.get("traceback", []))
    return "\n".join(parts)


@pytest.mark.notebooks
def test_three_parameter_sets_each_linked_to_their_pipeline_runs(headless_env, tmp_path):
    (tmp_path / "params.yaml").write_text("topic: volcanoes\naudience: geologists\n")
    sets = [
        (["-p", "topic=tides"], {"topic": "tides"}, None),
        (["-p", "topic=comets", "-p", "audience=experts"], {"topic": "comets", "audience": "experts"},
         str(tmp_path / "out" / "{name}-{topic}-{run_id}.ipynb")),
        (["-f", tmp_path / "params.yaml"], {"topic": "volcanoes", "audience": "geologists"}, None),
    ]
    ids = []
    for args, params, out in sets:
        proc = run_orc("notebook", NOTEBOOK, *([out] if out else []), *args, "-p", "model=scripted:echo",
                       "--approval", "auto", "--json")
        assert proc.returncode == 0, proc.stderr
        outcome = json.loads(proc.stdout)
        ids.append(outcome["nb_run_id"])
        # console progress: a line per step, seen from the store's journal
        assert re.search(r"\] \w{8} outline +succeeded in", proc.stderr), proc.stderr
        assert re.search(r"\] \w{8} explain +succeeded in", proc.stderr), proc.stderr
        assert outcome["status"] == "succeeded" and len(outcome["runs"]) == 1
        path = outcome["output_path"]
        if out is None:
            assert path.endswith(f".orc/notebooks/{outcome['nb_run_id']}.ipynb")
        else:
            assert path.endswith(f"out/03-batch-and-papermill-{params['topic']}-{outcome['nb_run_id']}.ipynb")
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["papermill"]["parameters"] == dict(params, model="scripted:echo")
        text = _outputs_text(path)
        run_id = outcome["runs"][0]["run_id"]
        assert f"run {run_id} · pipeline explainer" in text                      # text progress in the output
        assert re.search(r"\[\d\d:\d\d:\d\d\] outline +succeeded in", text)
        assert f"explain {params['topic']} to {params.get('audience', 'children')}" in text
    rows = sql("SELECT nb_run_id, status, exit_code, parameters, input_path, duration_s FROM notebook_runs "
               "ORDER BY started_at")
    assert [r[0] for r in rows] == ids and {r[1] for r in rows} == {"succeeded"} and {r[2] for r in rows} == {0}
    assert all(r[4] == str(NOTEBOOK) and r[5] > 0 for r in rows)
    for (nb_run_id, *_), (_, params, _) in zip(rows, sets):
        runs = sql("SELECT status, notebook_path, inputs FROM runs WHERE nb_run_id = ?", [nb_run_id])
        assert len(runs) == 1 and runs[0][0] == "succeeded" and runs[0][1] == str(NOTEBOOK)
        assert json.loads(runs[0][2])["topic"] == params["topic"]
    assert len(calls(headless_env["log"])) == 6


def test_defer_approve_resume_from_the_shell_repeats_no_model_call(headless_env):
    log = headless_env["log"]
    first = run_orc("notebook", NOTEBOOK, "-p", "topic=eclipses", "-p", "model=scripted:echo")
    assert first.returncode == 3, first.stderr
    m = re.search(r"orc approve (\w+) review +\(then: orc notebook --resume (\w+)\)", first.stdout)
    assert m, first.stdout
    run_id, nb_run_id = m.groups()
    assert [c["prompt"].strip()[:30] for c in calls(log)] == ["List three key facts about ecl"]
    assert sql("SELECT status FROM runs WHERE run_id = ?", [run_id]) == [("waiting",)]
    assert sql("SELECT status, exit_code FROM notebook_runs")[0] == ("waiting", 3)

    early = run_orc("notebook", "--resume", nb_run_id)                 # not decided yet: still waiting
    assert early.returncode == 3, early.stderr
    approve = run_orc("approve", run_id, "review", "--comment", "fine")
    assert approve.returncode == 0, approve.stderr
    done = run_orc("notebook", "--resume", nb_run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"run {run_id} · pipeline explainer (resumed)" in done.stderr

    prompts = [c["prompt"] for c in calls(log)]
    assert len(prompts) == 2 and len(set(prompts)) == 2                  # outline once, explain once: 0 repeats
    assert sql("SELECT count(*) FROM runs") == [(1,)]                    # the same run continued
    assert sql("SELECT step_id, count(*) FROM steps WHERE step_id IN ('outline', 'explain') GROUP BY step_id "
               "ORDER BY step_id") == [("explain", 1), ("outline", 1)]
    assert sql("SELECT decision, comment, mode FROM approvals") == [("approved", "fine", "cli")]
    status, code, resumes, out = sql("SELECT status, exit_code, resumes, output_path FROM notebook_runs")[0]
    assert (status, code, resumes) == ("succeeded", 0, 2)
    assert "Using this outline, explain eclipses" in _outputs_text(out)


def test_orc_resume_finishes_a_notebook_made_run_too(headless_env):
    first = run_orc("notebook", NOTEBOOK, "-p", "topic=auroras", "-p", "model=scripted:echo", "-q")
    assert first.returncode == 3
    run_id = re.search(r"orc approve (\w+) review", first.stdout).group(1)
    assert run_orc("approve", run_id, "review").returncode == 0
    # the magic's --model is not part of the stored pipeline text, so `orc resume` (outside the
    # notebook) takes the model from the environment, as a cron job would set it
    resumed = run_orc("resume", run_id, env=dict(os.environ, ORC_MODEL="scripted:echo"))
    assert resumed.returncode == 0, resumed.stderr
    prompts = [c["prompt"] for c in calls(headless_env["log"])]
    assert len(prompts) == 2 and len(set(prompts)) == 2
    assert sql("SELECT status FROM runs") == [("succeeded",)]


CASES = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
         "source": 'case = "ok"'},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": (
            "import sys, orchestrator_nb as orc\n"
            "from orchestrator_nb.report.console import ConsoleProgress\n"
            "spec = '''\nname: capped\nbudget: {max_tokens: 5}\nsteps:\n"
            "  - {id: a, model: 'scripted:echo', prompt: 'a long enough prompt to pass five tokens'}\n"
            "  - {id: b, needs: [a], model: 'scripted:echo', prompt: 'more'}\n'''\n"
            "if case == 'budget':\n"
            "    r = await orc.arun(spec, subscribers=[ConsoleProgress(sys.stdout, live=False)])\n"
            "    print(r.status)")},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": (
            "if case == 'fail':\n    raise ValueError('boom in the third cell')")},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "print('end')"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_failure_keeps_the_error_cell_and_budget_exits_4(headless_env, tmp_path):
    path = tmp_path / "cases.ipynb"
    cases = json.loads(json.dumps(CASES))
    for i, cell in enumerate(cases["cells"]):
        cell["id"] = f"cell-{i}"
    path.write_text(json.dumps(cases))
    failed = run_orc("notebook", path, tmp_path / "failed.ipynb", "-p", "case=fail")
    assert failed.returncode == 1, failed.stderr
    assert re.search(r"error: cell In \[\d\]: ValueError: boom in the third cell", failed.stdout), failed.stdout
    nb = nbformat.read(str(tmp_path / "failed.ipynb"), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError"                  # papermill's error cell, kept
    assert "end" not in _outputs_text(tmp_path / "failed.ipynb")
    assert sql("SELECT status, exit_code FROM notebook_runs") == [("failed", 1)]

    budget = run_orc("notebook", path, tmp_path / "budget.ipynb", "-p", "case=budget")
    assert budget.returncode == 4, budget.stdout + budget.stderr
    assert sql("SELECT status FROM runs") == [("budget_exceeded",)]
    assert "budget_exceeded" in _outputs_text(tmp_path / "budget.ipynb")


def test_a_notebook_without_a_kernelspec_runs_on_python(headless_env, tmp_path):
    """papermill said "No language found in notebook"; our magics need a Python kernel anyway."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("topic = 'x'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('topic is', topic)")]
    nb.metadata = {}  # no kernelspec, no language_info
    path = tmp_path / "bare.ipynb"
    nbformat.write(nb, str(path))
    done = run_orc("notebook", path, tmp_path / "bare-out.ipynb", "-p", "topic=tides")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "topic is tides" in _outputs_text(tmp_path / "bare-out.ipynb")
    # braces in a path are part of its name: papermill filled them from the parameters a second time
    # (`dir{topic}/nb.ipynb` with -p topic=evil ran `direvil/nb.ipynb`)
    (tmp_path / "dir{topic}").mkdir()
    (tmp_path / "direvil").mkdir()
    nbformat.write(nb, str(tmp_path / "dir{topic}" / "nb.ipynb"))
    nb.cells[1].source = "print('the wrong notebook')"
    nbformat.write(nb, str(tmp_path / "direvil" / "nb.ipynb"))
    done = run_orc("notebook", tmp_path / "dir{topic}" / "nb.ipynb", tmp_path / "out" / "x{{topic}}.ipynb",
                   "-p", "topic=evil")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "topic is evil" in _outputs_text(tmp_path / "out" / "x{topic}.ipynb")


def test_bad_input_is_one_line_before_any_kernel(headless_env, tmp_path):
    (tmp_path / "made.ipynb").mkdir()
    for args, message in [
        (["notebook", NOTEBOOK, "-p", "topik=x"], "-p topik: "),
        (["notebook", tmp_path / "missing.ipynb"], "missing.ipynb: no such notebook"),
        (["notebook", NOTEBOOK, "out.txt"], "OUT out.txt: an output notebook must end in .ipynb"),
        (["notebook", NOTEBOOK, NOTEBOOK], "that is the input notebook, which the run would overwrite"),
        (["notebook", NOTEBOOK, tmp_path / "made.ipynb"], "that is a folder"),
        (["notebook", NOTEBOOK, "--kernel", "nope"], "--kernel nope: no such Jupyter kernel"),
        (["notebook", "--resume", "ffffffff"], "--resume ffffffff: no notebook run"),
        (["notebook"], "give the notebook to run"),
    ]:
        proc = run_orc(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert not calls(headless_env["log"])


def _start(args, env=None):
    import subprocess
    from batchkit import ORC
    return subprocess.Popen(ORC + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or dict(os.environ))


def _wait_for_calls(log, n, proc, timeout=300):
    import time
    deadline = time.time() + timeout
    while len(calls(log)) < n:
        assert proc.poll() is None and time.time() < deadline, "the notebook ended before the model was called"
        time.sleep(0.2)


def test_kill_9_of_orc_notebook_loses_nothing_and_resume_finishes(headless_env, tmp_path, monkeypatch):
    import psutil
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {match: Using this outline, delay: 60, times: 1}\n")   # the first `explain` hangs
    monkeypatch.setenv("ORC_SCRIPT", str(rules))
    log = headless_env["log"]
    proc = _start(["notebook", NOTEBOOK, "-p", "topic=storms", "-p", "model=scripted:echo", "--approval", "auto"])
    _wait_for_calls(log, 2, proc)                                             # outline done, explain in flight
    kernels = psutil.Process(proc.pid).children(recursive=True)
    proc.kill()
    proc.communicate()
    psutil.wait_procs(kernels, timeout=30)                                    # the kernel follows its parent
    (nb_run_id,), = sql("SELECT nb_run_id FROM notebook_runs")

    done = run_orc("notebook", "--resume", nb_run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    prompts = [c["prompt"].strip() for c in calls(log)]
    assert sum(p.startswith("List three key facts") for p in prompts) == 1    # the finished step is not redone
    assert sum(p.startswith("Using this outline") for p in prompts) == 2      # the call cut short is made again
    (run_id, status), = sql("SELECT run_id, status FROM runs")
    assert status == "succeeded"
    assert sql("SELECT status, resumes FROM notebook_runs") == [("succeeded", 1)]
    assert sql("SELECT count(*) FROM steps WHERE step_id = 'outline'") == [(1,)]


def test_sigterm_cancels_cleanly_with_the_output_saved(headless_env, tmp_path, monkeypatch):
    import signal
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {match: List three key facts, delay: 60}\n")
    monkeypatch.setenv("ORC_SCRIPT", str(rules))
    out = tmp_path / "cancelled.ipynb"
    proc = _start(["notebook", NOTEBOOK, out, "-p", "topic=hail", "-p", "model=scripted:echo"])
    _wait_for_calls(headless_env["log"], 1, proc)
    proc.send_signal(signal.SIGTERM)                                          # what cron's `timeout` sends
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert sql("SELECT status, exit_code FROM notebook_runs") == [("cancelled", 130)]
    assert out.exists() and "injected-parameters" in out.read_text()


FLAKY_KERNEL = """
import os, sys
marker = os.environ["FLAKY_KERNEL_MARKER"]
if not os.path.exists(marker):  # the first start dies at once, as a kernel that lost a port race does
    open(marker, "w").close()
    sys.exit(1)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def test_a_kernel_that_dies_as_it_starts_is_started_again(headless_env, tmp_path):
    """Kernels started together can race for ports and die before answering; nothing ran, so the
    notebook is started on another kernel instead of failing."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "flaky"
    spec_dir.mkdir(parents=True)
    (tmp_path / "flaky.py").write_text(FLAKY_KERNEL)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(tmp_path / "flaky.py"), "-f", "{connection_file}"],
        "display_name": "flaky", "language": "python"}))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('ran once')")]
    nbformat.write(nb, str(tmp_path / "flaky.ipynb"))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"), FLAKY_KERNEL_MARKER=str(tmp_path / "died"))
    done = run_orc("notebook", tmp_path / "flaky.ipynb", tmp_path / "out.ipynb", "--kernel", "flaky", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "died").exists()                                         # the first start did die
    assert "the kernel died as it started (before running any cell); starting another (try 2 of 3)" in done.stderr
    assert _outputs_text(tmp_path / "out.ipynb").count("ran once") == 1
    assert sql("SELECT status, exit_code FROM notebook_runs") == [("succeeded", 0)]
