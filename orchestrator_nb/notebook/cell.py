"""A ``%%orc`` cell body -> ``Pipeline``.

The body is a whole pipeline (a mapping with ``steps:``), a list of steps, or one step (a
mapping with an action key). Lists and single steps are wrapped into a pipeline *as text*, so
YAML errors and validation errors keep pointing at the cell's own lines: every message reads
``In[7]:3: steps[0].prompt: unknown name 'topc' in template (did you mean 'topic'?)`` where
line 1 is the ``%%orc`` line.
"""
from __future__ import annotations

import keyword

from ..errors import SpecError

ACTION_KEYS = ("prompt", "python", "code", "sql", "approval", "write", "pipeline")
CELL_SHAPES = ("pipeline", "steps", "step")


def shape_of(data) -> str:
    if isinstance(data, dict) and "steps" in data:
        return "pipeline"
    if isinstance(data, list):
        return "steps"
    if isinstance(data, dict) and any(k in data for k in ACTION_KEYS):
        return "step"
    if data is None:
        raise SpecError("the cell is empty", hint="write a pipeline (with steps:), a list of steps, "
                                                  "or one step such as `prompt: Summarize {{ text }}`")
    if isinstance(data, dict):
        from ..errors import suggest
        hints = [suggest(k, ACTION_KEYS + ("steps",)) for k in data]
        hint = next((h for h in hints if h), None)
        raise SpecError("this cell holds neither a pipeline (steps:) nor a step (no action key)",
                        hint=hint or "give one of steps:, " + ", ".join(ACTION_KEYS))
    raise SpecError(f"a cell must hold a pipeline, a list of steps or one step, not a {type(data).__name__}",
                    hint="write YAML such as `prompt: Summarize {{ text }}`")


def pipeline_from_cell(body: str, *, name: str | None, file: str, names):
    """-> (pipeline, shape). Raises SpecError located at the cell's lines (line 1 = %%orc)."""
    from ..core.loader import load_text

    try:
        data = _parse(body, file)
        shape = shape_of(data)
        if shape == "pipeline":
            text = body if "name" in data else _with_name(body, name or "cell")
            return load_text(text, file=file, names=names), shape
        if shape == "steps":
            text = "steps:\n" + _indent(body, "  ") + _name_line(name or "cell")
        else:
            text = "steps:\n" + _as_item(body, None if "id" in data else _default_id(data)) + _name_line(name or "cell")
        pipeline = load_text(text, file=file, names=names)
    except SpecError as e:
        raise _shift(e, file, 1 if _shape_or_none(body) in ("pipeline", None) else 0) from None
    pipeline.source_text = None  # store the pipeline itself, not our wrapping of it
    return pipeline, shape


def _parse(body: str, file: str = "<cell>"):
    """YAML of a cell, after the same text preprocessing files get (py-orc `<AUTO>` tags)."""
    from ..dialects import preprocess
    from ..spec.yamlio import load_yaml
    return load_yaml(preprocess(body, file)[0], file)[0]


def _shape_or_none(body: str):
    try:
        return shape_of(_parse(body))
    except SpecError:
        return None


def _with_name(body: str, name: str) -> str:
    return body.rstrip("\n") + _name_line(name)


def _name_line(name: str) -> str:
    return f"\nname: {name}\n"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.rstrip("\n").split("\n"))


def _as_item(body: str, add_id: str | None) -> str:
    lines = body.rstrip("\n").split("\n")
    first, rest = lines[0], "\n".join(lines[1:])
    out = "  - " + first
    if rest:
        out += "\n" + _indent(rest, "    ")
    if add_id:
        out += f"\n    id: {add_id}"
    return out


def _default_id(data: dict) -> str:
    return next(k for k in ACTION_KEYS if k in data)


def _shift(e: SpecError, file: str, by: int) -> SpecError:
    if e.file != file:
        return e
    line = e.line + by if e.line else (1 + by if by else None)
    return SpecError(e.message, loc=e.loc, file=e.file, line=line, hint=e.hint)


def default_var(pipeline, shape: str, name: str | None) -> str:
    """Where the result goes when ``--out`` is not given."""
    if name:
        return python_name(name)
    if shape == "pipeline":
        return python_name(pipeline.name)
    return "_orc"


def python_name(name: str) -> str:
    var = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not var or var[0].isdigit():
        var = "_" + var
    return var + "_" if keyword.iskeyword(var) else var


def template_names(pipeline) -> set[str]:
    """Names the pipeline's templates read (to pass just those kernel variables as scope)."""
    names: set[str] = set()
    for step in pipeline.steps.values():
        for _, t in step.templates():
            names |= set(getattr(t, "names", ()) or ())
    return names


def kernel_scope(pipeline, user_ns: dict) -> dict:
    from ..core.pipeline import BASE_NAMES
    wanted = template_names(pipeline) - set(BASE_NAMES) - {"item", "index", "output", "feedback"}
    return {n: user_ns[n] for n in wanted if n in user_ns}
