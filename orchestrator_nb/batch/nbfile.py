"""A notebook file, read and checked for the shape papermill needs, before any kernel starts.

Papermill and nbformat assume an nbformat-4 notebook: a file that is not JSON, an old format or
a cell of an odd shape would otherwise fail deep inside them (an AttributeError, a KeyError) or,
worse, after the run was recorded. ``read_notebook`` refuses it in one line naming the file, the
place in it and the fix.
"""
from __future__ import annotations

import json

from ..errors import UsageError

RESAVE = "open it in Jupyter and save it again, or fix the JSON"
KINDS = ("code", "markdown", "raw")


def read_notebook(path: str) -> dict:
    """The notebook as JSON (nbformat 4), with one clear error when it cannot be used."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such notebook (check the path)") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: that is a folder, not a notebook file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it ({type(e).__name__}: {str(e)[:120]})") from None
    if not text.strip():
        raise UsageError(f"{path}: the file is empty, not a notebook (save the notebook from Jupyter again)")
    try:
        nb = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{path}: not a readable .ipynb notebook (not JSON: {str(e)[:120]})") from None
    problem = shape_problem(nb, path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    return nb


def shape_problem(nb, path: str = "OLD.ipynb") -> str | None:
    """What keeps ``nb`` from being an nbformat-4 notebook papermill can run, or None."""
    if not isinstance(nb, dict):
        return f"not a Jupyter notebook (the JSON is {_a(nb)}, not an object with `cells`)"
    version = nb.get("nbformat")
    if isinstance(version, int) and not isinstance(version, bool) and version < 4:
        return (f"an nbformat {version} notebook; orc runs nbformat 4: convert it with "
                f"`jupyter nbconvert --to notebook --nbformat 4 --output NEW.ipynb {path}` or re-save it in Jupyter")
    if "cells" not in nb:
        return "not a Jupyter notebook (no `cells` list)"
    if not isinstance(nb["cells"], list):
        return f"not a Jupyter notebook (`cells` is {_a(nb['cells'])}, not a list); {RESAVE}"
    if version != 4:
        return (f"`nbformat` is {str(version)[:20]!r}, not 4" if "nbformat" in nb else "no `nbformat: 4`") + f"; {RESAVE}"
    if not isinstance(nb.get("nbformat_minor"), int):
        return f"no `nbformat_minor` number; {RESAVE}"
    meta = nb.get("metadata")
    if meta is None:
        return f"no `metadata` object; {RESAVE}"
    if not isinstance(meta, dict):
        return f"the notebook's `metadata` is {_a(meta)}, not an object; {RESAVE}"
    for key in ("kernelspec", "language_info"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            return f"`metadata.{key}` is {_a(meta[key])}, not an object; {RESAVE}"
    for i, cell in enumerate(nb["cells"]):
        problem = _cell_problem(cell)
        if problem:
            return f"cell {i + 1} of {len(nb['cells'])} {problem}; {RESAVE}"
    return None  # nbformat's finer schema points are left to papermill, which runs such notebooks


def _cell_problem(cell) -> str | None:
    if not isinstance(cell, dict):
        return f"is {_a(cell)}, not an object"
    if cell.get("cell_type") not in KINDS:
        return f"has cell_type {str(cell.get('cell_type'))[:20]!r} (expected one of {', '.join(KINDS)})"
    if "source" not in cell:
        return "has no `source`"
    source = cell["source"]
    if not isinstance(source, str) and not (isinstance(source, list) and all(isinstance(s, str) for s in source)):
        return f"has a `source` that is {_a(source)}, not text or a list of lines"
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        return "has no `metadata` object" if meta is None else f"has `metadata` that is {_a(meta)}, not an object"
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "has `metadata.tags` that is not a list of names"
    if cell["cell_type"] == "code" and not isinstance(cell.get("outputs", []), list):
        return "has `outputs` that is not a list"
    return None


def _a(value) -> str:
    kind = _kind(value)
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _kind(value) -> str:
    return {dict: "object", list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)
