"""Environment lookups with `.env` support (the process environment wins over the file)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def getenv(name: str) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    return dotenv_values().get(name) or None


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> dict:
    out = {}
    for raw in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        out[key.strip()] = value
    return out


def dotenv_values() -> dict:
    """`.env` in the working directory (or the file named by ORC_DOTENV)."""
    path = os.environ.get("ORC_DOTENV") or ".env"
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    return _read(os.path.abspath(path), mtime)
