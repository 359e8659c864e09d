"""The child side of `isolation: process`: ``python -m orchestrator_nb.core.isolated``.

It reads one job (JSON) on stdin, confines itself (memory, CPU time, file size, Landlock: write only
in the output directory, read only Python's own files and the step's module, no network), and
only then imports the step's module or compiles its code, runs it, and writes the result as JSON
on its original stdout. Whatever the step prints goes to stderr. Nothing of the parent's
environment reaches it but what the job carries (no API keys).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import resource
import signal
import sys


def main() -> int:
    job = json.loads(sys.stdin.read())
    result_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the step's prints go to stderr; stdout carries only the result
    sys.stdout = sys.stderr
    try:
        confine(job["limits"], job["outdir"], job.get("module_paths", []), job.get("read_dirs", []))
        output = asyncio.run(_run(job))
        from orchestrator_nb.core.serialize import dumps, to_jsonable
        result_out.write(dumps({"ok": True, "output": to_jsonable(output)}))
    except BaseException as e:  # noqa: BLE001 - everything the step raises is its failure
        kind = "MemoryError" if isinstance(e, MemoryError) else type(e).__name__
        text = str(e).strip().split("\n", 1)[0]
        result_out.write(json.dumps({"ok": False, "error": f"{kind}: {text}" if text else kind}))
    result_out.flush()
    return 0


def confine(limits: dict, outdir: str, module_paths: list[str], read_dirs: list[str]) -> None:
    mem = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = max(1, int(limits["cpu_seconds"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = int(limits["output_mb"] * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG instead of killing
    os.chdir(outdir)
    from orchestrator_nb.core.landlock import restrict
    system = [sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr", "/lib", "/lib64", "/bin", "/etc",
              "/dev/null", "/dev/urandom", "/proc/self"]
    system += [p for p in sys.path if p and os.path.isdir(p) and p not in read_dirs]
    restrict(read=system + module_paths, read_dirs=read_dirs, write=[outdir, "/dev/null"],
             network=bool(limits.get("network")))


async def _run(job: dict):
    ns_values = job["values"]
    if job["kind"] == "code":
        import ast
        code = compile(job["source"], "<code>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        ns = dict(ns_values, output=None, __name__=f"orc_code_{job['step_id']}",
                  log=lambda message, level="info": print(f"[{level}] {message}", file=sys.stderr))
        result = eval(code, ns)  # noqa: S307 - confined: this process can reach almost nothing
        if code.co_flags & inspect.CO_COROUTINE:
            await result
        return ns.get("output")
    sys.path[:0] = job.get("sys_path", [])
    import importlib
    module, _, attr = job["ref"].partition(":")
    fn = importlib.import_module(module)
    for part in attr.split("."):
        fn = getattr(fn, part)
    out = fn(**ns_values["params"])
    if inspect.isawaitable(out):
        out = await out
    return out


if __name__ == "__main__":
    sys.exit(main())
