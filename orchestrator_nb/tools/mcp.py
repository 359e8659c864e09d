"""An MCP client on the official ``mcp`` package: servers started on demand, stopped with the run.

A server is declared once (the pipeline's ``mcp:`` section or the user's config file, see
``tools.config``): ``command`` (stdio: a child process speaking MCP on stdin/stdout) or ``url``
(streamable HTTP). The first step that names ``mcp:NAME`` starts it (one connection per run,
shared by the run's steps) and lists its tools; the run's end stops it: the stdio child process is
terminated (its whole process tree), an HTTP session is closed.

The SDK's connections live in anyio task groups, which must be entered and left by one task: each
server gets a keeper task that opens the connection, reports ready, and holds it until ``stop``.
Calls are plain requests on the session from any task. A server's stderr goes to a temporary
file, whose last lines explain a server that fails to start.

A tool's results may be replayed from the cache only when the server marks it read-only
(``readOnlyHint``): by MCP's own defaults an unannotated tool may have side effects.
"""
from __future__ import annotations

import asyncio
import re
import shlex
import tempfile

from ..credentials import getenv, redact
from ..errors import OrcError, SpecError
from .base import NAME, Tool, ToolError

DEFAULT_TIMEOUT = 60.0  # seconds to start a server, and for one call


def _require_mcp():
    """Import the SDK (~1 s) and jsonschema, which the SDK imports on the first tool result (~2 s
    building grammars): callers do it in a thread, so the run's loop never stalls on them."""
    try:
        import mcp.client.client  # noqa: F401
    except ImportError:
        raise OrcError("MCP tools need the `mcp` package: pip install 'orchestrator-nb[mcp]'") from None
    import jsonschema  # noqa: F401


def expand(value: str) -> str:
    """``$NAME`` / ``${NAME}`` -> that environment variable (or .env entry), so secrets stay out of YAML."""
    def one(m):
        name = m.group(1) or m.group(2)
        found = getenv(name)
        if found is None:
            raise OrcError(f"MCP server settings name ${name}, which is not set (export it or put it in .env)")
        return found
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, value)


def describe_server(config: dict) -> str:
    """One line naming a server, never with its secrets (env values and headers are not shown)."""
    if config.get("url"):
        return str(config["url"])
    return " ".join(_command(config))


def _command(config: dict) -> list[str]:
    cmd = config.get("command")
    words = shlex.split(cmd) if isinstance(cmd, str) else list(cmd or ())
    return words + [str(a) for a in config.get("args") or ()]


class McpServer:
    """One declared server in one run: ``await start()``, ``tools``, ``await call(...)``, ``await stop()``."""

    def __init__(self, name: str, config: dict, workdir: str | None = None):
        self.name, self.config, self.workdir = name, config, workdir
        self.timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self.tools: list = []          # the SDK's Tool objects, as listed
        self.client = None
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None
        self._stop: asyncio.Event | None = None
        self._errlog = None

    @property
    def kind(self) -> str:
        return "http" if self.config.get("url") else "stdio"

    async def start(self) -> "McpServer":
        """Connect (starting the process for stdio) and list the tools; idempotent."""
        if self._ready is None:
            await asyncio.to_thread(_require_mcp)
            loop = asyncio.get_running_loop()
            self._ready, self._stop = loop.create_future(), asyncio.Event()
            self._task = loop.create_task(self._keep(), name=f"orc-mcp-{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise OrcError(f"MCP server '{self.name}' ({describe_server(self.config)}) did not start within "
                           f"{self.timeout:g} s{self._stderr_tail()} (raise its `timeout:`)") from None
        return self

    async def _keep(self) -> None:
        from contextlib import AsyncExitStack

        from mcp import Client
        try:
            async with AsyncExitStack() as stack:
                self.client = await stack.enter_async_context(Client(await self._transport(stack), mode="auto"))
                listed = await self.client.list_tools()
                self.tools = list(listed.tools)
                if not self._ready.done():
                    self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as e:  # report a failed start to whoever waits; a stop is not an error
            if not self._ready.done():
                why = redact(f"{type(e).__name__}: {_first_line(e)}")
                self._ready.set_exception(OrcError(
                    f"MCP server '{self.name}' ({describe_server(self.config)}) could not start: {why}"
                    f"{self._stderr_tail()}"))
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self.client = None

    async def _transport(self, stack):
        if self.kind == "http":
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client
            headers = {k: expand(str(v)) for k, v in (self.config.get("headers") or {}).items()}
            # a client we make is ours to close (the SDK closes only those it makes itself)
            http = await stack.enter_async_context(create_mcp_http_client(headers=headers or None))
            return streamable_http_client(self.config["url"], http_client=http)
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client
        words = _command(self.config)
        if not words:
            raise OrcError(f"MCP server '{self.name}' has an empty command")
        env = {k: expand(str(v)) for k, v in (self.config.get("env") or {}).items()}
        self._errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        params = StdioServerParameters(command=words[0], args=words[1:], env=env or None,
                                       cwd=self.config.get("cwd") or self.workdir)
        return stdio_client(params, errlog=self._errlog)

    async def call(self, tool: str, arguments: dict):
        if self.client is None:
            raise ToolError(f"MCP server '{self.name}' is not running")
        try:
            result = await asyncio.wait_for(self.client.call_tool(tool, arguments), self.timeout)
        except asyncio.TimeoutError:
            raise ToolError(f"MCP tool {self.name}/{tool} gave no answer within {self.timeout:g} s") from None
        except ToolError:
            raise
        except Exception as e:
            why = f"{type(e).__name__}: {_first_line(e)}"
            raise ToolError(redact(f"MCP tool {self.name}/{tool} failed: {why}")) from None
        return result

    async def stop(self) -> None:
        """Close the session and stop the server process (its whole tree for stdio)."""
        if self._stop is not None:
            self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                pass
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def _stderr_tail(self, lines: int = 5) -> str:
        if self._errlog is None or self._errlog.closed:
            return ""
        try:
            self._errlog.flush()
            self._errlog.seek(0)
            tail = [ln.rstrip() for ln in self._errlog.read().splitlines() if ln.strip()][-lines:]
        except (OSError, ValueError):
            return ""
        return ("; its stderr ends: " + " | ".join(redact(t)[:200] for t in tail)) if tail else ""


def _first_line(e: BaseException) -> str:
    if isinstance(e, BaseExceptionGroup):  # anyio task groups wrap the real error
        return "; ".join(_first_line(x) for x in e.exceptions[:3])
    return (str(e).strip().splitlines() or [""])[0]


class McpTool(Tool):
    """One tool of an MCP server. ``connect()`` gives the running server (started on first use:
    a replay that answers every call from recordings never starts it)."""

    source = "mcp"

    def __init__(self, server: McpServer, listed, name: str | None = None, connect=None):
        self.server, self.remote, self.connect = server, listed.name, connect
        schema = dict(listed.input_schema or {"type": "object", "properties": {}})
        schema.pop("title", None)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        name = name or listed.name
        if not NAME.match(name):
            name = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
        super().__init__(name, listed.description or f"{listed.name} (MCP server {server.name})", schema,
                         ref=f"mcp:{server.name}/{listed.name}",
                         identity=f"mcp:{server.name}/{listed.name}@{describe_server(server.config)}")
        hints = getattr(listed, "annotations", None)
        self.cacheable = getattr(hints, "read_only_hint", None) is True

    async def run(self, arguments: dict, ctx):
        server = await self.connect() if self.connect is not None else self.server
        result = await server.call(self.remote, arguments)
        text = "\n".join(_content_text(c) for c in result.content or ())
        structured = result.structured_content
        if getattr(result, "is_error", False):
            raise ToolError(text or f"MCP tool {self.server.name}/{self.remote} reported an error")
        if structured is not None and not text:
            return structured
        return text


def _content_text(block) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return block.text
    if kind == "resource":
        res = block.resource
        return getattr(res, "text", None) or f"[resource {getattr(res, 'uri', '')}]"
    if kind in ("image", "audio"):
        return f"[{kind} {getattr(block, 'mime_type', None) or getattr(block, 'mimeType', '')}, not shown]"
    if kind == "resource_link":
        return f"[resource {getattr(block, 'uri', '')}]"
    return str(block)


def listing_record(server: McpServer) -> list[dict]:
    """A server's tools as plain data (kept with the recordings, so a replay need not start it)."""
    return [{"name": t.name, "description": t.description, "input_schema": t.input_schema,
             "read_only": getattr(getattr(t, "annotations", None), "read_only_hint", None) is True}
            for t in server.tools]


class Listed:
    """A recorded listing entry, shaped like the SDK's Tool for ``McpTool``."""

    def __init__(self, rec: dict):
        from types import SimpleNamespace
        self.name, self.description, self.input_schema = rec["name"], rec.get("description"), rec.get("input_schema")
        self.annotations = SimpleNamespace(read_only_hint=True if rec.get("read_only") else None)


def check_declared(name: str, servers: dict) -> dict:
    """The config of server ``name``, or a SpecError that lists the declared ones."""
    if name in servers:
        return servers[name]
    from ..errors import suggest
    known = ", ".join(sorted(servers)) or "none"
    raise SpecError(f"no MCP server '{name}' is declared (declared: {known})",
                    hint=suggest(name, servers) or "declare it under `mcp:` in the pipeline or in the user config "
                    "(orc tools --help says where)")


