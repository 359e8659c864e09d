"""The model that notebooks/06-research-with-tools.ipynb is recorded against: the fake OpenAI server
(real HTTP, the real `openai` SDK on our side) playing a model that researches with tools.

It answers from what each request holds, as a model would: it searches, fetches the two first
pages the search found, asks to save a report with `write_file` (the call the notebook approves),
then answers citing the pages by their URLs. The URLs come from the search results, so the pages
can be served on any port; every model turn, search and fetch result is then in the cassette.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

from orchestrator_nb.testing import FakeOpenAI

REPORT = "tides-report.md"


class ResearchModel(FakeOpenAI):
    def answer(self, h, rec, item):
        body = rec.body if isinstance(rec.body, dict) else {}
        if item is None and body.get("messages") and body.get("tools"):
            item = next_move(body["messages"])
        super().answer(h, rec, item)


def next_move(messages: list[dict]) -> dict | str:
    """The next answer, from the conversation so far (OpenAI Chat Completions messages)."""
    asked = [m for m in messages if m.get("role") == "assistant" and m.get("tool_calls")]
    if not asked:
        return {"tool_calls": [{"name": "search", "arguments": {"query": "spring and neap tides"}}]}
    results = {m["tool_call_id"]: m["content"] for m in messages if m.get("role") == "tool"}
    last = [(c["function"]["name"], c["id"]) for c in asked[-1]["tool_calls"]]
    found = json.loads(results[_first(asked, "search")])[:2]
    if last[0][0] == "search":
        return {"tool_calls": [{"name": "fetch", "arguments": {"url": r["url"]}} for r in found]}
    if last[0][0] == "fetch":
        pages = [results[call_id] for _, call_id in last]
        # the facts below are on the pages the model read (a changed page fails the recording)
        assert "new moon and full moon" in pages[0] and "14.8 days" in pages[0], pages[0][:300]
        assert "about 46%" in pages[1], pages[1][:300]
        return {"tool_calls": [{"name": "write_file", "arguments": {"path": REPORT, "content": report(found)}}]}
    return answer(found, results[last[0][1]])


def _first(asked: list[dict], name: str) -> str:
    return next(c["id"] for m in asked for c in m["tool_calls"] if c["function"]["name"] == name)


def report(found: list[dict]) -> str:
    spring, basics = found
    return (
        "# Why some high tides are higher than others\n\n"
        "- The Moon raises two bulges of water; the Sun adds a smaller pull, about 46% of the Moon's [2].\n"
        "- At new and full moon the Sun, Earth and Moon line up and the pulls add up: **spring tides**, "
        "with the highest highs and lowest lows [1].\n"
        "- At the quarter moons the pulls are at right angles and partly cancel: **neap tides**, "
        "with the smallest range [1].\n"
        "- The cycle repeats about every 14.8 days, half a lunar month [1].\n\n"
        "## Sources\n\n"
        f"1. [{spring['title']}]({spring['url']})\n"
        f"2. [{basics['title']}]({basics['url']})\n")


def answer(found: list[dict], saved: str) -> str:
    spring, basics = found
    assert saved.startswith(f"wrote {REPORT}"), saved
    return (
        "Some high tides are higher because the Sun's pull sometimes adds to the Moon's. At new and full "
        "moon the Sun, the Earth and the Moon are in a line and their pulls add up: these are spring tides, "
        "with the highest high tides and the lowest low tides [1]. At the first and third quarter moon "
        "the two pull at right angles and partly cancel, giving neap tides with the smallest range [1]. "
        "The Moon does most of the work, since the Sun's tidal pull is only about 46% of the Moon's [2], "
        f"and the cycle repeats about every 14.8 days [1]. I saved a short report as {REPORT}.\n\n"
        "Sources:\n"
        f"[1] {spring['title']}: {spring['url']}\n"
        f"[2] {basics['title']}: {basics['url']}")


@contextmanager
def vendors():
    """Start the model; yield the environment that points the notebook's kernel at it."""
    with ResearchModel() as model:
        yield {"ORC_OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": "sk-fake-openai-0123456789"}
