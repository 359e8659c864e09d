"""The tools of one run: what a step's `tools:` (or a `call:` step) names, made into ``Tool`` objects.

A reference is a built-in name (``BUILTINS``), ``module:function`` (a Python function), or
``mcp:server`` (all tools of a declared MCP server) / ``mcp:server/tool`` (one). MCP servers start
the first time a step needs them and stop when the run ends (``aclose``, called by the run's
lifecycle). ``check_pipeline`` checks every reference before a run starts, without starting servers.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..errors import SpecError, suggest
from .code import PythonTool, ShellTool
from .config import declared_servers
from .files import ListFiles, ReadFile, WriteFile
from .functions import function_tool
from ..core.cache import MISS
from ..core.serialize import content_hash
from ..spec.refs import check_ref
from .mcp import Listed, McpServer, McpTool, check_declared, describe_server, listing_record
from .search import Search
from .web import Fetch

BUILTINS = {
    "fetch": "download a web page as Markdown text",
    "search": "search the web (DuckDuckGo, Brave or Tavily)",
    "read_file": "read a text file under the working directory",
    "list_files": "list files under the working directory",
    "write_file": "write a file under the run's output directory",
    "python": "run Python code in a child process (off unless the pipeline allows it)",
    "shell": "run a shell command in a child process (off unless the pipeline allows it)",
}
CODE_TOOLS = ("python", "shell")
MAX_RESULT_CHARS = 20_000


def builtin(name: str, settings: dict, workdir: Path):
    max_chars = int(settings.get("max_result_chars") or MAX_RESULT_CHARS)
    if name == "fetch":
        return Fetch(settings.get("fetch") or {}, max_chars)
    if name == "search":
        return Search(settings.get("search") or {})
    if name == "read_file":
        return ReadFile(workdir, max_chars)
    if name == "list_files":
        return ListFiles(workdir)
    if name == "write_file":
        return WriteFile()
    if name in CODE_TOOLS:
        if name not in (settings.get("allow") or ()):
            raise SpecError(f"the '{name}' tool runs code on this machine and is off",
                            hint=f"enable it for this pipeline with `tools: {{allow: [{name}]}}` at the top level")
        return PythonTool(settings) if name == "python" else ShellTool(settings)
    raise SpecError(f"unknown tool '{name}'", hint=suggest(name, BUILTINS) or
                    "built-in tools: " + ", ".join(BUILTINS) + "; or module:function, mcp:server, mcp:server/tool")


class Toolbox:
    def __init__(self, run):
        self.run = run
        self.pipeline = run.pipeline
        self.settings = dict(getattr(self.pipeline, "tools", None) or {})
        self.workdir = Path.cwd()
        self.servers: dict[str, McpServer] = {}
        self._declared: dict | None = None
        self._starting: dict[str, asyncio.Task] = {}

    def declared(self) -> dict:
        if self._declared is None:
            self._declared = declared_servers(self.pipeline)
        return self._declared

    async def server(self, name: str) -> McpServer:
        """The running server ``name`` (started on first use; steps share it)."""
        config = check_declared(name, self.declared())
        task = self._starting.get(name)
        if task is None:
            server = self.servers[name] = McpServer(name, config, str(self.workdir))
            task = self._starting[name] = asyncio.get_running_loop().create_task(server.start())
        return await asyncio.shield(task)

    async def resolve(self, refs: list, step=None) -> list:
        tools: list = []
        for ref in refs:
            if callable(ref):
                tools.append(function_tool(ref))
            elif ref.startswith("mcp:"):
                name, _, one = ref[4:].partition("/")
                server, every = await self.listing(name)
                listed = [t for t in every if not one or t.name == one]
                if one and not listed:
                    raise SpecError(f"MCP server '{name}' has no tool '{one}'",
                                    hint=suggest(one, [t.name for t in every])
                                    or "its tools: " + ", ".join(t.name for t in every))
                taken = {t.name for t in tools}
                tools += [McpTool(server, t, f"{name}__{t.name}" if t.name in taken else None,
                                  connect=lambda n=name: self.server(n)) for t in listed]
            elif ":" in ref:
                tools.append(await asyncio.to_thread(function_tool, ref))  # imports the module: off the loop
            else:
                tools.append(builtin(ref, self.settings, self.workdir))
        seen: dict[str, str] = {}
        for t in tools:
            if t.name in seen:
                where = f" in step '{step.id}'" if step is not None else ""
                raise SpecError(f"two tools are named '{t.name}'{where} ({seen[t.name]} and {t.ref})",
                                hint="a model tells tools apart by name: rename one of the functions")
            seen[t.name] = t.ref
        return tools

    async def listing(self, name: str):
        """(server, its tools). A replay takes a recorded listing and starts the server only if a
        call is not recorded; otherwise the server starts now and its listing is recorded."""
        config = check_declared(name, self.declared())
        cache = getattr(self.run, "cache", None)
        key = content_hash("mcp-tools", name, describe_server(config))
        if cache is not None and os.environ.get("ORC_MODE", "").strip().lower() == "replay":
            hit = cache.get("tool", key)
            if hit is not MISS:
                server = self.servers.get(name) or McpServer(name, config, str(self.workdir))
                return server, [Listed(t) for t in hit["result"]]
        server = await self.server(name)
        if cache is not None:
            cache.put("tool", key, {"tool": f"mcp:{name}", "arguments": None, "result": listing_record(server),
                                    "pipeline": self.pipeline.name})
        return server, server.tools

    async def aclose(self) -> None:
        """Stop every MCP server this run started (their processes end with it)."""
        servers, self.servers = list(self.servers.values()), {}
        for task in self._starting.values():
            if not task.done():
                task.cancel()
        self._starting.clear()
        await asyncio.gather(*(s.stop() for s in servers), return_exceptions=True)


def check_pipeline(pipeline, static_dirs=None) -> None:
    """Every tool reference of every step: built-ins known (python/shell allowed), functions
    importable with a describable signature, MCP servers declared. Starts no server; errors are
    located at the step's `tools` entry. ``static_dirs``: find `module:function` tools without
    importing them (`orc validate`, dry runs), searching these folders."""
    settings = dict(getattr(pipeline, "tools", None) or {})
    servers = None
    for i, (sid, s) in enumerate(pipeline.steps.items()):
        refs = list(s.tools or ()) + ([s.action] if s.kind == "call" else [])
        for j, ref in enumerate(refs):
            field = ("tools", j) if j < len(s.tools or ()) else ("call",)
            try:
                if callable(ref):
                    function_tool(ref)
                elif ref.startswith("mcp:"):
                    servers = servers if servers is not None else declared_servers(pipeline)
                    check_declared(ref[4:].split("/")[0], servers)
                elif ":" in ref and static_dirs is not None:
                    check_ref(ref, static_dirs)
                elif ":" in ref:
                    function_tool(ref)
                else:
                    builtin(ref, settings, Path.cwd())
            except SpecError as e:
                if e.file:
                    raise
                lines = getattr(pipeline, "lines", None)
                loc = ("steps", i) + field
                raise SpecError(e.message, loc=loc, file=pipeline.source_file, line=lines.near(loc) if lines else None,
                                hint=e.hint) from None
