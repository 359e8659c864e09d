"""MCP servers written with the official `mcp` package, over stdio and over streamable HTTP:
declared in the user's config or a pipeline, listed by `orc tools` / `%orc tools`, called from a
pipeline, and stopped when the run ends (no process, no connection left)."""
from __future__ import annotations

import pytest
import yaml

import orchestrator_nb as orc
from toolkit import MCP_DEMO, connections_to, demo_children, logged, orc as orc_cli, stdio_demo_processes, tool_calls


@pytest.fixture
def user_config(tmp_path, monkeypatch, http_mcp):
    path = tmp_path / "mcp.yaml"
    path.write_text(yaml.safe_dump({"servers": {"demo": {"command": MCP_DEMO[0], "args": MCP_DEMO[1:]},
                                                "web": {"url": http_mcp.url}}}))
    monkeypatch.setenv("ORC_MCP_CONFIG", str(path))
    return path


def test_orc_tools_lists_stdio_and_http_servers_then_stops_them(user_config, tmp_path):
    out = orc_cli("tools", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "fetch" in text and "python" in text and "[off: `tools: {allow: [python]}` enables it]" in text
    assert f"MCP server demo (stdio: {' '.join(MCP_DEMO)})" in text
    assert "MCP server web (http: http://127.0.0.1:" in text
    for ref in ("mcp:demo/glossary", "mcp:demo/count_words", "mcp:demo/note", "mcp:web/glossary"):
        assert ref in text
    assert "Look up a word about tides" in text and "(read-only)" in text
    assert stdio_demo_processes() == []  # each listing started the stdio server and stopped it


def test_a_pipeline_calls_both_and_stops_them_after_the_run(user_config, http_mcp, fake_openai, mcp_log):
    fake_openai.push({"tool_calls": [{"name": "glossary", "arguments": {"term": "spring"}},
                                     {"name": "web__glossary", "arguments": {"term": "neap"}}]},
                     "Spring tides are big; neap tides are small.")
    spec = {"name": "both", "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["mcp:demo/glossary",
                                                                                      "mcp:web/glossary"],
                                       "prompt": "Spring versus neap?"}]}
    result = orc.run(spec)
    assert result.status == "succeeded", result.error
    sent = {t["function"]["name"] for t in fake_openai.requests[0].body["tools"]}
    assert sent == {"glossary", "web__glossary"}  # same tool name on two servers: the second is prefixed
    calls = {c["ref"]: c["result"] for c in tool_calls(result.run_id)}
    assert calls["mcp:demo/glossary"].startswith("spring: a tide just after a new or full Moon")
    assert calls["mcp:web/glossary"].startswith("neap: a tide just after the first or third quarter")
    assert [e["tool"] for e in logged(http_mcp.calls_log)][-1] == "glossary"
    assert demo_children() == [] and connections_to(http_mcp.port) == 0


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_pipeline_servers_win_over_the_users_and_env_reaches_stdio_servers(user_config, fake_openai, mcp_log):
    fake_openai.push({"tool_calls": [{"name": "count_words", "arguments": {"text": "one two three"}}]}, "three")
    spec = {"name": "own", "mcp": {"web": {"command": MCP_DEMO, "env": {"MCP_DEMO_LOG": "$MCP_DEMO_LOG"}}},
            "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["mcp:web/count_words"], "prompt": "Count"}]}
    result = orc.run(spec)
    assert result.status == "succeeded", result.error
    assert logged(mcp_log) == [{"tool": "count_words", "arguments": {"text": "one two three"},
                                "pid": logged(mcp_log)[0]["pid"]}]  # the pipeline's stdio `web`, not the user's URL
    assert tool_calls(result.run_id)[0]["result"] == "3"


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_mcp_errors_are_one_clear_line(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("ORC_MCP_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"name": "bad", "steps": [
        {"id": "ask", "model": "openai:gpt-4.1", "tools": ["mcp:nowhere"], "prompt": "hi"}]}))
    out = orc_cli("run", "p.yaml", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "p.yaml:" in out.stderr and "steps[0].tools[0]: no MCP server 'nowhere' is declared" in out.stderr

    spec = {"name": "broken", "mcp": {"gone": {"command": ["definitely-not-a-command-xyz"]}},
            "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["mcp:gone"], "prompt": "hi"}]}
    result = orc.run(spec)
    assert result.status == "failed" and "MCP server 'gone' (definitely-not-a-command-xyz) could not start" in result.error
    assert fake_openai.count == 0

    spec = {"name": "missing", "mcp": {"demo": {"command": MCP_DEMO}},
            "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["mcp:demo/nope"], "prompt": "hi"}]}
    result = orc.run(spec)
    assert result.status == "failed" and "MCP server 'demo' has no tool 'nope'" in result.error
    assert "(did you mean 'note'?)" in result.error and demo_children() == []


def test_a_server_declared_with_both_command_and_url_is_refused(tmp_path):
    (tmp_path / "p.yaml").write_text("name: x\nmcp:\n  s: {command: [a], url: 'http://x'}\n"
                                     "steps:\n  - {id: a, prompt: hi, model: 'scripted:echo'}\n")
    out = orc_cli("validate", "p.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "mcp.s: an MCP server needs `command` (stdio) or `url` (HTTP)" in out.stderr
