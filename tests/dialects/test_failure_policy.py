"""Failure policies: native `on_error: continue` (carry on, the run can succeed) and `fail_at_end`
(carry on, the run ends failed), and py-orc's `on_failure: continue|skip`, which keeps py-orc's
meaning: the run finishes, is reported failed, and `orc run` exits 1."""
from __future__ import annotations

import json
import os

import pytest

from orchestrator_nb.cli.main import main

NATIVE = """\
name: policies
steps:
  - id: bad
    code: raise RuntimeError("disk full")
    on_error: {policy}
  - id: after_bad
    code: output = "never"
    needs: [bad]
  - id: independent
    code: output = "still ran"
"""

PYORC = """\
id: keep-going
parameters:
  word: {{type: string, default: tea}}
steps:
  - id: shout
    tool: terminal
    action: execute
    parameters:
      command: "echo 'no such host' >&2; exit 7"
    on_failure: {policy}
  - id: save
    tool: filesystem
    action: write
    parameters:
      path: out/word.txt
      content: "{{{{ word }}}}"
"""


def run(tmp_path, capsys, text: str, expect: int) -> dict:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    code = main(["run", str(path), "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == expect, f"exit {code}\n{out.out}\n{out.err}"
    return json.loads(out.out)


def step_rows(run_id: str) -> dict:
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import run_detail
    detail = run_detail(Store(os.environ["ORC_DB"]), run_id)
    return detail, {s["step_id"]: s["status"] for s in detail["steps"] if s["item_index"] == -1}


def test_continue_carries_on_and_the_run_succeeds(tmp_path, capsys):
    result = run(tmp_path, capsys, NATIVE.format(policy="continue"), expect=0)
    detail, steps = step_rows(result["run_id"])
    assert result["status"] == "succeeded"
    assert steps == {"bad": "failed", "after_bad": "skipped", "independent": "succeeded"}


def test_fail_at_end_carries_on_then_the_run_fails_with_exit_1(tmp_path, capsys):
    result = run(tmp_path, capsys, NATIVE.format(policy="fail_at_end"), expect=1)
    detail, steps = step_rows(result["run_id"])
    assert result["status"] == "failed"
    assert steps == {"bad": "failed", "after_bad": "skipped", "independent": "succeeded"}
    assert result["outputs"]["independent"] == "still ran"
    assert detail["run"]["error"] == "step 'bad' failed (on_error: fail_at_end): RuntimeError: disk full"


def test_fail_stops_the_run(tmp_path, capsys):
    result = run(tmp_path, capsys, NATIVE.format(policy="fail").replace("  - id: independent\n",
                                                                        "  - id: independent\n    needs: [bad]\n"),
                 expect=1)
    _, steps = step_rows(result["run_id"])
    assert result["status"] == "failed" and steps["bad"] == "failed"
    assert "succeeded" not in steps.values()                      # nothing after it ran


def test_the_format_documents_all_three_words():
    from orchestrator_nb.spec.format import json_schema
    field = json_schema()["$defs"]["StepSpec"]["properties"]["on_error"]
    assert field["enum"] == ["fail", "continue", "fail_at_end"]
    assert "fail_at_end" in field["description"] and "exit 1" in field["description"]


def test_an_unknown_word_is_one_line_with_a_suggestion(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(NATIVE.format(policy="fail_at_the_end"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "p.yaml:5: steps[0].on_error: 'fail_at_the_end' is not one of fail, continue, fail_at_end" in err
    assert "did you mean 'fail_at_end'" in err


@pytest.mark.parametrize("policy", ["continue", "skip"])
def test_pyorc_on_failure_continue_finishes_the_run_and_exits_1(tmp_path, capsys, policy):
    result = run(tmp_path, capsys, PYORC.format(policy=policy), expect=1)
    detail, steps = step_rows(result["run_id"])
    assert result["status"] == "failed"
    assert steps == {"shout": "failed", "save": "succeeded"}     # the later step still ran
    assert (tmp_path / "out" / "word.txt").read_text() == "tea"
    assert detail["run"]["error"].startswith("step 'shout' failed (on_error: fail_at_end): ")
    assert "status 7: no such host" in detail["run"]["error"]


def test_pyorc_failure_routed_to_a_handler_step_is_handled(tmp_path, capsys):
    text = PYORC.format(policy="recover") + """\
  - id: recover
    tool: filesystem
    action: write
    parameters:
      path: out/recovered.txt
      content: recovered
"""
    result = run(tmp_path, capsys, text, expect=0)
    _, steps = step_rows(result["run_id"])
    assert result["status"] == "succeeded"
    assert steps == {"shout": "failed", "save": "skipped", "recover": "succeeded"}


def test_convert_writes_the_native_word(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(PYORC.format(policy="continue"), encoding="utf-8")
    assert main(["convert", str(path)]) == 0
    assert "on_error: fail_at_end" in capsys.readouterr().out
