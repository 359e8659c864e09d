"""`write:` steps: artifact files under the run's output directory, recorded with sha256."""
from __future__ import annotations

import json
import os

from ..serialize import to_jsonable


def encode(content, path: str, fmt: str) -> bytes:
    if fmt == "auto":
        ext = os.path.splitext(path)[1].lower()
        fmt = "json" if ext == ".json" else "yaml" if ext in (".yaml", ".yml") else "text"
        if fmt == "text" and not isinstance(content, str):
            fmt = "json"
    if fmt == "json":
        if isinstance(content, str):
            try:
                content = json.loads(content)
            except ValueError:
                pass
        return (json.dumps(to_jsonable(content), indent=2, ensure_ascii=False) + "\n").encode()
    if fmt == "yaml":
        from ...spec.yamlio import dump_yaml  # PyYAML only when a YAML file is written
        return dump_yaml(to_jsonable(content)).encode()
    text = "" if content is None else str(content)
    return text.encode()


def run_write(spec, params, ctx):
    rel = str(spec["path"])
    return ctx.write_file(rel, encode(spec.get("content", ""), rel, spec.get("format", "auto")))
