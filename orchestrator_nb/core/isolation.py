"""`isolation: process`: `code` and `python` steps run in a child process that can reach almost nothing.

The child (``core.isolated``) gets only JSON values (params, inputs, finished outputs, item), no
environment secrets, a memory cap, a CPU-time cap, a file-size cap, the output directory as its
working directory and only writable place, read access to Python's own files and the step's
module, and no network (Linux Landlock; where the kernel lacks it, the caps and the clean
environment still apply and the step's log says so). The step's `timeout` (default
``DEFAULT_SECONDS``) bounds its wall time; the result must be JSON.
"""
from __future__ import annotations

import asyncio
import importlib.machinery
import json
import os
import sys

from ..errors import SpecError
from .serialize import dumps, to_jsonable

DEFAULT_SECONDS = 60.0
DEFAULTS = {"memory_mb": 1024, "output_mb": 16, "network": False}
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")


def limits_of(setting) -> dict | None:
    """The step's effective isolation (None: in-process)."""
    if setting in (None, "none"):
        return None
    if setting == "process":
        return dict(DEFAULTS)
    return {**DEFAULTS, **{k: v for k, v in setting.items() if v is not None}}


async def run_isolated(kind: str, action, params: dict, ctx, limits: dict, timeout: float | None):
    timeout = timeout or DEFAULT_SECONDS
    outdir = os.path.abspath(str(ctx.outdir))
    os.makedirs(outdir, exist_ok=True)
    scope = ctx.scope
    values = {"params": params, "inputs": ctx.inputs, "steps": dict(ctx.outputs), "item": scope.get("item"),
              "index": scope.get("index"), "iteration": scope.get("iteration"), "previous": scope.get("previous"),
              "run_id": ctx.run_id,
              "feedback": str(ctx.feedback) if ctx.feedback is not None else None}
    job = {"kind": kind, "step_id": ctx.step_id, "outdir": outdir, "values": to_jsonable(values),
           # the CPU cap is a backstop a second behind the wall-time timeout, so that a step that
           # spins reads "timed out after N s", never (under load, racing) "CPU time limit reached"
           "limits": {**limits, "cpu_seconds": timeout + 1}}
    if kind == "code":
        job["source"] = action[1]
    else:
        ref = action if isinstance(action, str) else f"{action.__module__}:{action.__qualname__}"
        paths, dirs, sys_path = module_location(ref.partition(":")[0], ctx.pipeline)
        job.update(ref=ref, module_paths=paths, read_dirs=dirs, sys_path=sys_path)
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1", HOME=outdir)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orchestrator_nb.core.isolated", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=outdir,
        start_new_session=True)
    cap = int(limits["output_mb"] * 1024 * 1024) + 4096
    try:
        out, err = await asyncio.wait_for(_talk(proc, dumps(job).encode(), cap), timeout + 2)
    except asyncio.TimeoutError:
        _kill(proc)
        await proc.wait()
        raise TimeoutError(f"isolated step stopped after {timeout:g} s") from None
    except asyncio.CancelledError:
        _kill(proc)
        raise
    if err.strip():
        ctx.log(err.decode("utf-8", "replace").strip()[-2000:])
    if len(out) > cap:
        raise RuntimeError(f"isolated step output is over the {limits['output_mb']} MB limit (isolation.output_mb)")
    if not out:
        sig = -proc.returncode if proc.returncode and proc.returncode < 0 else None
        why = {9: "killed (memory or CPU limit)", 24: "CPU time limit reached", 25: "file size limit reached"}
        raise RuntimeError(f"isolated step ended without a result: {why.get(sig, f'exit code {proc.returncode}')}")
    result = json.loads(out)
    if not result["ok"]:
        error = result["error"]
        if error.startswith("MemoryError"):
            error += f" (isolation.memory_mb is {limits['memory_mb']})"
        elif "Permission denied" in error or error.startswith("PermissionError"):
            error += " (an isolated step writes only inside the output directory)"
        raise RuntimeError(error)
    return result["output"]


async def _talk(proc, data: bytes, cap: int):
    proc.stdin.write(data)
    await proc.stdin.drain()
    proc.stdin.close()
    out, err = await asyncio.gather(_read(proc.stdout, cap, lambda: _kill(proc)), _read(proc.stderr, 64 * 1024))
    await proc.wait()
    return out, err


async def _read(stream, cap: int, over=None) -> bytes:
    """Everything up to ``cap`` bytes (and one more, to tell it was over); past that ``over()`` is
    called (the result pipe: the child is killed), or the rest is read and dropped (its prints)."""
    parts, size = [], 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(parts)
        if size <= cap:
            parts.append(chunk[:cap + 1 - size])
        size += len(chunk)
        if size > cap and over is not None:
            over()
            return b"".join(parts)


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


def module_location(module: str, pipeline) -> tuple[list[str], list[str], list[str]]:
    """Where a step's module lives, found without importing it: (paths to read, directories the
    import system may list, sys.path entries the child needs)."""
    search = list(sys.path)
    extra = [os.getcwd()]
    if pipeline.source_file and not pipeline.source_file.startswith("<"):
        extra.insert(0, os.path.dirname(os.path.abspath(pipeline.source_file)))
    top = module.split(".")[0]
    spec = importlib.machinery.PathFinder.find_spec(top, extra + search)
    if spec is None or not spec.origin:
        raise SpecError(f"cannot find module '{top}'", hint="is it next to the pipeline file or installed?")
    if spec.submodule_search_locations:
        root = list(spec.submodule_search_locations)[0]
        return [root], [os.path.dirname(root)], [os.path.dirname(root)]
    return [spec.origin], [os.path.dirname(spec.origin)], [os.path.dirname(spec.origin)]
