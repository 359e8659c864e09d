"""Tool calls waiting for approval in a real kernel: the card shows the tool and its arguments, and
Approve / Edit arguments / Reject (sent as comm messages, as JupyterLab sends them) decide it."""
from __future__ import annotations

import json

import pytest

from kernelkit import store_rows

pytestmark = pytest.mark.kernel

SCRIPT = """
- match: "wrote "
  reply: "Saved it."
- match: "rejected this call"
  reply: "Understood, nothing was saved."
- match: "Save the note"
  reply: {tool_calls: [{name: write_file, arguments: {path: note.txt, content: hello}}]}
"""
CELL = """%%orc saver
name: saver
steps:
  - id: save
    model: scripted:echo
    tools: [write_file]
    approve_tools: [write_file]
    prompt: Save the note
"""


@pytest.fixture
def tool_kernel(kernel_factory, tmp_path):
    script = tmp_path / "tools-script.yaml"
    script.write_text(SCRIPT)
    return kernel_factory(ORC_SCRIPT=str(script))


def card_text(kernel) -> str:
    return " ".join(str(m.get("value", "")) for m in kernel.models.values() if m.get("_model_name") == "HTMLModel")


def test_approve_runs_the_call(tool_kernel, tmp_path):
    cell = tool_kernel.execute(CELL)
    approve = tool_kernel.find("ButtonModel", description="Approve")
    assert not tool_kernel.done(cell)
    shown = card_text(tool_kernel)
    assert "Allow the tool call write_file?" in shown and "tool: write_file" in shown and "note.txt" in shown
    assert tool_kernel.find("ButtonModel", description="Edit arguments") and \
        tool_kernel.find("ButtonModel", description="Reject")
    tool_kernel.click(approve)
    assert tool_kernel.reply(cell)["status"] == "ok"
    assert "succeeded Saved it." in tool_kernel.run("print(saver.status, saver['save'])")
    assert (tmp_path / "note.txt").read_text() == "hello"
    assert store_rows(tmp_path, "SELECT tool, decision FROM tool_calls") == [("write_file", "approved")]
    assert store_rows(tmp_path, "SELECT decision, mode, round FROM approvals") == [("approved", "interactive", 1)]


def test_reject_tells_the_model(tool_kernel, tmp_path):
    cell = tool_kernel.execute(CELL)
    reject = tool_kernel.find("ButtonModel", description="Reject")
    comments = [cid for cid, m in tool_kernel.models.items() if m.get("_model_name") == "TextareaModel"
                and "Comment" in str(m.get("placeholder"))]
    tool_kernel.type_into(comments[0], "not today")
    tool_kernel.click(reject)
    assert tool_kernel.reply(cell)["status"] == "ok"
    assert "Understood, nothing was saved." in tool_kernel.run("print(saver['save'])")
    assert not (tmp_path / "note.txt").exists()
    assert store_rows(tmp_path, "SELECT decision, error FROM tool_calls") == [
        ("rejected", "The user rejected this call: not today")]


def test_edit_arguments_runs_the_edited_call(tool_kernel, tmp_path):
    cell = tool_kernel.execute(CELL)
    tool_kernel.find("ButtonModel", description="Edit arguments")
    [args] = [cid for cid, m in tool_kernel.models.items() if m.get("_model_name") == "TextareaModel"
              and "note.txt" in str(m.get("value"))]
    tool_kernel.type_into(args, json.dumps({"path": "edited.txt", "content": "edited hello"}))
    tool_kernel.click(tool_kernel.find("ButtonModel", description="Edit arguments"))
    assert tool_kernel.reply(cell)["status"] == "ok"
    assert (tmp_path / "edited.txt").read_text() == "edited hello" and not (tmp_path / "note.txt").exists()
    assert store_rows(tmp_path, "SELECT decision FROM tool_calls") == [("edited",)]
    edited = store_rows(tmp_path, "SELECT edited FROM approvals")[0][0]
    assert json.loads(edited) == {"path": "edited.txt", "content": "edited hello"}
