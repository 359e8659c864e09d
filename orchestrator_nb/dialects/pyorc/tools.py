"""Run-time helpers that translated py-orc steps call as `python:` steps.

py-orc's `filesystem` and `terminal` tools, `evaluate_condition`, the `execution` variables and
the pipeline-level `outputs:` have no native step kind; each becomes a `python: module:function`
step calling one of these. They get everything as parameters (the run's output directory comes
from `{{ run.outdir }}`), so a converted file shows exactly what runs. Files are *written* only
under the output directory; relative paths are *read* from it first, then from the working
directory (where a pipeline's input files usually are).
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TIMEOUT = 300.0  # seconds for a terminal command with no timeout of its own


def _inside(root: str, rel: str) -> Path:
    base = Path(root or ".").resolve()
    if not rel or os.path.isabs(rel) or str(rel).startswith("~"):
        raise ValueError(f"path {rel!r} must be relative to the output directory")
    target = (base / rel).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"path {rel!r} escapes the output directory (remove '..')")
    return target


def _find(root: str, path: str) -> Path:
    p = Path(os.path.expanduser(str(path).strip()))
    if p.is_absolute():
        return p
    for base in (Path(root or ".").resolve(), Path.cwd()):
        if (base / p).exists():
            return base / p
    return Path(root or ".").resolve() / p


def fs_read(path: str, root: str = ".", encoding: str = "utf-8") -> dict:
    """`tool: filesystem, action: read` -> {content, path, size}."""
    p = _find(root, path)
    if not p.is_file():
        raise FileNotFoundError(f"no file '{path}' (looked in the output directory and the working directory)")
    content = p.read_text(encoding=encoding)
    return {"content": content, "path": str(path), "size": len(content.encode(encoding))}


def fs_list(path: str = ".", root: str = ".", pattern: str = "*", recursive: bool = False) -> dict:
    """`action: list` -> {files (relative, sorted), count, path}."""
    p = _find(root, path)
    if not p.is_dir():
        raise NotADirectoryError(f"no directory '{path}'")
    found = p.rglob(pattern) if recursive else p.glob(pattern)
    files = sorted(str(f.relative_to(p)) for f in found if not f.name.startswith(".orc"))
    return {"files": files, "count": len(files), "path": str(path)}


def fs_exists(path: str, root: str = ".") -> dict:
    """`action: exists` -> {exists, is_file, is_dir, path}."""
    p = _find(root, path)
    return {"exists": p.exists(), "is_file": p.is_file(), "is_dir": p.is_dir(), "path": str(path)}


def fs_mkdir(path: str, root: str = ".") -> dict:
    """`action: mkdir` (under the output directory) -> {path, created}."""
    target = _inside(root, str(path))
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    return {"path": str(path), "created": created}


def terminal_execute(command: str, root: str = ".", timeout: float | None = None, cwd: str | None = None,
                     env: dict | None = None) -> dict:
    """`tool: terminal, action: execute`: a shell command in the output directory, killed after
    ``timeout`` seconds. A non-zero exit status fails the step (py-orc's `on_failure` decides
    what happens next). Known secrets are removed from what is kept."""
    import subprocess

    from ...credentials import redact

    if not isinstance(command, str) or not command.strip():
        raise ValueError("terminal: `command` is empty")
    workdir = _inside(root, cwd) if cwd else Path(root or ".").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    limit = float(timeout) if timeout else DEFAULT_TIMEOUT
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update({str(k): str(v) for k, v in env.items()})
    try:
        proc = subprocess.run(command, shell=True, cwd=workdir, capture_output=True, text=True, timeout=limit,
                              env=full_env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"command timed out after {limit:g} s and was killed: {redact(command)[:120]}") from None
    out = {"stdout": redact(proc.stdout), "stderr": redact(proc.stderr), "return_code": proc.returncode,
           "success": proc.returncode == 0, "command": redact(command)}
    if proc.returncode != 0:
        tail = (out["stderr"] or out["stdout"]).strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"command exited with status {proc.returncode}: {tail[0][:200]}")
    return out


def memory(op: str, root: str = ".", run_id: str = "", namespace: str = "default", key: str | None = None,
           value=None, ttl: float = 0) -> dict:
    """`tool: mcp-memory`: a key-value memory per namespace that lives as long as the run (a resumed
    run keeps it). Kept as JSON under the output directory (`.orc-memory/<run id>.json`), so
    steps in worker threads or in a resumed process see the same values. ``ttl`` seconds (0:
    for the whole run). Results have py-orc's shape (`found`, `value`, `keys`, ...)."""
    import fcntl
    import json
    import time

    folder = _inside(root, ".orc-memory")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id or 'run'}.json"
    namespace = str(namespace or "default")
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # steps of a run may run at once
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        now = time.time()
        space = {k: v for k, v in data.get(namespace, {}).items() if not v["expires"] or v["expires"] > now}
        out: dict = {"success": True, "namespace": namespace}
        if op == "store":
            space[str(key)] = {"value": value, "expires": now + float(ttl) if ttl else 0}
            out.update(key=key, stored=True, ttl=ttl)
        elif op == "retrieve":
            entry = space.get(str(key))
            out.update(key=key, found=entry is not None, **({"value": entry["value"]} if entry else {}))
        elif op == "list":
            out.update(keys=list(space), count=len(space))
        elif op == "clear":
            space = {}
            out["cleared"] = True
        else:
            raise ValueError(f"mcp-memory: unknown action {op!r}")
        data[namespace] = space
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


def evaluate_condition(condition) -> bool:
    """`action: evaluate_condition`. The condition arrives rendered: a value (from one
    `{{ expression }}`) or text such as "3 < 7" (from `{{ a }} < {{ b }}`), which is evaluated
    as a sandboxed Jinja expression."""
    if isinstance(condition, str):
        text = condition.strip()
        low = text.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0", "", "none", "null"):
            return False
        from ...spec.templates import env
        return bool(env().compile_expression(text)())
    return bool(condition)


def execution_info(run_id: str) -> dict:
    """py-orc's `{{ execution.* }}`: when and which run."""
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    return {"timestamp": now.isoformat(timespec="seconds"), "date": now.date().isoformat(),
            "time": now.strftime("%H:%M:%S"), "run_id": run_id}


def collect_outputs(**values) -> dict:
    """py-orc's pipeline-level `outputs:`, rendered once every step is done."""
    return values
