"""`%orc tools` and tool calls in the notebook's views (a real InteractiveShell)."""
from __future__ import annotations

import sys

PIPE = f"""name: glossed
mcp:
  demo: {{command: [{sys.executable}, -m, orchestrator_nb.testing.mcp_demo]}}
steps:
  - id: ask
    model: scripted:echo
    tools: [mcp:demo/glossary, write_file]
    prompt: Explain neap
"""


def test_orc_tools_lists_builtins_and_a_pipelines_mcp_server(ip, tmp_path, monkeypatch):
    monkeypatch.setenv("ORC_MCP_CONFIG", str(tmp_path / "none.yaml"))
    value, _, _ = ip.cell("%orc tools --no-mcp")
    tools = {row["tool"]: row for row in value}
    assert {"fetch", "search", "read_file", "list_files", "write_file", "python", "shell"} <= set(tools)
    assert "[off: tools: {allow: [...]}]" in tools["shell"]["what it does"]
    (tmp_path / "glossed.yaml").write_text(PIPE)
    value, _, _ = ip.cell(f"%orc tools {tmp_path / 'glossed.yaml'}")
    tools = {row["tool"]: row for row in value}
    assert tools["mcp:demo/glossary"]["source"] == "MCP stdio"
    assert "(read-only)" in tools["mcp:demo/glossary"]["what it does"] and "mcp:demo/note" in tools


def test_run_results_and_orc_show_list_tool_calls(ip, tmp_path, scripted):
    scripted([{"match": "neap: a tide", "reply": "A neap tide is the smallest."},
              {"match": "Explain neap", "reply": {"tool_calls": [{"name": "glossary", "arguments": {"term": "neap"}}]}}])
    (tmp_path / "glossed.yaml").write_text(PIPE)
    ip.cell(f"%orc run {tmp_path / 'glossed.yaml'} --out g")
    result = ip.ns["g"]
    assert result["ask"] == "A neap tide is the smallest."
    html = result._repr_mimebundle_()["text/html"]
    assert "orc-tool-calls" in html and "glossary" in html and "neap: a tide just after" in html
    assert "1 tool call(s): glossary" in result._repr_mimebundle_()["text/plain"]
    shown, _, _ = ip.cell(f"%orc show {result.run_id}")
    assert "tool calls" in shown._repr_html_() and "glossary" in repr(shown)
