"""`approve_tools`: a tool call waits for a person. Headless the run ends `waiting` (exit 3);
`orc approve` then `orc resume` finish it without asking the model again or repeating a finished
call; rejecting tells the model; edited arguments are what runs."""
from __future__ import annotations

import pytest

import json

import yaml

import orchestrator_nb as orc
from orchestrator_nb.store.queries import decide, pending_approvals
from orchestrator_nb.store import Store
from toolkit import logged, orc as orc_cli, rows, tool_calls, with_toys

PIPELINE = {"name": "saver", "steps": [{
    "id": "save", "model": "openai:gpt-4.1", "tools": ["tooltoys:add", "write_file"], "approve_tools": ["write_file"],
    "prompt": "Add 2 and 3 and save the sum in sum.txt"}]}
SCRIPT = ({"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
          {"tool_calls": [{"name": "write_file", "arguments": {"path": "sum.txt", "content": "5"}},
                          {"name": "add", "arguments": {"a": 1, "b": 1}}]},
          "Saved the sum (5) in sum.txt.")


def test_headless_waits_then_approve_and_resume_repeat_nothing(fake_openai, tmp_path, toys_log):
    with_toys(tmp_path)
    (tmp_path / "saver.yaml").write_text(yaml.safe_dump(PIPELINE))
    fake_openai.push(*SCRIPT)
    first = orc_cli("run", "saver.yaml", "--outdir", "out", cwd=tmp_path)
    assert first.returncode == 3, first.stderr + first.stdout
    assert "waiting for approval: orc approve" in first.stdout
    assert fake_openai.count == 2 and not (tmp_path / "out" / "sum.txt").exists()
    assert [e["tool"] for e in logged(toys_log)] == ["add", "add"]  # the free call of turn 2 ran already
    [pending] = pending_approvals(Store())
    assert pending["step_id"] == "save" and pending["tool"]["name"] == "write_file"
    assert "tool: write_file" in pending["show"] and "path: \"sum.txt\"" in pending["show"]
    run_id = pending["run_id"]

    approved = orc_cli("approve", run_id, "save", cwd=tmp_path)
    assert approved.returncode == 0 and "approved" in approved.stdout, approved.stderr
    resumed = orc_cli("resume", run_id, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "Saved the sum (5) in sum.txt." in resumed.stdout

    assert fake_openai.count == 3                                   # only the final turn was asked
    assert [e["tool"] for e in logged(toys_log)] == ["add", "add"]  # no finished call ran again
    assert (tmp_path / "out" / "sum.txt").read_text() == "5"
    calls = tool_calls(run_id)
    assert [(c["turn"], c["position"], c["tool"], c["decision"]) for c in calls] == [
        (1, 0, "add", None), (2, 0, "write_file", "approved"), (2, 1, "add", None)]  # in the model's order
    third = fake_openai.requests[2].body["messages"]
    assert [m["content"] for m in third if m["role"] == "tool"] == ["5", "wrote sum.txt (1 bytes)", "2"]
    assert rows("SELECT decision, mode, round FROM approvals") == [{"decision": "approved", "mode": "cli", "round": 1}]
    shown = orc_cli("show", run_id, cwd=tmp_path)
    assert "tool calls:" in shown.stdout and "write_file" in shown.stdout and "approved" in shown.stdout


def test_a_rejected_call_is_not_run_and_the_model_hears_why(fake_openai, tmp_path, toys_log):
    fake_openai.push(*SCRIPT)
    first = orc.run(PIPELINE, outdir=tmp_path / "out")
    assert first.status == "waiting"
    decide(Store(), first.run_id, "save", "reject", "not in sum.txt, please", "tester", "cli")
    done = orc.resume(first.run_id)
    assert done.status == "succeeded" and not (tmp_path / "out" / "sum.txt").exists()
    refusal = [m for m in fake_openai.requests[2].body["messages"] if m["role"] == "tool"][1]
    assert refusal["content"] == "The user rejected this call: not in sum.txt, please"
    write = [c for c in tool_calls(first.run_id) if c["tool"] == "write_file"]
    assert [(c["decision"], c["result"], c["error"]) for c in write] == [
        ("rejected", None, "The user rejected this call: not in sum.txt, please")]


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_edited_arguments_are_what_runs(fake_openai, tmp_path):
    fake_openai.push(*SCRIPT)
    first = orc.run(PIPELINE, outdir=tmp_path / "out")
    out = orc_cli("approve", first.run_id, "save", "--args", json.dumps({"path": "total.txt", "content": "five"}),
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    done = orc.resume(first.run_id)
    assert done.status == "succeeded"
    assert (tmp_path / "out" / "total.txt").read_text() == "five" and not (tmp_path / "out" / "sum.txt").exists()
    result = [m for m in fake_openai.requests[2].body["messages"] if m["role"] == "tool"][1]["content"]
    assert result.startswith('(The reviewer changed the arguments to {"path": "total.txt", "content": "five"}')
    write = [c for c in tool_calls(first.run_id) if c["tool"] == "write_file"][0]
    assert write["decision"] == "edited" and write["arguments"] == {"path": "total.txt", "content": "five"}
    assert json.loads(rows("SELECT edited FROM approvals")[0]["edited"]) == {"path": "total.txt", "content": "five"}


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_bad_edited_arguments_are_refused_on_the_command_line(fake_openai, tmp_path):
    fake_openai.push(*SCRIPT)
    first = orc.run(PIPELINE, outdir=tmp_path / "out")
    out = orc_cli("approve", first.run_id, "save", "--args", "{not json", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--args is not valid JSON" in out.stderr


def test_approve_all_and_the_auto_policy(fake_openai, tmp_path, toys_log):
    fake_openai.push(*SCRIPT)
    spec = json.loads(json.dumps(PIPELINE))
    spec["steps"][0]["approve_tools"] = "all"
    result = orc.run(spec, outdir=tmp_path / "out", approval="auto")
    assert result.status == "succeeded" and (tmp_path / "out" / "sum.txt").read_text() == "5"
    assert [c["decision"] for c in tool_calls(result.run_id)] == ["approved", "approved", "approved"]
    assert rows("SELECT count(*) AS n FROM approvals WHERE mode = 'auto'") == [{"n": 3}]
    assert sorted(r["round"] for r in rows("SELECT round FROM approvals")) == [1, 2, 3]
