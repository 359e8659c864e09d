"""Recorded model calls and tool results as JSONL cassettes (`orc cache export|import`), for replay
and sharing. A model call's line is ``{key, model, request, response, ...}``; a tool result's line
has ``"ns": "tool"`` and ``{key, tool, arguments, result}``. A line's fields are sorted; what they
hold keeps its order, since a replayed result goes back to the model as JSON text."""
from __future__ import annotations

import json
import os
import sys

from ..errors import UsageError

NAMESPACES = ("llm", "tool")  # model answers, tool results
MAX_LINE = 100_000_000  # characters: one recorded answer


def export_cassette(cache, path: str, pipeline: str | None = None) -> int:
    if path == "-":
        out = sys.stdout
    else:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            out = open(path, "w", encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from None
    n = 0
    try:
        for ns in NAMESPACES:
            for key, entry in cache.entries(ns):
                if pipeline and entry.get("pipeline") != pipeline:
                    continue
                line = {"key": key, **entry} if ns == "llm" else {"ns": ns, "key": key, **entry}
                out.write(json.dumps(dict(sorted(line.items())), ensure_ascii=False) + "\n")
                n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    return n


def import_cassette(cache, path: str) -> int:
    from ..textfile import open_regular
    try:
        f = open(open_regular(path), encoding="utf-8", errors="replace")
    except OSError as e:
        raise UsageError(f"cannot read cassette {path}: {e.strerror}") from None
    n = 0
    with f:
        for lineno, line in enumerate(iter(lambda: f.readline(MAX_LINE + 1), ""), 1):
            if len(line) > MAX_LINE:
                raise UsageError(f"{path}:{lineno}: a line of over {MAX_LINE:,} characters is not a cassette line")
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError(f"a JSON object per line, got {type(entry).__name__}")
                key = entry.pop("key")
                ns = entry.pop("ns", "llm")
                if ns not in NAMESPACES:
                    raise ValueError(f"unknown ns {ns!r}")
                needed = "response" if ns == "llm" else "result"
                if not isinstance(key, str) or len(key) != 64 or needed not in entry:
                    raise ValueError(f"needs a 64-hex `key` and a `{needed}`")
            except (ValueError, KeyError, AttributeError, TypeError, RecursionError) as e:
                raise UsageError(f"{path}:{lineno}: not a cassette line ({str(e)[:200]})") from None
            cache.put(ns, key, entry)
            n += 1
    return n
