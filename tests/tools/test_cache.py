"""Tool results are cached and replayed like model calls: a re-run makes no request and runs no tool;
cassettes carry tool results (and MCP listings) too, so a replay needs neither the vendor nor the
MCP server; tools with side effects are never replayed."""
from __future__ import annotations

import json

import pytest

import orchestrator_nb as orc
from toolkit import MCP_DEMO, demo_children, logged, orc as orc_cli, tool_calls

SCRIPT = ({"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}},
                          {"name": "glossary", "arguments": {"term": "tide"}}]},
          {"tool_calls": [{"name": "shout", "arguments": {"text": "five"}}]},
          "FIVE, and a tide is the rise and fall of the sea.")


def pipeline(**step) -> dict:
    return {"name": "cached", "mcp": {"demo": {"command": MCP_DEMO, "env": {"MCP_DEMO_LOG": "$MCP_DEMO_LOG"}}},
            "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["tooltoys:add", "tooltoys:shout", "mcp:demo"],
                       "prompt": "Add 2 and 3, shout it, explain tide.", **step}]}


def test_a_rerun_replays_model_and_tool_calls(fake_openai, toys_log, mcp_log):
    fake_openai.push(*SCRIPT)
    first = orc.run(pipeline())
    assert first.status == "succeeded" and fake_openai.count == 3
    assert len(logged(toys_log)) == 2 and len(logged(mcp_log)) == 1

    again = orc.run(pipeline())
    assert again.status == "succeeded" and again["ask"] == first["ask"]
    assert fake_openai.count == 3                                       # 0 requests
    assert len(logged(toys_log)) == 2 and len(logged(mcp_log)) == 1     # 0 tool executions
    replayed = tool_calls(again.run_id)
    assert len(replayed) == 3 and all(c["cached"] for c in replayed)
    assert {c["tool"]: c["result"] for c in replayed} == {c["tool"]: c["result"] for c in tool_calls(first.run_id)}


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_no_cache_does_everything_again(fake_openai, toys_log, mcp_log):
    fake_openai.push(*SCRIPT)
    orc.run(pipeline())
    fake_openai.push(*SCRIPT)
    fresh = orc.run(pipeline(), use_cache=False)  # --no-cache: everything again
    assert fake_openai.count == 6 and len(logged(toys_log)) == 4 and len(logged(mcp_log)) == 2
    assert not any(c["cached"] for c in tool_calls(fresh.run_id))


def test_cassettes_replay_without_the_vendor_or_the_mcp_server(fake_openai, tmp_path, toys_log, mcp_log, monkeypatch):
    fake_openai.push(*SCRIPT)
    assert orc.run(pipeline()).status == "succeeded"
    out = orc_cli("cache", "export", "rec.jsonl", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in (tmp_path / "rec.jsonl").read_text().splitlines()]
    assert sum(1 for x in lines if "ns" not in x) == 3                            # model answers
    assert sorted(x["tool"] for x in lines if x.get("ns") == "tool") == [
        "mcp:demo", "mcp:demo/glossary", "tooltoys:add", "tooltoys:shout"]      # results + the listing

    monkeypatch.setenv("ORC_DB", str(tmp_path / "other" / "orc.duckdb"))       # a fresh store, as in CI
    assert orc_cli("cache", "import", "rec.jsonl", cwd=tmp_path).returncode == 0
    fake_openai.stop()                                                          # no vendor at all
    monkeypatch.setenv("ORC_MODE", "replay")
    replay = orc.run(pipeline())
    assert replay.status == "succeeded", replay.error
    assert replay["ask"] == "FIVE, and a tide is the rise and fall of the sea."
    assert len(logged(toys_log)) == 2 and len(logged(mcp_log)) == 1
    assert demo_children() == []


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_replay_fails_clearly_on_an_unrecorded_tool_result(fake_openai, monkeypatch, toys_log, mcp_log):
    fake_openai.push(*SCRIPT)
    assert orc.run(pipeline()).status == "succeeded"
    from orchestrator_nb.store import Store
    Store().cache.clear("tool")
    monkeypatch.setenv("ORC_MODE", "replay")
    result = orc.run(pipeline())
    assert result.status == "failed"
    assert "replay mode: no recorded result of the tool" in result.error and len(logged(toys_log)) == 2


@pytest.mark.slow  # an MCP server or `orc` processes: seconds each
def test_side_effects_are_never_replayed(fake_openai, tmp_path, mcp_log):
    script = ({"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "A"}},
                              {"name": "note", "arguments": {"text": "remember this"}}]}, "done")
    notes = tmp_path / "notes.txt"
    spec = pipeline(tools=["write_file", "mcp:demo/note"], prompt="Write a.txt and note it")
    spec["mcp"]["demo"]["env"]["MCP_DEMO_NOTES"] = str(notes)
    fake_openai.push(*script)
    orc.run(spec, outdir=tmp_path / "one")
    again = orc.run(spec, outdir=tmp_path / "two")
    assert fake_openai.count == 2                         # the model's answers are replayed...
    assert (tmp_path / "two" / "a.txt").read_text() == "A"  # ...the write and the note are done again
    assert notes.read_text() == "remember this\nremember this\n"
    assert not any(c["cached"] for c in tool_calls(again.run_id))


def test_a_cassette_keeps_structured_results_as_they_were(fake_openai, tmp_path, monkeypatch):
    """A result's JSON goes to the model as text: a cassette must give back its keys in their order
    (a sorted copy is another request, a replay miss)."""
    from orchestrator_nb.testing.fake_search import FakeSearch
    spec = {"name": "found", "tools": {"search": {"provider": "brave"}},
            "steps": [{"id": "ask", "model": "openai:gpt-4.1", "tools": ["search"], "prompt": "Find tides"}]}
    with FakeSearch() as search:
        search.configure("brave")
        search.results["*"] = [{"title": "Tides", "url": "https://example.org/tides", "snippet": "The Moon..."}]
        fake_openai.push({"tool_calls": [{"name": "search", "arguments": {"query": "tides"}}]}, "Read example.org.")
        assert orc.run(spec).status == "succeeded"
        assert orc_cli("cache", "export", "rec.jsonl", cwd=tmp_path).returncode == 0
        [line] = [json.loads(x) for x in (tmp_path / "rec.jsonl").read_text().splitlines() if '"ns": "tool"' in x]
        assert list(line) == sorted(line) and list(line["result"][0]) == ["title", "url", "snippet"]

        monkeypatch.setenv("ORC_DB", str(tmp_path / "other" / "orc.duckdb"))
        assert orc_cli("cache", "import", "rec.jsonl", cwd=tmp_path).returncode == 0
        fake_openai.stop()
        monkeypatch.setenv("ORC_MODE", "replay")
        replay = orc.run(spec)
    assert replay.status == "succeeded", replay.error
    assert replay["ask"] == "Read example.org." and len(search.requests) == 1
