"""`read_file` / `list_files` (inside the working directory) and `write_file` (inside the run's
output directory).

Paths come from a model, so they are treated as hostile: absolute paths, ``~``, ``..`` that climbs
out and symlinks that lead out are refused (the path is resolved, symlinks followed, before the
check), and hidden files and folders (``.env``, ``.git``, ``.orc``: keys and the store) are never
read or listed. ``write_file`` goes through the run's artifact writer (``core.artifacts``: the same
confinement as `write:` steps), so every file is recorded with its hash.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import SpecError
from .base import Tool, ToolError, need, object_schema

MAX_LIST = 500


def inside(root: Path, rel: str, allow_root: bool = False) -> Path:
    """``rel`` resolved inside ``root`` (the working directory), or a ToolError saying why not."""
    if not isinstance(rel, str) or "\x00" in rel:
        raise ToolError("the path must be text")
    rel = rel.strip() or "."
    if os.path.isabs(rel) or rel.startswith("~"):
        raise ToolError(f"path {rel!r} must be relative to the working directory")
    base = root.resolve()
    target = (base / rel).resolve()
    if target != base and base not in target.parents:
        raise ToolError(f"path {rel!r} is outside the working directory")
    if target == base and not allow_root:
        raise ToolError(f"path {rel!r} is the working directory itself, not a file")
    parts = target.relative_to(base).parts
    if any(p.startswith(".") for p in parts):
        raise ToolError(f"path {rel!r} is hidden (names starting with '.' are not available to tools)")
    return target


class ReadFile(Tool):
    def __init__(self, workdir: Path, max_chars: int):
        super().__init__("read_file", "Read a text file under the working directory. Paths are relative to it.",
                         object_schema({"path": {"type": "string", "description": "relative file path"}},
                                       ["path"]))
        self.workdir, self.max_chars = workdir, max_chars
        self.identity = f"read_file@{workdir.resolve()}"

    async def run(self, arguments, ctx):
        target = inside(self.workdir, need(arguments, "path"))
        if not target.is_file():
            raise ToolError(f"no file {arguments['path']!r}" + (" (it is a directory: use list_files)"
                                                                 if target.is_dir() else ""))
        with open(target, "rb") as f:
            data = f.read(self.max_chars * 4 + 1)
        if b"\x00" in data[:8192]:
            raise ToolError(f"{arguments['path']!r} is a binary file ({target.stat().st_size} bytes)")
        text = data.decode("utf-8", errors="replace")
        if len(text) > self.max_chars or len(data) > self.max_chars * 4:
            text = text[:self.max_chars] + f"\n… (cut at {self.max_chars} characters)"
        return text


class ListFiles(Tool):
    def __init__(self, workdir: Path):
        super().__init__("list_files", "List files under a folder of the working directory (default: all of it).",
                         object_schema({"path": {"type": "string", "description": "relative folder, default '.'"},
                                        "recursive": {"type": "boolean", "description": "include sub-folders"}}))
        self.workdir = workdir
        self.identity = f"list_files@{workdir.resolve()}"

    async def run(self, arguments, ctx):
        folder = inside(self.workdir, arguments.get("path") or ".", allow_root=True)
        if not folder.is_dir():
            raise ToolError(f"no folder {arguments.get('path')!r}")
        base = self.workdir.resolve()
        out: list[str] = []
        walker = os.walk(folder) if arguments.get("recursive") else [next(os.walk(folder))]
        for top, dirs, files in walker:
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(top)
            for name in [d + "/" for d in dirs] + sorted(files):
                if name.startswith("."):
                    continue
                out.append(str((here / name.rstrip("/")).relative_to(base)) + ("/" if name.endswith("/") else ""))
                if len(out) >= MAX_LIST:
                    return "\n".join(out) + f"\n… (first {MAX_LIST} entries)"
        return "\n".join(out) or "(empty)"


class WriteFile(Tool):
    cacheable = False  # writing is the point: never replayed

    def __init__(self):
        super().__init__("write_file", "Write a text file under the run's output directory (created or replaced). "
                         "Paths are relative to it.",
                         object_schema({"path": {"type": "string", "description": "relative file path"},
                                        "content": {"type": "string", "description": "the whole text"}},
                                       ["path", "content"]))

    async def run(self, arguments, ctx):
        rel = need(arguments, "path")
        content = need(arguments, "content")
        if any(p.startswith(".") for p in Path(rel).parts if p not in (".", "..")):
            raise ToolError(f"path {rel!r} is hidden (names starting with '.' are not available to tools)")
        try:
            info = ctx.write_file(rel, content.encode("utf-8"))
        except SpecError as e:  # the output directory's confinement (core.artifacts.confined_path)
            raise ToolError(e.message) from None
        return f"wrote {info['path']} ({info['bytes']} bytes)"
