"""The pipelines the server can start: the built-ins and the YAML pipelines under its root.

Listing reads YAML only (a py-orc file is translated as data): it never imports or runs a
pipeline's code. A file is a pipeline when it is a mapping with a list of `steps` (or py-orc
`tasks`); one that looks like a pipeline but cannot be read is listed under ``errors``.
Results are cached per file by modification time and size.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..core.loader import BUILTIN_DIR, builtin_path
from ..errors import OrcError, SpecError, clip
from .body import PATH_CHARS

SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "env", "build", "dist"})
MAX_DEPTH = 6         # folders below the root
MAX_FILES = 5000      # files looked at per listing
MAX_BYTES = 1_000_000  # larger YAML files are not pipelines we list

_cache: dict[str, tuple] = {}


class BadPipeline(OrcError):
    """A pipeline reference the server refuses (unknown built-in, outside the root, not a file)."""


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def list_pipelines(root_dir: str) -> dict:
    """{"pipelines": [...], "errors": [{"path", "message"}]}: built-ins first, then files by path."""
    found, errors = [], []
    for name in builtin_names():
        info = describe(builtin_path(name), name, builtin=True)
        if info is not None and "error" not in info:
            found.append(info)
    root = Path(os.path.realpath(os.path.expanduser(root_dir)))
    for path in sorted(_yaml_files(root)):
        rel = path.relative_to(root).as_posix()
        info = describe(path, rel, builtin=False)
        if info is None:
            continue
        if "error" in info:
            errors.append({"path": rel, "message": info["error"]})
        else:
            found.append(info)
    return {"pipelines": found, "errors": errors}


def resolve(ref, root_dir: str) -> tuple[Path, bool]:
    """``pipeline`` of a POST: a built-in name or a YAML path under the root -> (file, builtin)."""
    if not isinstance(ref, str) or not ref.strip():
        raise BadPipeline("pipeline is required: a built-in name (e.g. project) or a YAML path under the "
                          "server root")
    ref = ref.strip()
    if "/" not in ref and os.sep not in ref and not ref.endswith((".yaml", ".yml")):
        path = builtin_path(ref)
        if path is None:
            raise BadPipeline(f"no built-in pipeline '{clip(ref, PATH_CHARS)}' (built in: {', '.join(builtin_names())}; "
                              "or give a YAML path under the server root)")
        return path, True
    root = os.path.realpath(os.path.expanduser(root_dir))
    full = os.path.realpath(os.path.join(root, ref))  # an absolute ref stays absolute
    if not full.startswith(root.rstrip(os.sep) + os.sep):
        raise BadPipeline(f"pipeline '{clip(ref, PATH_CHARS)}' is outside the server root (give a path under {root})")
    if not os.path.isfile(full):
        raise BadPipeline(f"no pipeline file '{clip(ref, PATH_CHARS)}' under the server root (see GET /orc/api/pipelines)")
    return Path(full), False


def describe(path: Path, ref: str, builtin: bool) -> dict | None:
    """What a form needs to start ``path``: name, description, typed inputs, approval steps.
    None if the file is not a pipeline; {"error": message} if it looks like one but is broken."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = str(path)
    cached = _cache.get(key)
    if cached and cached[0] == (st.st_mtime_ns, st.st_size):
        return cached[1]
    info = _describe(path, ref, builtin, st.st_size)
    _cache[key] = ((st.st_mtime_ns, st.st_size), info)
    return info


def _describe(path: Path, ref: str, builtin: bool, size: int) -> dict | None:
    from ..core.pipeline import InputDef
    from ..dialects import translate_if_foreign
    from ..spec.yamlio import load_yaml
    from ..textfile import read_text
    if size > MAX_BYTES:
        return None
    try:
        text = read_text(path, MAX_BYTES)  # a named pipe or a device is skipped, not waited on
    except (OSError, UnicodeDecodeError):
        return None
    if "steps" not in text and "tasks" not in text:
        return None
    try:
        data, lines = load_yaml(text, ref)
    except SpecError as e:
        return {"error": str(e)} if _looks_like_pipeline(text) else None
    steps = data.get("steps", data.get("tasks")) if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return None
    try:
        data, _ = translate_if_foreign(data, lines, ref)
        inputs = []
        for name, raw in (data.get("inputs") or {}).items():
            d = InputDef.coerce(str(name), raw)
            inputs.append({"name": d.name, "type": d.type, "required": d.required, "default": d.default,
                           "description": d.description, "choices": d.choices})
    except (SpecError, AttributeError, TypeError) as e:
        message = e.message if isinstance(e, SpecError) else "inputs must be a mapping of names to types"
        return {"error": f"{ref}: inputs: {message}"}
    native = data.get("steps") if isinstance(data.get("steps"), list) else []
    return {"id": ref, "name": str(data.get("name") or path.stem), "description": data.get("description"),
            "builtin": builtin, "path": None if builtin else ref, "inputs": inputs,
            "steps": len(native),
            "approvals": [s["id"] for s in native if isinstance(s, dict) and "approval" in s and "id" in s]}


def _looks_like_pipeline(text: str) -> bool:
    return any(line.startswith(("steps:", "tasks:")) for line in text.splitlines())


def _yaml_files(root: Path):
    seen = 0
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base_depth
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS
                             and depth < MAX_DEPTH)
        for name in filenames:
            seen += 1
            if seen > MAX_FILES:
                return
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                path = Path(dirpath) / name
                if path.is_symlink() and not os.path.realpath(path).startswith(str(root) + os.sep):
                    continue  # POST refuses files outside the root: do not offer them
                yield path
