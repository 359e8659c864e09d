"""A prompt step with two Python tools and an MCP server's tools, through the real SDKs against each
fake vendor (OpenAI chat completions, OpenAI Responses, Anthropic messages), streamed and not: the
scripted tool calls run (the first turn's two in parallel), their results go back in the vendor's
own format, the final answer is the output, and tool_calls holds every call with its turn."""
from __future__ import annotations

import pytest

import orchestrator_nb as orc
from toolkit import MCP_DEMO, demo_children, logged, tool_calls

VENDORS = {"chat": ("fake_openai", "openai:gpt-4.1"), "responses": ("fake_openai", "openai-responses:gpt-4.1"),
           "anthropic": ("fake_anthropic", "anthropic:claude-sonnet-4-5")}
FINAL = "The sum is FIVE, and a neap tide is the smallest one."


def pipeline(model: str) -> dict:
    return {"name": "vendors", "mcp": {"demo": {"command": MCP_DEMO, "env": {"MCP_DEMO_LOG": "$MCP_DEMO_LOG"}}},
            "steps": [{"id": "ask", "model": model, "tools": ["tooltoys:add", "tooltoys:shout", "mcp:demo"],
                       "prompt": "Add 2 and 3, shout the result in words, and explain 'neap'."}]}


class Tokens:
    """A subscriber that wants streamed tokens (so the providers stream)."""

    def __init__(self):
        self.text = []

    def handle(self, ev):
        if ev.kind == "token":
            self.text.append(ev.data["text"])


def sent_tools(vendor: str, body: dict) -> set[str]:
    if vendor == "chat":
        return {t["function"]["name"] for t in body["tools"]}
    return {t["name"] for t in body["tools"]}


def sent_results(vendor: str, body: dict) -> dict[str, str]:
    """The tool results a request carries: call id -> content, in the vendor's own shape."""
    if vendor == "chat":
        return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}
    if vendor == "responses":
        return {i["call_id"]: i["output"] for i in body["input"] if i.get("type") == "function_call_output"}
    return {b["tool_use_id"]: b["content"] for m in body["messages"] if m["role"] == "user"
            and isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"}


def sent_calls(vendor: str, body: dict) -> list[tuple[str, str]]:
    """The assistant's earlier tool calls a request repeats: (id, name)."""
    if vendor == "chat":
        return [(c["id"], c["function"]["name"]) for m in body["messages"] if m.get("tool_calls")
                for c in m["tool_calls"]]
    if vendor == "responses":
        return [(i["call_id"], i["name"]) for i in body["input"] if i.get("type") == "function_call"]
    return [(b["id"], b["name"]) for m in body["messages"] if m["role"] == "assistant"
            and isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_use"]


@pytest.mark.parametrize("stream", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["json", "stream"])
@pytest.mark.parametrize("vendor", list(VENDORS))
def test_two_python_tools_and_an_mcp_server_through_each_vendor(vendor, stream, request, toys_log, mcp_log):
    fixture, model = VENDORS[vendor]
    server = request.getfixturevalue(fixture)
    server.push({"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}},
                                {"name": "glossary", "arguments": {"term": "neap"}}]},
                {"tool_calls": [{"name": "shout", "arguments": {"text": "five"}}], "text": "Now shouting."},
                FINAL)
    tokens = Tokens()
    result = orc.run(pipeline(model), subscribers=[tokens] if stream else [])

    assert result.status == "succeeded", result.error
    assert result["ask"] == FINAL
    assert server.count == 3 and all(r.stream == stream for r in server.requests)
    assert stream == ("".join(tokens.text).endswith("smallest one."))
    first, second, third = (r.body for r in server.requests)
    assert sent_tools(vendor, first) == {"add", "shout", "glossary", "count_words", "note"}
    assert sent_results(vendor, first) == {}
    results = sent_results(vendor, second)
    assert sorted(results.values()) == ["5", "neap: a tide just after the first or third quarter of the Moon, "
                                             "with the least difference between high and low water"]
    assert [name for _, name in sent_calls(vendor, second)] == ["add", "glossary"]
    assert set(results) == {cid for cid, _ in sent_calls(vendor, second)}
    assert "FIVE" in sent_results(vendor, third).values() and len(sent_results(vendor, third)) == 3

    calls = tool_calls(result.run_id)
    calls.sort(key=lambda c: (c["turn"], c["tool"]))
    assert [(c["turn"], c["tool"], c["arguments"], c["result"]) for c in calls] == [
        (1, "add", {"a": 2, "b": 3}, 5),
        (1, "glossary", {"term": "neap"},
         "neap: a tide just after the first or third quarter of the Moon, with the least difference between high "
         "and low water"),
        (2, "shout", {"text": "five"}, "FIVE")]
    assert all(c["error"] is None and not c["cached"] and c["step_id"] == "ask" and c["attempt"] == 1 for c in calls)
    assert {c["ref"] for c in calls} == {"tooltoys:add", "tooltoys:shout", "mcp:demo/glossary"}
    assert [e["tool"] for e in logged(toys_log)] == ["add", "shout"] and len(logged(mcp_log)) == 1
    assert demo_children() == []  # the MCP server stopped with the run
    assert result.tool_calls and "tool calls" in result._repr_mimebundle_()["text/html"]
