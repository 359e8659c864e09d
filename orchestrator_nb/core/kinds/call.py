"""`call:` steps: one tool, run directly with the step's `params` as its arguments (no model).

``call: search`` + ``params: {query: ...}`` gives the search results as the step's output; any tool
a prompt step may list works (``fetch``, ``read_file``, ``module:function``, ``mcp:server/tool``),
with the same confinement, approvals (``approve_tools``), cache and records (turn 0). The py-orc
dialect maps its ``tool:`` steps (web-search, filesystem, ...) onto these."""
from __future__ import annotations

from ...errors import OrcError
from .toolloop import ToolLoop


async def run_call(ref, params, ctx):
    tools = await ctx.tools([ref])
    if len(tools) != 1:
        raise OrcError(f"`call:` runs one tool, and {ref!r} names {len(tools)} (name one: mcp:server/tool)")
    tool = tools[0]
    waited = ctx.resume_state or {}
    loop = ToolLoop(ctx, tools, waited)
    call = {"id": f"{ctx.step.id}-{max(ctx.item, 0)}", "name": tool.name, "arguments": dict(params or {})}
    done = (waited.get("tools") or {}).get("done") or {}
    message = (await loop.run_calls([call], 0, done, []))[0]
    if message["is_error"]:
        raise OrcError(f"{tool.name}: {message['content'].removeprefix('error: ')}")
    if call["id"] in loop.values:
        return loop.values[call["id"]]
    return message["content"]  # (run before a wait: only its text was kept)
