"""`orc tools [FILE] [--json]`: the built-in tools, and each declared MCP server's tools.

MCP servers come from the user's config file (``$ORC_MCP_CONFIG`` or
``~/.config/orchestrator-nb/mcp.yaml``) and, with FILE, the pipeline's `mcp:` section; each is
started to list its tools and stopped again."""
from __future__ import annotations

import asyncio
import json

NAME = "tools"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="list the tools steps may use (built-ins and MCP servers' tools)",
                        description=__doc__.split("\n", 1)[1].strip())
    sp.add_argument("file", nargs="?", help="a pipeline whose `mcp:` servers and `tools:` settings to include")
    sp.add_argument("--no-mcp", action="store_true", help="do not start MCP servers to list their tools")
    sp.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..tools.listing import list_tools, tools_text
    pipeline = None
    if args.file:
        from ..core.loader import load
        pipeline = load(args.file)
    listing = asyncio.run(list_tools(pipeline, servers=not args.no_mcp))
    if args.json:
        print(json.dumps(listing, indent=2, ensure_ascii=False, default=str))
    else:
        print(tools_text(listing))
    return 1 if any(s["error"] for s in listing["servers"]) else 0
