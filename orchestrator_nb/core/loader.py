"""Load a pipeline from a YAML file, YAML text or a dict, with errors located to file:line.

YAML -> (data, line map) -> [py-orc dialect translated] -> the format's check -> runtime Pipeline.
Every failure is one ``SpecError`` line: ``file:line: steps[2].needs: unknown step 'plann'
(did you mean 'plan'?)``.
"""
from __future__ import annotations

import gc
import os
import re
from pathlib import Path

from ..dialects import preprocess, translate_if_foreign
from ..errors import SpecError
from ..spec.format import PIPELINE
from ..spec.yamlio import Lines, load_yaml
from .pipeline import Pipeline
from .stepdef import StepDef

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "pipelines"


def builtin_path(name: str) -> Path | None:
    p = BUILTIN_DIR / f"{name}.yaml"
    try:
        return p if p.is_file() else None
    except OSError:  # a name too long for a file name is no built-in (Python 3.11 raises ENAMETOOLONG)
        return None


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
    if isinstance(source, Pipeline):
        return source
    if isinstance(source, dict):
        return from_data(source, Lines(), file="<dict>", names=names, _stack=_stack)
    if not isinstance(source, (str, os.PathLike)):
        raise SpecError(f"a pipeline is a file path, YAML text or a dict, not {type(source).__name__}")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                           and not source.lstrip().startswith(("name:", "steps:", "{"))):
        path = resolve_path(str(source))
        return load_text(_read(path, str(source)), file=str(path), names=names, _stack=_stack)
    return load_text(source, file="<string>", names=names, _stack=_stack)


def _read(path: Path, named: str) -> str:
    """The pipeline file's text: a regular file within the size limit (checked before reading)."""
    from ..limits import LIMITS
    from ..textfile import TooLarge, read_text
    try:
        return read_text(path, LIMITS["yaml_bytes"].value())
    except TooLarge as e:
        raise SpecError(LIMITS["yaml_bytes"].message(e.size), file=str(path)) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"cannot read pipeline file: it is not UTF-8 text (byte {e.start})", file=named) from None
    except OSError as e:
        raise SpecError(f"cannot read pipeline file: {e.strerror or e}", file=named) from None


def load_text(text: str, *, file: str = "<string>", names=(), _stack=()):
    # garbage collection waits while a file loads: what a load makes lives until it ends, so
    # collections meanwhile would only scan it (a 1,000-step file: ~1.5 ms of ~25)
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _load_text(text, file, names, _stack)
    finally:
        if paused:
            gc.enable()


def _load_text(text: str, file: str, names, _stack):
    text, lines_shift = _preprocess(text, file)
    data, lines = load_yaml(text, file)
    if lines_shift:
        lines = lines_shift(lines)
    data, lines = translate_if_foreign(data, lines, file,
                                       check=lambda native, nl: from_data(native, nl, file=file, names=()))
    return from_data(data, lines, file=file, names=names, source_text=text, _stack=_stack)


def _preprocess(text: str, file: str):
    """Hook for dialects that must rewrite the text before YAML parsing (py-orc <AUTO> tags)."""
    return preprocess(text, file)


def from_data(data, lines: Lines, *, file: str, names=(), source_text: str | None = None, _stack=()):
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise SpecError(f"a pipeline must be a mapping with `name` and `steps`, this is {kind}",
                        file=file, line=lines.near(()) or 1)
    checked = _validate(data, lines, file)
    base_dir = Path(file).parent if file and not file.startswith("<") else None
    stack = _stack + ((os.path.abspath(file),) if base_dir else ())
    steps = []
    for i, (raw, fields) in enumerate(zip(data["steps"], checked["steps"])):
        try:
            if raw.get("pipeline") is not None and isinstance(raw["pipeline"], str):
                fields = dict(fields, pipeline=_load_sub(raw["pipeline"], base_dir, stack))
            elif isinstance(raw.get("pipeline"), dict):
                fields = dict(fields, pipeline=_inline_sub(raw["pipeline"], data, raw, lines, ("steps", i, "pipeline"),
                                                           file, names, stack))
            steps.append(StepDef.checked(fields))
        except SpecError as e:
            if e.file is not None:  # located in another file (a sub-pipeline) already
                raise
            raise _locate(e.within("steps", i), lines, file, data) from None
    try:
        p = Pipeline(data["name"], steps, description=data.get("description"), inputs=data.get("inputs"),
                     models=data.get("models"), routing=data.get("routing"), defaults=data.get("defaults"),
                     budget=data.get("budget"), version=data.get("version"), source_file=file,
                     source_text=source_text, names=names, prices=data.get("prices"), mcp=data.get("mcp"),
                     tools=data.get("tools"))
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


_HINT_LINE = re.compile(r"(?:template|code) line (\d+)")  # a hint that points into a multi-line value


def _locate(err: SpecError, lines: Lines, file: str, data) -> SpecError:
    if err.file is not None:
        return err
    line = lines.near(err.loc)
    offset = 0
    at = _HINT_LINE.match(err.hint or "")
    if at and line:
        n = int(at.group(1))
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


def _validate(data: dict, lines: Lines, file: str) -> dict:
    """The whole file against the format (types, unknown keys, required keys), in file order."""
    try:
        return PIPELINE.check(data)
    except SpecError as e:
        raise SpecError(e.message, loc=e.loc, file=file, line=lines.near(e.loc), hint=e.hint) from None
