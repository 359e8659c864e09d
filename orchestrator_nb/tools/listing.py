"""`orc tools` / `%orc tools`: every tool a pipeline's steps may list, MCP servers' tools included.

Declared MCP servers (the user's config, and the pipeline's when one is given) are started to ask
for their tools, then stopped again before this returns: nothing is left running.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from .config import declared_servers, user_config_path
from .mcp import McpServer, describe_server
from .toolbox import BUILTINS, CODE_TOOLS, builtin


async def list_tools(pipeline=None, servers: bool = True) -> dict:
    """{"builtins": [...], "servers": [{name, kind, target, tools: [...], error}], "config": path}."""
    settings = dict(getattr(pipeline, "tools", None) or {})
    rows = []
    for name, what in BUILTINS.items():
        off = name in CODE_TOOLS and name not in (settings.get("allow") or ())
        row = {"name": name, "ref": name, "description": what, "enabled": not off}
        if not off:
            tool = builtin(name, settings, Path.cwd())
            row.update(description=tool.description, parameters=tool.parameters, cacheable=tool.cacheable)
        rows.append(row)
    found = []
    if servers:
        declared = declared_servers(pipeline)
        started = [McpServer(n, c, str(Path.cwd())) for n, c in sorted(declared.items())]
        results = await asyncio.gather(*(s.start() for s in started), return_exceptions=True)
        try:
            for server, res in zip(started, results):
                row = {"name": server.name, "kind": server.kind, "target": describe_server(server.config),
                       "tools": [], "error": None}
                if isinstance(res, BaseException):
                    row["error"] = str(res)
                else:
                    row["tools"] = [{"name": t.name, "ref": f"mcp:{server.name}/{t.name}",
                                     "description": t.description or "",
                                     "read_only": getattr(t.annotations, "read_only_hint", None) is True,
                                     "parameters": t.input_schema} for t in server.tools]
                found.append(row)
        finally:
            await asyncio.gather(*(s.stop() for s in started), return_exceptions=True)
    return {"builtins": rows, "servers": found, "config": str(user_config_path())}


def tools_text(listing: dict) -> str:
    """The listing as the CLI and the magic print it."""
    lines = ["built-in tools (tools: [NAME]):"]
    width = max(len(r["name"]) for r in listing["builtins"])
    for r in listing["builtins"]:
        state = "" if r["enabled"] else "  [off: `tools: {allow: [" + r["name"] + "]}` enables it]"
        lines.append(f"  {r['name']:<{width}}  {r['description']}{state}")
    if not listing["servers"]:
        lines.append(f"\nno MCP servers declared (a pipeline's `mcp:` section, or {listing['config']})")
    for s in listing["servers"]:
        lines.append(f"\nMCP server {s['name']} ({s['kind']}: {s['target']}) — tools: [mcp:{s['name']}] for all")
        if s["error"]:
            lines.append(f"  error: {s['error']}")
        for t in s["tools"]:
            ro = " (read-only)" if t["read_only"] else ""
            desc = " ".join((t["description"] or "").split())
            lines.append(f"  {t['ref']:<28} {desc[:90]}{ro}")
    return "\n".join(lines)
