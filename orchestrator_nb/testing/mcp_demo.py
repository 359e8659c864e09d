"""A small real MCP server, written with the official ``mcp`` package, for tests and demos.

    python -m orchestrator_nb.testing.mcp_demo               # stdio (what `mcp: {x: {command: [...]}}` starts)
    python -m orchestrator_nb.testing.mcp_demo --http 8765   # streamable HTTP on 127.0.0.1:8765/mcp

Tools: ``glossary(term)`` and ``count_words(text)`` (read-only: their results may be replayed from
the cache) and ``note(text)`` (appends a line to ``$MCP_DEMO_NOTES`` or ``mcp-notes.txt``: a side
effect, never replayed). Each call appends a line to ``$MCP_DEMO_LOG`` when set, so a test can
count real executions.
"""
from __future__ import annotations

import argparse
import json
import os

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

GLOSSARY = {
    "tide": "the rise and fall of sea levels caused by the Moon's and the Sun's gravity",
    "neap": "a tide just after the first or third quarter of the Moon, with the least difference between high "
            "and low water",
    "spring": "a tide just after a new or full Moon, with the greatest difference between high and low water",
}
READ_ONLY = ToolAnnotations(read_only_hint=True)
app = MCPServer("orc-demo", instructions="A glossary of tides, a word counter and a notebook.")


def _log(tool: str, arguments: dict) -> None:
    path = os.environ.get("MCP_DEMO_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, "arguments": arguments, "pid": os.getpid()}) + "\n")


@app.tool(annotations=READ_ONLY)
def glossary(term: str) -> str:
    """Look up a word about tides and say what it means."""
    _log("glossary", {"term": term})
    found = GLOSSARY.get(term.strip().lower())
    if found is None:
        raise ValueError(f"no entry for {term!r}; known terms: {', '.join(sorted(GLOSSARY))}")
    return f"{term}: {found}"


@app.tool(annotations=READ_ONLY)
def count_words(text: str) -> int:
    """Count the words of a text."""
    _log("count_words", {"text": text})
    return len(text.split())


@app.tool()
def note(text: str) -> str:
    """Write a note down (appends a line to the notes file)."""
    _log("note", {"text": text})
    path = os.environ.get("MCP_DEMO_NOTES") or "mcp-notes.txt"
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return f"noted ({len(text)} characters)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="a demo MCP server (glossary, count_words, note)")
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp")
    args = parser.parse_args(argv)
    if args.http:
        app.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        app.run()


if __name__ == "__main__":
    main()
