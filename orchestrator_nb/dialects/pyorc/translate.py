"""py-orc pipeline (parsed YAML + line map) -> native pipeline data + a line map into the same file.

Top level: `id`/`name` -> `name` (a valid native name), `description`, `version`, `parameters`
and `inputs` -> `inputs`, `model` -> `defaults.model` (names become `models:` aliases, see
``models``), `steps` (or `tasks`), `outputs` -> a final `outputs` step. Steps are translated by
``steps``/``loops``, conditions and jumps by ``flow``.

Every native path records the original path it came from. The result is checked by the native
loader right here; an error it finds is re-raised with the *original* path (so
`steps[3].parameters.prompt`, not the native index) and the original file and line.
"""
from __future__ import annotations

import re

from ...errors import SpecError
from ...spec.yamlio import Lines
from .build import build_level
from .level import Level, Out, Ref, ordered
from .models import ModelTable

TOP_KEYS = ("id", "name", "description", "version", "parameters", "inputs", "model", "steps", "tasks", "outputs",
            "enhanced_outputs", "metadata", "author", "tags")
# top-level blocks of py-orc files that orc does not read, with what to write instead
_CONSTANTS = "move the values under `parameters:` (as defaults); templates read them by name"
TOP_NOT_SUPPORTED = {
    "config": "orc reads no pipeline-wide config block: drop it, or move values under `parameters:`",
    "context": "orc reads no pipeline context block: " + _CONSTANTS + "; timeouts and retries go on each step",
    "variables": _CONSTANTS, "data": _CONSTANTS,
    "global_error_handlers": "error handlers are not supported: give steps on_failure (continue, skip, retry or "
                             "a step id)",
    "error_handling": "give steps on_failure (continue, skip, retry or a step id) and max_retries",
    "imports": "convert the file (orc convert) and use a native `pipeline:` step",
    "resources": "drop it: orc places no resource limits per pipeline",
}
INPUT_KEYS = {"type", "default", "required", "description", "choices", "enum", "validation", "example",
              "examples", "name"}
TYPES = {"string": "string", "str": "string", "text": "string", "integer": "integer", "int": "integer",
         "number": "number", "float": "number", "double": "number", "boolean": "boolean", "bool": "boolean",
         "array": "array", "list": "array", "object": "object", "dict": "object", "map": "object", "any": "any",
         "path": "string", "file": "string"}


class Translation:
    def __init__(self, data: dict, lines: Lines, file: str):
        self.data, self.lines, self.file = data, lines, file
        self.models = ModelTable()
        self.default_task = None
        self.execution = False
        self.name = "pipeline"
        self.exec_id = "execution"
        self.children: list[dict] = []     # inline loop bodies (child pipelines)

    def error(self, message: str, path, hint: str | None = None, tline: int | None = None, value=None):
        path = tuple(path or ())
        line = self.lines.near(path)
        if line and tline:
            line += tline if isinstance(value, str) and "\n" in value else tline - 1
        return SpecError(message, loc=path, file=self.file, line=line, hint=hint)

    def top_name(self, name: str) -> Ref | None:
        """Names every py-orc template can use besides steps and parameters."""
        if name in ("parameters", "inputs"):
            return Ref("inputs")
        if name == "execution":
            self.execution = True
            return Ref(f"steps.{self.exec_id}.output")
        if name == "timestamp":
            self.execution = True
            return Ref(f"steps.{self.exec_id}.output.timestamp")
        if name == "output_path":
            return Ref("'.'")
        return None


def translate(data: dict, lines: Lines, file: str, check=None):
    """py-orc data -> (native data, line map). ``check(native, lines)``: the native loader, run
    here so that an error in the translation names the original file's path and line."""
    tr = Translation(data, lines, file)
    if not isinstance(data.get("steps", data.get("tasks")), list):
        nested = isinstance(data.get("pipeline"), dict) and "steps" in data["pipeline"]
        raise tr.error("a py-orc pipeline needs a top-level `steps:` list", ("pipeline",) if nested else (),
                       hint="move `steps:` (and `inputs:`) out of `pipeline:` to the top level" if nested
                       else "list the steps under `steps:` at the top level")
    for key in data:
        if key in TOP_NOT_SUPPORTED:
            raise tr.error(f"top-level `{key}` is not supported", (key,), hint=TOP_NOT_SUPPORTED[key])
        if key not in TOP_KEYS:
            from ...errors import suggest
            raise tr.error(f"unknown key '{key}'", (key,), hint=suggest(key, TOP_KEYS) or
                           "see docs/migrating.md for what is supported")
    if "steps" in data and "tasks" in data:
        raise tr.error("give `steps` or `tasks`, not both", ("tasks",))
    steps_key = "steps" if "steps" in data else "tasks"
    tr.name = _name(tr)
    native: dict = {"name": tr.name}
    where: dict[tuple, tuple] = {(): (), ("name",): ("id",) if "id" in data else ("name",)}
    desc = _description(data)
    if desc:
        native["description"] = desc
        where[("description",)] = ("description",)
    if data.get("version") is not None:
        native["version"] = data["version"] if isinstance(data["version"], (str, int, float)) else str(data["version"])
    inputs = _inputs(tr)
    defaults = _pipeline_model(tr)
    top = Level(tr, data[steps_key], (steps_key,), params=inputs)
    tr.exec_id = top.fresh("execution")
    build_level(top)
    outputs = _outputs(tr, top) if data.get("outputs") is not None or data.get("enhanced_outputs") is not None \
        else None
    steps, swhere = top.assemble()
    if tr.execution:  # `{{ execution.* }}` somewhere: a first step provides it
        ex = Out(tr.exec_id, ())
        ex.put("python", "orchestrator_nb.dialects.pyorc.tools:execution_info", ())
        ex.put("params", {"run_id": "{{ run.id }}"}, ())
        steps, swhere = _prepend(ex, steps, swhere)
    if outputs is not None:
        swhere.update({("steps", len(steps)) + rel: orig for rel, orig in outputs.where.items()})
        steps.append(ordered(outputs.data))
    if inputs:
        native["inputs"] = inputs
        where.update({("inputs", k): inputs[k].pop("_origin") for k in inputs})
    if tr.models.aliases:
        native["models"] = dict(tr.models.aliases)
        where.update({("models", k): ("model",) for k in tr.models.aliases})
    if defaults:
        native["defaults"] = defaults
        where[("defaults",)] = ("model",)
    native["steps"] = steps
    where[("steps",)] = (steps_key,)
    for child in tr.children:  # a loop body uses the pipeline's model settings
        extra = {k: native[k] for k in ("models", "defaults") if k in native}
        child_steps = child.pop("steps")
        child.update(extra)
        child["steps"] = child_steps
    where.update(swhere)
    native_lines = Lines()
    for npath, opath in where.items():
        line = lines.near(opath)
        if line is not None:
            native_lines[npath] = line
    if check is not None:
        _check(check, native, native_lines, where, data)
    return native, native_lines


def _prepend(out: Out, steps: list, where: dict):
    shifted = {}
    for path, orig in where.items():
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            shifted[("steps", path[1] + 1) + path[2:]] = orig
        else:
            shifted[path] = orig
    shifted.update({("steps", 0) + rel: orig for rel, orig in out.where.items()})
    return [ordered(out.data)] + steps, shifted


def _name(tr: Translation) -> str:
    raw = tr.data.get("id") or tr.data.get("name")
    if not isinstance(raw, str) or not raw.strip():
        raise tr.error("a pipeline needs an `id` or a `name`", (), hint="e.g. id: research-report")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", raw.strip()).strip("-")
    if not name or not name[0].isalpha():
        name = f"p-{name}" if name else "pipeline"
    return name


def _description(data: dict) -> str | None:
    desc = data.get("description")
    title = data.get("name") if data.get("id") and data.get("name") != data.get("id") else None
    parts = [str(x).strip() for x in (title, desc) if x]
    return " — ".join(parts) or None


def _inputs(tr: Translation) -> dict:
    out: dict = {}
    for block in ("parameters", "inputs"):
        raw = tr.data.get(block)
        if raw is None:
            continue
        if isinstance(raw, list):  # [{name: x, type: ...}, ...]
            items = []
            for i, spec in enumerate(raw):
                if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                    raise tr.error("each input needs a `name`", (block, i))
                items.append((spec["name"], spec, (block, i)))
        elif isinstance(raw, dict):
            items = [(k, v, (block, k)) for k, v in raw.items()]
        else:
            raise tr.error("must be a mapping of parameter names to specs or defaults", (block,))
        for name, spec, path in items:
            if name in out:
                if _echo(tr.data.get("parameters"), name, spec):
                    continue
                raise tr.error(f"parameter '{name}' is declared twice", path)
            out[name] = _input(tr, name, spec, path)
    return out


def _input(tr: Translation, name: str, spec, path: tuple) -> dict:
    from . import autotext
    is_spec = isinstance(spec, dict) and spec and set(spec) <= INPUT_KEYS and (set(spec) & {"type", "default",
                                                                                           "description", "required"})
    if not is_spec:
        if autotext.has_auto(spec):
            raise tr.error("AUTO tags are not supported in parameter defaults", path,
                           hint="give a default, or pass the value with -p")
        return {"type": _type_of(spec), "default": spec, "_origin": path}
    kind = spec.get("type", "any")
    if kind not in TYPES:
        raise tr.error(f"unknown type '{kind}'", path + ("type",), hint="use string, integer, number, boolean, "
                       "array or object")
    entry: dict = {"type": TYPES[kind]}
    if spec.get("default") is not None:
        if autotext.has_auto(spec["default"]):
            raise tr.error("AUTO tags are not supported in parameter defaults", path + ("default",),
                           hint="give a default, or pass the value with -p")
        entry["default"] = spec["default"]
    if spec.get("description") is not None:
        entry["description"] = str(spec["description"])
    choices = spec.get("choices") or spec.get("enum") or (spec.get("validation") or {}).get("enum")
    if choices is not None:
        if not isinstance(choices, list):
            raise tr.error("must be a list", path + ("choices",))
        entry["choices"] = choices
    required = spec.get("required")
    if required is not None and not isinstance(required, bool):
        raise tr.error("must be true or false", path + ("required",))
    if "default" not in entry:  # py-orc parameters are optional unless `required: true`
        entry["required"] = bool(required)
    entry["_origin"] = path
    return entry


def _echo(parameters, name: str, spec) -> bool:
    """py-orc's upgraded ("enhanced") files repeat each parameter under `inputs:` with the
    parameter's whole declaration as its default (a YAML alias) or as an exact copy: the same one."""
    first = parameters.get(name) if isinstance(parameters, dict) else None
    return first is not None and (spec == first or (isinstance(spec, dict) and spec.get("default") == first))


def _type_of(value) -> str:
    for t, k in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
                 (dict, "object")):
        if isinstance(value, t):
            return k
    return "any"


def _pipeline_model(tr: Translation) -> dict:
    from . import autotext
    raw = tr.data.get("model")
    if raw is None:
        return {}
    if not isinstance(raw, str):
        raise tr.error("must be a model name", ("model",))
    if autotext.has_auto(raw) or raw.strip() == "<AUTO>":
        try:
            words = " ".join(t for _, t in autotext.split_auto(raw))
        except SpecError as e:
            raise tr.error(e.message, ("model",), hint=e.hint) from None
        task = autotext.infer_task(words, next(iter(autotext.auto_tasks(raw)), None))
        tr.default_task = ("task", task, ("model",)) if task else None
        return {}
    try:
        return {"model": tr.models.ref(raw)}
    except SpecError as e:
        raise tr.error(e.message, ("model",), hint=e.hint) from None


def _outputs(tr: Translation, top: Level) -> Out:
    """py-orc's `outputs:` (and `enhanced_outputs:`, the same values with a description and a type,
    written by py-orc's upgrade tool) -> a last step that renders them (it never fails the run)."""
    from . import autotext
    raw: dict = {}
    for block in ("outputs", "enhanced_outputs"):
        given = tr.data.get(block)
        if given is None:
            continue
        if not isinstance(given, dict):
            raise tr.error("must be a mapping of names to templates", (block,))
        for k, v in given.items():
            raw.setdefault(k, (v, (block, k)))     # both blocks name the same value: `outputs` wins
    block = "outputs" if "outputs" in tr.data else "enhanced_outputs"
    out = Out(top.fresh("outputs"), (block,))
    top.current = out
    values, sub = {}, {}
    for k, (v, origin) in raw.items():
        if isinstance(v, dict) and "value" in v:
            v, origin = v["value"], origin + ("value",)
        if autotext.has_auto(v):
            raise tr.error("AUTO tags are not supported in outputs", origin, hint="compute the value in a step")
        values[k], inner = top.value(v, origin, None, f"output_{k}")
        sub[(k,)] = origin
        sub.update({(k,) + rel: o for rel, o in inner.items()})
    top.current = None
    out.put("python", "orchestrator_nb.dialects.pyorc.tools:collect_outputs", (block,))
    out.put("params", values, (block,), sub)
    out.put("when", "{{ true }}", (block,))
    out.put("on_error", "continue", (block,))
    return out


def _check(check, native: dict, lines: Lines, where: dict, original: dict) -> None:
    """Load the translation natively now, so an error names the original path and line.

    Names are checked strictly (the caller's ``check`` passes no extra names): a py-orc template
    sees its parameters, steps and loop variables only (not a notebook's variables; a converted
    file can use those)."""
    try:
        check(native, lines)
    except SpecError as e:
        line = _line_in_value(native, original, tuple(e.loc), where, e.message, e.line)
        loc = tuple(e.loc)
        for n in range(len(loc), -1, -1):
            if loc[:n] in where:
                loc = tuple(where[loc[:n]]) + loc[n:] if n else loc
                break
        hint = e.hint
        if e.message.startswith(("unknown name", "unknown input")):
            hint = "declare it under parameters, or name a step id"
        raise SpecError(e.message, loc=loc, file=e.file or file, line=line, hint=hint) from None


def _at(data, path):
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _line_in_value(native: dict, original: dict, loc: tuple, where: dict, message: str, line):
    """An unknown name in a multi-line template: the line it is on, not the key's (when the
    template kept the shape of the one written in the file)."""
    m = re.match(r"unknown (?:name|input|step) '([^']+)'", message)
    value, source = _at(native, loc), _at(original, where.get(loc, ()))
    if not (m and line and isinstance(value, str) and "\n" in value and isinstance(source, str)
            and source.count("\n") == value.count("\n")):
        return line
    for n, text in enumerate(value.splitlines(), start=1):
        if re.search(r"(?<![\w.])" + re.escape(m.group(1)) + r"\b", text) or f".{m.group(1)}" in text:
            return line + n
    return line
