"""Load a pipeline from a YAML file, YAML text or a dict, with errors located to file:line.

YAML -> (data, line map) -> [py-orc dialect translated] -> pydantic check -> runtime Pipeline.
Every failure is one ``SpecError`` line: ``file:line: steps[2].needs: unknown step 'plann'
(did you mean 'plan'?)``.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import SpecError
from .yamlio import Lines, load_yaml

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "pipelines"


def builtin_path(name: str) -> Path | None:
    p = BUILTIN_DIR / f"{name}.yaml"
    return p if p.is_file() else None


def resolve_path(ref: str, base_dir: str | os.PathLike | None = None) -> Path:
    """A pipeline reference -> file: a path (relative to ``base_dir``) or a built-in name."""
    p = Path(ref)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    if p.is_file():
        return p
    if os.sep not in ref and "/" not in ref and not ref.endswith((".yaml", ".yml")):
        b = builtin_path(ref)
        if b:
            return b
    raise SpecError(f"no pipeline file '{ref}'", hint="give a YAML path or a built-in name such as 'project'")


def load(source, *, names=(), _stack=()):
    """A path, a built-in name, YAML text, a dict or a Pipeline -> ``Pipeline``.

    ``names``: extra template names allowed (a notebook's variables); None turns the check off.
    """
    from ..core.pipeline import Pipeline

    if isinstance(source, Pipeline):
        return source
    if isinstance(source, dict):
        return from_data(source, Lines(), file="<dict>", names=names, _stack=_stack)
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                           and not source.lstrip().startswith(("name:", "steps:", "{"))):
        path = resolve_path(str(source))
        try:
            _check_size(path)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(f"cannot read pipeline file: {e.__class__.__name__}: {e}", file=str(source)) from None
        return load_text(text, file=str(path), names=names, _stack=_stack)
    return load_text(source, file="<string>", names=names, _stack=_stack)


def _check_size(path: Path) -> None:
    """Refuse an oversized file before reading it into memory."""
    from ..limits import LIMITS
    size = path.stat().st_size
    if LIMITS["yaml_bytes"].exceeded_by(size):
        raise SpecError(LIMITS["yaml_bytes"].message(size), file=str(path))


def load_text(text: str, *, file: str = "<string>", names=(), _stack=()):
    from ..dialects import translate_if_foreign

    text, lines_shift = _preprocess(text, file)
    data, lines = load_yaml(text, file)
    if lines_shift:
        lines = lines_shift(lines)
    data, lines = translate_if_foreign(data, lines, file)
    return from_data(data, lines, file=file, names=names, source_text=text, _stack=_stack)


def _preprocess(text: str, file: str):
    """Hook for dialects that must rewrite the text before YAML parsing (py-orc <AUTO> tags)."""
    from ..dialects import preprocess
    return preprocess(text, file)


def from_data(data, lines: Lines, *, file: str, names=(), source_text: str | None = None, _stack=()):
    from ..core.pipeline import Pipeline, StepDef

    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise SpecError(f"a pipeline must be a mapping with `name` and `steps`, this is {kind}",
                        file=file, line=lines.near(()) or 1)
    _validate(data, lines, file)
    base_dir = Path(file).parent if file and not file.startswith("<") else None
    stack = _stack + ((os.path.abspath(file),) if base_dir else ())
    steps = []
    for i, raw in enumerate(data["steps"]):
        try:
            raw = dict(raw)
            if raw.get("pipeline") is not None and isinstance(raw["pipeline"], str):
                raw["pipeline"] = _load_sub(raw["pipeline"], base_dir, stack)
            elif isinstance(raw.get("pipeline"), dict):
                raw["pipeline"] = _inline_sub(raw["pipeline"], data, raw, lines, ("steps", i, "pipeline"), file,
                                              names, stack)
            steps.append(StepDef(raw.pop("id"), **raw))
        except SpecError as e:
            if e.file is not None:  # located in another file (a sub-pipeline) already
                raise
            raise _locate(e.within("steps", i), lines, file, data) from None
    try:
        p = Pipeline(data["name"], steps, description=data.get("description"), inputs=data.get("inputs"),
                     models=data.get("models"), routing=data.get("routing"), defaults=data.get("defaults"),
                     budget=data.get("budget"), version=data.get("version"), source_file=file,
                     source_text=source_text, names=names, prices=data.get("prices"))
    except SpecError as e:
        raise _locate(e, lines, file, data) from None
    p.lines = lines  # later checks (models, imports) locate their errors too
    return p


def _load_sub(ref: str, base_dir, stack):
    path = resolve_path(ref, base_dir)
    if os.path.abspath(path) in stack:
        raise SpecError(f"pipeline '{ref}' includes itself", loc=("pipeline",), hint="sub-pipelines cannot recurse")
    try:
        return load(path, _stack=stack)
    except SpecError as e:
        if e.file:
            raise
        raise e.within("pipeline") from None


def _inline_sub(sub: dict, parent: dict, step: dict, lines: Lines, at: tuple, file: str, names, stack):
    """`pipeline:` given as a mapping: a child pipeline defined in place; its errors keep this
    file's lines (``at`` is where it sits in the parent)."""
    sub = dict(sub)
    sub.setdefault("name", f"{parent.get('name', 'pipeline')}-{step.get('id', 'sub')}")
    sublines = Lines({k[len(at):]: v for k, v in lines.items() if k[:len(at)] == at})
    try:
        child = from_data(sub, sublines, file=file, names=names, _stack=stack)
    except SpecError as e:
        raise SpecError(e.message, loc=at + e.loc, file=e.file, line=e.line, hint=e.hint) from None
    child.inline = True
    return child


def _locate(err: SpecError, lines: Lines, file: str, data) -> SpecError:
    if err.file is not None:
        return err
    line = lines.near(err.loc)
    offset = 0
    if err.hint and err.hint.startswith(("template line ", "code line ")) and line:
        n = int(err.hint.rsplit(" ", 1)[1])
        value = _get(data, err.loc)
        offset = n if isinstance(value, str) and "\n" in value else n - 1
    return err.at_source(file, line, offset)


def _get(data, loc):
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


# pydantic errors -> one line -----------------------------------------------------------------
_TYPE_WORDS = {"int_type": "an integer", "int_parsing": "an integer", "float_type": "a number",
               "string_type": "text", "bool_type": "true or false", "list_type": "a list",
               "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
               "none_required": "nothing"}


def _validate(data: dict, lines: Lines, file: str) -> None:
    from pydantic import ValidationError

    from .model import ACTION_KEYS, PipelineSpec

    try:
        PipelineSpec.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_url=False) if not _plugin_key(e)]
        if not errors:
            return
        groups: dict[tuple, list] = {}
        for e in errors:
            groups.setdefault(_data_loc(data, e["loc"]), []).append(e)
        loc, group = min(groups.items(), key=lambda kv: (lines.near(kv[0]) or 0, -len(kv[0])))
        e = group[0]
        hint = None
        if e["type"] == "extra_forbidden":
            from ..core.stepdef import STEP_KEYS
            from ..errors import suggest
            key = loc[-1]
            known = _known_keys(loc[:-1])
            hint = suggest(key, known) if known else None
            if hint is None and loc[:1] == ("steps",) and len(loc) == 3:
                hint = "a step takes " + ", ".join(STEP_KEYS + ACTION_KEYS)
            msg = f"unknown key '{key}'"
        elif e["type"] == "missing":
            msg = f"missing required key '{loc[-1]}'" if loc else "missing required key"
            if loc and loc[-1] == "steps":
                hint = "a pipeline needs a list of steps"
            loc = loc[:-1] if loc and loc[-1] != "steps" else loc
        elif e["type"] == "too_short" and loc == ("steps",):
            msg = "a pipeline needs at least one step"
        elif len(group) > 1 and all(g["type"] in _TYPE_WORDS or g["type"] == "literal_error" for g in group):
            wanted = []
            for g in group:
                w = _TYPE_WORDS.get(g["type"]) or "one of " + str(g.get("ctx", {}).get("expected", ""))
                if w not in wanted:
                    wanted.append(w)
            msg = f"expected {' or '.join(wanted)}, got {_short(e.get('input'))}"
        elif e["type"] in _TYPE_WORDS:
            msg = f"expected {_TYPE_WORDS[e['type']]}, got {_short(e.get('input'))}"
        elif e["type"] == "string_pattern_mismatch":
            msg = f"invalid name {_short(e.get('input'))}"
            hint = "use letters, digits and '_' (ids start with a letter)"
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if e.get("input") is not None and e["type"] == "literal_error":
                msg = f"{_short(e['input'])}: {msg[0].lower()}{msg[1:]}"
        raise SpecError(msg, loc=loc, file=file, line=lines.near(loc), hint=hint) from None


def _plugin_key(error) -> bool:
    """A step key registered by a plugin step kind (`orchestrator_nb.steps` entry point)."""
    loc = error["loc"]
    if error["type"] != "extra_forbidden" or len(loc) != 3 or loc[0] != "steps":
        return False
    from ..core.kinds import plugin_kinds
    return loc[2] in plugin_kinds()


def _data_loc(data, loc) -> tuple:
    """Drop the union/model tags pydantic puts in ``loc``; keep the parts that index the data."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in _TAGS and not part.startswith(
                ("list[", "dict[", "literal[", "function-")):
            out.append(part)  # a missing or extra key
            node = None
    return tuple(out)


_TAGS = {"str", "int", "float", "bool", "RetrySpec", "CheckSpec", "SchemaOutput", "InputSpec", "WriteSpec",
         "DefaultsSpec", "BudgetSpec", "StepSpec", "none", "list", "dict"}


def _known_keys(parent_loc: tuple):
    from .model import (BudgetSpec, CheckSpec, DefaultsSpec, InputSpec, PipelineSpec, RetrySpec, StepSpec,
                        WriteSpec)
    if parent_loc == ():
        return list(PipelineSpec.model_fields)
    tail = [p for p in parent_loc if isinstance(p, str)]
    if tail == ["steps"]:
        return list(StepSpec.model_fields)
    models = {"retry": RetrySpec, "check": CheckSpec, "write": WriteSpec, "defaults": DefaultsSpec,
              "budget": BudgetSpec}
    if tail and tail[-1] in models:
        return list(models[tail[-1]].model_fields)
    if len(tail) == 2 and tail[0] == "inputs":
        return list(InputSpec.model_fields)
    return []


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
