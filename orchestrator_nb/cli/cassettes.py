"""Recorded model calls as JSONL cassettes (`orc cache export|import`), for replay and sharing."""
from __future__ import annotations

import json
import os
import sys

from ..errors import UsageError


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
        for key, entry in cache.entries("llm"):
            if pipeline and entry.get("pipeline") != pipeline:
                continue
            out.write(json.dumps({"key": key, **entry}, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    return n


def import_cassette(cache, path: str) -> int:
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read cassette {path}: {e.strerror}") from None
    n = 0
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry.pop("key")
                if not isinstance(key, str) or len(key) != 64 or "response" not in entry:
                    raise ValueError("needs a 64-hex `key` and a `response`")
            except (ValueError, KeyError, AttributeError) as e:
                raise UsageError(f"{path}:{lineno}: not a cassette line ({e})") from None
            cache.put("llm", key, entry)
            n += 1
    return n
