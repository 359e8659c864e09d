"""`write:` steps: artifact files under the run's output directory, recorded with sha256."""
from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import tempfile

from ...spec.templates import render_field
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
        from ...spec.yamlio import dump_yaml
        return dump_yaml(to_jsonable(content)).encode()
    text = "" if content is None else str(content)
    return text.encode()


def write_artifact(ctx, step_id: str, rel: str, data: bytes) -> dict:
    """Write atomically and record the artifact. Returns {path, sha256, bytes}."""
    target = ctx.resolve_outdir_path(rel)
    digest = hashlib.sha256(data).hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    unchanged = False
    try:
        if target.stat().st_size == len(data):
            unchanged = hashlib.sha256(target.read_bytes()).hexdigest() == digest
    except OSError:
        pass
    if not unchanged:  # keep mtimes (and `make`/git) quiet when nothing changed
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".orc-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    media_type = mimetypes.guess_type(target.name)[0] or ("text/markdown" if target.suffix == ".md" else "text/plain")
    shown = os.path.relpath(target, ctx.outdir.resolve())
    ctx.emit("artifact", step_id, path=str(target), rel_path=shown, sha256=digest, media_type=media_type,
             bytes=len(data))
    return {"path": shown, "sha256": digest, "bytes": len(data)}


async def run_write(ex, step, scope, item, attempt, feedback):
    spec = step.action
    rel = str(render_field(spec["path"], scope))
    content = render_field(spec.get("content", ""), scope)
    return write_artifact(ex.ctx, step.id, rel, encode(content, rel, spec.get("format", "auto")))
