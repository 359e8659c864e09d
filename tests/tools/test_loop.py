"""The tool loop's rules: schemas from Python functions, mistakes the model hears about, max_turns,
the budget every turn, output/check on the final answer, models without tools, and the format's
new keys (with errors located in the file)."""
from __future__ import annotations

import json

import pytest

import orchestrator_nb as orc
import tooltoys
from orchestrator_nb.tools.functions import FunctionTool
from toolkit import orc as orc_cli, tool_calls


def one_step(**step) -> dict:
    return {"name": "loop", "steps": [{"id": "s", "model": "scripted:echo", "prompt": "Compute things", **step}]}


def test_a_functions_signature_and_docstring_become_its_schema():
    add, shout = FunctionTool(tooltoys.add), FunctionTool(tooltoys.shout)
    assert add.spec == {"name": "add", "description": "Add two integers.", "parameters": {
        "type": "object", "additionalProperties": False, "required": ["a"], "properties": {
            "a": {"type": "integer", "description": "the first number"},
            "b": {"type": "integer", "default": 0, "description": "the second number (default 0)"}}}}
    assert shout.parameters["properties"]["times"] == {"type": "integer", "default": 1,
                                                       "description": "how many times to repeat it"}
    assert add.ref == "tooltoys:add" and add.cacheable and add.identity.startswith("tooltoys:add#")


def test_the_model_hears_about_its_mistakes_and_goes_on(scripted, toys_log):
    scripted([{"match": "division by zero", "reply": "Sorry: 4 / 0 has no value; 2 + 2 = 4."},
              {"match": "Compute things", "reply": {"tool_calls": [
                  {"name": "add", "arguments": {"a": "two"}},                   # wrong type
                  {"name": "multiply", "arguments": {"a": 2}},                 # no such tool
                  {"name": "add", "arguments": {"a": 2, "b": 2, "c": 9}},      # unknown argument
                  {"name": "divide", "arguments": {"a": 4, "b": 0}},          # the function raises
                  {"name": "add", "arguments": {"a": 2, "b": 2}}]}}])
    result = orc.run(one_step(tools=["tooltoys:add", "tooltoys:divide"]))
    assert result.status == "succeeded", result.error
    assert result["s"] == "Sorry: 4 / 0 has no value; 2 + 2 = 4."
    errors = [c["error"] for c in tool_calls(result.run_id)]
    assert errors[0].startswith("invalid arguments: a: Input should be a valid integer")
    assert errors[1] == "there is no tool named 'multiply'; the tools are: add, divide"
    assert errors[2].startswith("invalid arguments: c: Extra inputs are not permitted")
    assert errors[3] == "ZeroDivisionError: float division by zero"
    assert errors[4] is None and tool_calls(result.run_id)[4]["result"] == 4


def test_max_turns_stops_a_model_that_never_answers(scripted):
    scripted([{"match": ".", "reply": {"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}}])
    result = orc.run(one_step(tools=["tooltoys:add"], max_turns=3))
    assert result.status == "failed"
    assert "the model still called tools after 3 turns (max_turns)" in result.error
    assert len(tool_calls(result.run_id)) == 3


def test_the_budget_is_checked_before_every_turn(scripted):
    scripted([{"match": ".", "reply": {"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}}])
    spec = one_step(tools=["tooltoys:add"], max_turns=50, max_tokens=20)
    spec["budget"] = {"max_tokens": 2000}
    result = orc.run(spec)
    # each turn's request grows; the turn whose worst case (input + 20) would cross the budget is not sent
    assert result.status == "budget_exceeded" and "token budget" in result.error and "was not sent" in result.error
    assert 1 <= len(tool_calls(result.run_id)) < 50


def test_output_and_check_apply_to_the_final_answer(scripted):
    scripted([{"match": "did not pass", "reply": '{"total": 5}'},
              {"match": "\n5$", "reply": '{"total": 4}'},
              {"match": "Compute things", "reply": {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}}])
    result = orc.run(one_step(tools=["tooltoys:add"],
                              output={"schema": {"type": "object", "properties": {"total": {"type": "integer"}},
                                                 "required": ["total"]}},
                              check={"expr": "output['total'] == 5", "max_attempts": 2}))
    assert result.status == "succeeded", result.error
    assert result["s"] == {"total": 5}
    assert [(c["attempt"], c["tool"]) for c in tool_calls(result.run_id)] == [(1, "add")]
    from orchestrator_nb.providers.scripted import ScriptedProvider
    assert len(ScriptedProvider.calls) == 3 and "did not pass a quality check" in ScriptedProvider.calls[-1]["prompt"]


def test_a_model_without_tools_says_so_and_a_chain_falls_back(scripted):
    alone = orc.run(one_step(model="local:smollm2", tools=["tooltoys:add"]))
    assert alone.status == "failed" and "local:smollm2 cannot call tools" in alone.error
    scripted([{"match": "Compute", "reply": "4"}])
    chain = orc.run(one_step(model=["local:smollm2", "scripted:echo"], tools=["tooltoys:add"]))
    assert chain.status == "succeeded" and chain["s"] == "4"


def test_call_steps_run_one_tool_directly_and_can_wait_for_approval(tmp_path, toys_log):
    result = orc.run({"name": "direct", "steps": [
        {"id": "sum", "call": "tooltoys:add", "params": {"a": 20, "b": 22}},
        {"id": "loud", "call": "tooltoys:shout", "params": {"text": "{{ steps.sum.output }}", "times": 2}}]})
    assert result["sum"] == 42 and result["loud"] == "42 42"
    assert [(c["turn"], c["tool"]) for c in tool_calls(result.run_id)] == [(0, "add"), (0, "shout")]

    spec = {"name": "gated", "steps": [{"id": "w", "call": "write_file", "approve_tools": ["write_file"],
                                        "params": {"path": "x.txt", "content": "x"}}]}
    waiting = orc.run(spec, outdir=tmp_path / "o")
    assert waiting.status == "waiting" and not (tmp_path / "o" / "x.txt").exists()
    assert orc_cli("approve", waiting.run_id, "w", cwd=tmp_path).returncode == 0
    done = orc.resume(waiting.run_id)
    assert done.status == "succeeded" and done["w"] == "wrote x.txt (1 bytes)"
    assert (tmp_path / "o" / "x.txt").read_text() == "x"


def test_tools_in_for_each_items(scripted):
    scripted([{"match": "\n(\\d+)$", "reply": "done"},
              {"match": "item 1", "reply": {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 1}}]}},
              {"match": "item 2", "reply": {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 2}}]}}])
    result = orc.run({"name": "fan", "steps": [{"id": "s", "model": "scripted:echo", "for_each": [1, 2],
                                                "tools": ["tooltoys:add"], "prompt": "item {{ item }}"}]})
    assert result.status == "succeeded" and result["s"] == ["done", "done"]
    assert sorted((c["item_index"], c["result"]) for c in tool_calls(result.run_id)) == [(0, 2), (1, 4)]


@pytest.mark.parametrize("step, message", [
    ({"id": "a", "python": "tooltoys:add", "tools": ["fetch"]}, "steps[0].tools: 'tools' only applies to prompt steps"),
    ({"id": "a", "prompt": "x", "tools": ["fecth"]}, "steps[0].tools[0]: unknown tool 'fecth' (did you mean 'fetch'?)"),
    ({"id": "a", "prompt": "x", "tools": ["tooltoys:nothing"]}, "steps[0].tools[0]: module 'tooltoys' has no 'nothing'"),
    ({"id": "a", "prompt": "x", "tools": ["no such thing"]}, "steps[0].tools[0]: invalid a tool 'no such thing'"),
    ({"id": "a", "prompt": "x", "max_turns": 0}, "steps[0].max_turns: must be an integer >= 1, not 0"),
    ({"id": "a", "prompt": "x", "approve_tools": "some"}, "steps[0].approve_tools: 'some' is not one of all"),
])
def test_format_errors_are_located(tmp_path, step, message):
    import shutil

    from toolkit import HERE
    shutil.copy(HERE / "tooltoys.py", tmp_path / "tooltoys.py")
    step = dict(step, model="scripted:echo") if "prompt" in step else step
    (tmp_path / "p.json").write_text(json.dumps({"name": "p", "steps": [step]}))
    (tmp_path / "p.yaml").write_text((tmp_path / "p.json").read_text())
    out = orc_cli("validate", "p.yaml", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr


def test_the_schema_describes_the_new_keys():
    out = json.loads(orc_cli("schema", cwd=".").stdout)
    step = out["$defs"]["StepSpec"]["properties"]
    assert {"tools", "max_turns", "approve_tools", "call"} <= set(step)
    assert {"mcp", "tools"} <= set(out["properties"])
    assert set(out["$defs"]["McpServerSpec"]["properties"]) >= {"command", "args", "env", "url", "headers"}
