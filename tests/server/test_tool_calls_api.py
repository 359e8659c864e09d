"""A tool call waiting for approval is listed by /orc/api/approvals (tool and arguments included),
the sidebar's decision releases it, and the run view lists the run's tool calls."""
from __future__ import annotations

from orchestrator_nb.api.runner import resume_run, run_pipeline
from orchestrator_nb.providers.scripted import script

PIPELINE = """
name: saver
steps:
  - id: save
    model: scripted:echo
    tools: [write_file]
    approve_tools: [write_file]
    prompt: Save the note
"""


async def test_a_tool_approval_in_the_sidebar_and_the_run_views_tool_calls(api, tmp_path, store):
    script([{"match": "wrote ", "reply": "Saved."},
            {"match": "Save the note", "reply": {"tool_calls": [
                {"name": "write_file", "arguments": {"path": "note.txt", "content": "hello"}}]}}])
    first = await run_pipeline(PIPELINE, approval="defer", outdir=str(tmp_path), source="test")
    assert first.status == "waiting"
    (a,) = (await api.get("approvals"))["approvals"]
    assert a["step_id"] == "save" and a["question"] == "Allow the tool call write_file?"
    assert a["tool"]["name"] == "write_file" and a["tool"]["arguments"] == {"path": "note.txt", "content": "hello"}
    code, out = await api.decide({"run_id": a["run_id"], "step_id": "save", "decision": "approve"})
    assert code == 201 and out["next"] == f"orc resume {a['run_id']}"
    done = await resume_run(a["run_id"])
    assert done.status == "succeeded" and (tmp_path / "note.txt").read_text() == "hello"
    view = await api.get("runs", a["run_id"])
    (call,) = view["tool_calls"]
    assert (call["tool"], call["turn"], call["decision"], call["result"]) == (
        "write_file", 1, "approved", "wrote note.txt (5 bytes)")
    assert call["arguments"] == {"path": "note.txt", "content": "hello"}
