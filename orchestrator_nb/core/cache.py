"""Content-addressed cache: one small JSON file per key under the store's cache folder.

Files, not DuckDB rows, so a lookup is one `open` (microseconds) and any number of processes
can read and write at once: a write goes to a temporary file and is renamed into place.
Namespaces: ``step`` (python/code/sql results), ``llm`` (model responses) and ``tool`` (tool
results); the last two are the replay cassettes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .serialize import dumps

MISS = object()


class Cache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, ns: str, key: str) -> Path:
        return self.root / ns / key[:2] / f"{key}.json"

    def get(self, ns: str, key: str):
        """The stored entry (a dict), or MISS."""
        try:
            with open(self._path(ns, key), "rb") as f:
                return json.loads(f.read())
        except (OSError, ValueError):
            return MISS

    def put(self, ns: str, key: str, entry: dict) -> None:
        path = self._path(ns, key)
        data = dumps(entry).encode("utf-8", "replace")
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile  # writes are rarer than reads: not imported by runs that only read
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            pass  # a cache that cannot be written only costs a recomputation
        finally:
            if tmp is not None:  # a write that failed half way (a full disk) leaves no temporary file
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def entries(self, ns: str):
        """(key, entry) for every entry of a namespace."""
        base = self.root / ns
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            if sub.is_dir():
                for f in sorted(sub.glob("*.json")):
                    try:
                        yield f.stem, json.loads(f.read_bytes())
                    except (OSError, ValueError):
                        continue

    def clear(self, ns: str | None = None) -> int:
        import shutil
        n = 0
        for name in ([ns] if ns else ["step", "llm", "tool"]):
            base = self.root / name
            if base.is_dir():
                n += sum(1 for _ in base.rglob("*.json"))
                shutil.rmtree(base, ignore_errors=True)
        return n
