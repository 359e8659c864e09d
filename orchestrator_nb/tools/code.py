"""`python` and `shell`: the two tools that run code a model wrote. Off unless the pipeline says
``tools: {allow: [python, shell]}`` *and* a step lists them (checked when the pipeline loads and
again when a run resolves its tools).

What runs, exactly: ``python`` runs the code with this interpreter (``python -I -c CODE``:
isolated mode, no user site-packages, no PYTHON* variables); ``shell`` runs ``/bin/sh -c
COMMAND``. Either way in a new child process (its own process group, killed whole on timeout),
with the run's output directory as its working directory, an environment without credentials
(every variable whose name looks like a key, token, secret or password is removed, as is every
value of a known key), standard input closed, ``timeout`` seconds (``tools: {timeout: N}``, default
30) and at most 64 KB of output kept. The child can still read and write anything the user
running orc can: for untrusted models also set ``approve_tools: [python, shell]``.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

from ..credentials import known_secrets
from .base import Tool, ToolError, need, object_schema

TIMEOUT = 30.0
MAX_OUTPUT = 64_000
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)


def clean_env() -> dict:
    secrets = set(known_secrets())
    return {k: v for k, v in os.environ.items() if not _SECRET_NAME.search(k) and v not in secrets}


class _CodeTool(Tool):
    cacheable = False
    runs_code = True

    def __init__(self, name, description, arg, arg_doc, settings):
        super().__init__(name, description, object_schema({arg: {"type": "string", "description": arg_doc}}, [arg]))
        self.arg = arg
        self.timeout = float(settings.get("timeout") or TIMEOUT)

    def argv(self, source: str) -> list[str]:
        raise NotImplementedError

    async def run(self, arguments, ctx):
        source = need(arguments, self.arg)
        cwd = ctx.outdir.resolve()
        cwd.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            *self.argv(source), cwd=str(cwd), env=clean_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        try:
            out, timed_out = await asyncio.wait_for(_read(proc.stdout), self.timeout), False
        except asyncio.TimeoutError:
            out, timed_out = b"", True
        except asyncio.CancelledError:
            _kill(proc)
            raise
        if timed_out:
            _kill(proc)
            await proc.wait()
            raise ToolError(f"{self.name}: stopped after {self.timeout:g} s (the pipeline's `tools: {{timeout: N}}` "
                            "allows more)")
        code = await proc.wait()
        text = out[:MAX_OUTPUT].decode("utf-8", errors="replace")
        if len(out) > MAX_OUTPUT:
            text += f"\n… (output cut at {MAX_OUTPUT} bytes)"
        return {"exit_code": code, "output": text}


async def _read(stream) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        if size <= MAX_OUTPUT:
            chunks.append(chunk)
        size += len(chunk)


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class PythonTool(_CodeTool):
    def __init__(self, settings):
        super().__init__("python", "Run Python code in a fresh process (working directory: the run's output "
                         "directory). Print what you want to see; returns the exit code and output.",
                         "code", "Python source to run", settings)

    def argv(self, source):
        return [sys.executable, "-I", "-c", source]


class ShellTool(_CodeTool):
    def __init__(self, settings):
        super().__init__("shell", "Run a shell command (/bin/sh) in the run's output directory; returns the exit "
                         "code and output.", "command", "the command line", settings)

    def argv(self, source):
        return ["/bin/sh", "-c", source]
