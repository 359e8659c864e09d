"""Files a run writes: confined to the run's output directory, written atomically, recorded."""
from __future__ import annotations

import hashlib
import mimetypes
import os
import posixpath
import tempfile
from pathlib import Path

from ..errors import SpecError


def confined_path(outdir: Path, rel: str) -> Path:
    """``rel`` inside ``outdir``, or a SpecError. A path must name a file below the directory:
    absolute paths, ``~``, ``..`` that climbs out, and the directory itself are refused."""
    if not isinstance(rel, str) or not rel.strip():
        raise SpecError(f"path {rel!r} is empty", hint="give a file path relative to the output directory")
    if os.path.isabs(rel) or rel.startswith("~") or "\x00" in rel:
        raise SpecError(f"path {rel!r} must be relative to the output directory",
                        hint="write paths are confined under --outdir")
    root = outdir.resolve()
    target = (root / rel).resolve()
    if target == root or posixpath.normpath(rel.replace(os.sep, "/")) in (".", ""):
        raise SpecError(f"path {rel!r} names the output directory itself, not a file", hint="add a file name")
    if root not in target.parents:
        raise SpecError(f"path {rel!r} escapes the output directory", hint="remove '..' from the path")
    if target.is_dir():
        raise SpecError(f"path {rel!r} is a directory", hint="add a file name")
    return target


def _refuse_kept(run, rel: str, target: Path) -> None:
    """The output directory often holds the store (`.orc/`), the repository (`.git/`) and its keys
    (`.env`): a step writing there would wipe the run history or a repository, or plant keys."""
    parts = target.relative_to(run.outdir.resolve()).parts
    store = getattr(run, "store", None)
    if (store is not None and store.owns(target)) or ".orc" in parts[:-1] or ".git" in target.parts[:-1] \
            or parts[-1] == ".env" or parts[:1] == (".orc",):  # (.git: an output directory inside one, too)
        raise SpecError(f"path {rel!r} is the store's, the repository's or the keys' file: a step may not "
                        "write it", hint="write elsewhere in the output directory")


def write_artifact(run, step_id: str, rel: str, data: bytes) -> dict:
    """Write atomically and record the artifact. Returns {path, sha256, bytes}."""
    target = confined_path(run.outdir, rel)
    _refuse_kept(run, rel, target)
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
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    media_type = mimetypes.guess_type(target.name)[0] or ("text/markdown" if target.suffix == ".md" else "text/plain")
    shown = os.path.relpath(target, run.outdir.resolve())
    run.emit("artifact", step_id, path=str(target), rel_path=shown, sha256=digest, media_type=media_type,
             bytes=len(data))
    return {"path": shown, "sha256": digest, "bytes": len(data)}
