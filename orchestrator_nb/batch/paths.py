"""Where output notebooks go: a path template filled per notebook run.

Fields: ``{run_id}`` (the notebook run id), ``{name}`` (the input notebook's stem), ``{date}``
(YYYY-MM-DD), ``{time}`` (HHMMSS), ``{batch_id}``, ``{item}`` (the sweep item number, 000...),
``{store}`` (the store's folder) and every notebook parameter by name. The default keeps
outputs next to the store: ``{store}/notebooks/{run_id}.ipynb`` (``.orc/notebooks/<id>.ipynb``).
"""
from __future__ import annotations

import os
import re
import string
import time

from ..errors import UsageError

DEFAULT = os.path.join("{store}", "notebooks", "{run_id}.ipynb")
BATCH_DEFAULT = os.path.join("{store}", "notebooks", "{batch_id}", "{item}-{run_id}.ipynb")


def _safe(value) -> str:
    """A parameter value as part of a file name (no separators, no surprises)."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", str(value)).strip("_")[:60] or "_"


def render(template: str | None, *, store, nb_run_id: str, input_path: str, parameters: dict,
           batch_id: str | None = None, item_index: int | None = None, option: str = "OUT") -> str:
    template = template or (BATCH_DEFAULT if batch_id else DEFAULT)
    fields = {k: _safe(v) for k, v in parameters.items()}
    fields.update(run_id=nb_run_id, name=_safe(os.path.splitext(os.path.basename(input_path))[0]),
                  date=time.strftime("%Y-%m-%d"), time=time.strftime("%H%M%S"), batch_id=batch_id or "",
                  item=f"{item_index:03d}" if item_index is not None else "", store=str(store.path.parent))
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise UsageError(f"{option} {template}: bad template ({e}; write fields as {{run_id}})") from None
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise UsageError(f"{option} {template}: unknown field {{{unknown[0]}}} "
                         f"(fields: {', '.join(sorted(fields))})")
    path = template.format(**fields)
    if not path.endswith(".ipynb"):
        raise UsageError(f"{option} {path}: an output notebook must end in .ipynb")
    if os.path.realpath(path) == os.path.realpath(input_path):
        raise UsageError(f"{option} {path}: that is the input notebook, which the run would overwrite; "
                         "write the output elsewhere")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: that is a folder; name the output notebook file")
    if batch_id and "{run_id}" not in template and "{item}" not in template:
        raise UsageError(f"{option} {template}: every sweep item needs its own file; put {{item}} or {{run_id}} in it")
    return path
