"""The runtime pipeline: steps compiled once, dependencies known, graph checked.

Two front doors lead here: the YAML/dict loader (``core.loader``) and the Python API
(``Pipeline(name, steps=[step(...), ...])``). Both are checked against the one format definition
(``spec.format``) and end in ``Pipeline.__init__``, which checks ids, references and cycles and
locates errors by ``loc`` so the loader can add file and line.
"""
from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter

from ..errors import SpecError, suggest
from ..spec.format import BUDGET, DEFAULTS, INPUT, PIPELINE, TOOLS, ModelRef, short
from ..spec.templates import Template
from .policy import RetryPolicy
from .schedule import Plan
from .services import runner
from .stepdef import StepDef, plain, step

# the names other modules import from here (the step side lives in ``stepdef``)
__all__ = ["Pipeline", "InputDef", "StepDef", "step", "BASE_NAMES", "code_refs"]

BASE_NAMES = frozenset({"inputs", "steps", "run"})
INPUT_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
               "array": list, "object": dict, "any": object}


class InputDef:
    __slots__ = ("name", "type", "default", "required", "description", "choices")

    def __init__(self, name: str, type: str = "any", default=None, required: bool | None = None,
                 description: str | None = None, choices=None):
        INPUT.check({"type": type, "default": default, "required": required, "description": description,
                     "choices": choices}, (), python=True)
        self.name, self.type, self.default, self.description = name, type, default, description
        self.required = (default is None) if required is None else bool(required)
        self.choices = list(choices) if choices is not None else None
        if default is not None:  # a default of the wrong type (or not among the choices) fails at load
            try:
                self.default = self.convert(default)
            except SpecError as e:
                raise SpecError(e.message, loc=("default",), hint=f"give a default of type {type}"
                                + (" from the choices" if self.choices is not None else "")) from None

    @classmethod
    def coerce(cls, name: str, value) -> "InputDef":
        if isinstance(value, InputDef):
            return value
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value) \
                and set(value) <= set(cls.__slots__[1:]):
            return cls(name, **value)
        return cls(name, type="any", default=value, required=False)

    def convert(self, value):
        """Coerce a value (often a string from `-p k=v`) to the declared type."""
        t = self.type
        if isinstance(value, str) and t in ("integer", "number", "boolean", "array", "object"):
            import json
            try:
                value = _BOOLS[value.lower()] if t == "boolean" else json.loads(value)
            except (KeyError, ValueError):
                import yaml
                try:
                    value = yaml.safe_load(value) if t in ("array", "object") else value
                except yaml.YAMLError:
                    pass
        if t == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if not isinstance(value, int) else value
        ok = isinstance(value, INPUT_TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
        if not ok:
            raise SpecError(f"expected {t}, got {short(value)}", loc=("inputs", self.name))
        if self.choices is not None and value not in self.choices:
            raise SpecError(f"{short(value)} is not one of {self.choices}", loc=("inputs", self.name))
        return value

    def to_dict(self) -> dict:
        out = {"type": self.type}
        for k in ("default", "description", "choices"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.required != (self.default is None):  # only when it differs from the default rule
            out["required"] = self.required
        return out


_BOOLS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False,
          "off": False}


def _check_child_inputs(step, i: int) -> None:
    """A `pipeline:` step whose child is loaded: its params must name the child's inputs, give the
    required ones, and give fixed values of the right type (known now, not when the child starts)."""
    child = step.action if step.kind == "pipeline" else None
    if not isinstance(child, Pipeline) or not child.inputs:
        return
    params = step.params
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return  # a template giving the whole mapping: checked when it runs
    for key, value in params.items():
        declared = child.inputs.get(key)
        if declared is None:
            raise SpecError(f"the sub-pipeline '{child.name}' has no input '{key}'", loc=("steps", i, "params", key),
                            hint=suggest(key, child.inputs) or f"its inputs: {', '.join(child.inputs)}")
        if not isinstance(value, Template) and value is not None:
            try:
                declared.convert(value)
            except SpecError as e:
                raise SpecError(e.message, loc=("steps", i, "params", key)) from None
    missing = [k for k, d in child.inputs.items() if d.required and d.default is None and k not in params]
    if missing:
        raise SpecError(f"the sub-pipeline '{child.name}' needs input '{missing[0]}'", loc=("steps", i, "params"),
                        hint=f"add it under params: ({', '.join(missing)})")


class Pipeline:
    """A validated pipeline, ready to run any number of times."""

    def __init__(self, name: str, steps, *, description: str | None = None, inputs=None,
                 models=None, routing=None, defaults=None, budget=None, version=None,
                 source_file: str | None = None, source_text: str | None = None, names=(),
                 prices=None, mcp=None, tools=None):
        PIPELINE.fields["name"].type.check(name, ("name",), True)
        self.name, self.description, self.version = name, description, version
        self.source_file, self.source_text = source_file, source_text
        self.prices = dict(prices or {})
        self.model_override = None  # `--model`: for every step that names no model (beats routing)
        self.inputs = {}
        for key, value in (inputs or {}).items():
            try:
                self.inputs[key] = InputDef.coerce(key, value)
            except SpecError as e:
                raise e.within("inputs", key) from None
        models = PIPELINE.fields["models"].type.check(dict(models or {}), ("models",), True)
        self.models = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in models.items()}
        self.routing = PIPELINE.fields["routing"].type.check(dict(routing or {}), ("routing",), True)
        self.defaults = {k: v for k, v in DEFAULTS.check(dict(defaults or {}), ("defaults",), True).items()
                         if v is not None}
        try:
            self.default_retry = RetryPolicy.coerce(self.defaults.get("retry"))
        except SpecError as e:
            raise e.within("defaults", "retry") from None
        self.budget = {k: v for k, v in BUDGET.check(dict(budget or {}), ("budget",), True).items() if v is not None}
        self.prices = PIPELINE.fields["prices"].type.check(self.prices, ("prices",), True)
        self.mcp = PIPELINE.fields["mcp"].type.check(dict(mcp or {}), ("mcp",), True)
        for name, server in self.mcp.items():
            if (server.get("command") is None) == (server.get("url") is None):
                raise SpecError("an MCP server needs `command` (stdio) or `url` (HTTP), not both or neither",
                                loc=("mcp", name))
        self.tools = {k: v for k, v in TOOLS.check(dict(tools or {}), ("tools",), True).items() if v is not None}
        steps = list(steps)
        if not steps:
            raise SpecError("a pipeline needs at least one step", loc=("steps",))
        self.steps: dict[str, StepDef] = {}
        for i, s in enumerate(steps):
            if not isinstance(s, StepDef):
                raise SpecError("must be a step", loc=("steps", i))
            if s.id in self.steps:
                raise SpecError(f"duplicate step id '{s.id}'", loc=("steps", i, "id"),
                                hint="each step needs its own id")
            self.steps[s.id] = s
            if s.tools or s.kind == "call":
                _check_code_tools(s, i, self.tools.get("allow") or ())
            if s.kind == "pipeline":
                _check_child_inputs(s, i)
        self.index = {sid: i for i, sid in enumerate(self.steps)}
        self.order_hint = tuple(self.steps)
        self._link(names)

    def _link(self, names) -> None:
        """Resolve dependencies, check references and names, find cycles."""
        ids = self.steps
        self.callables: dict = {}     # python step id -> function (strings resolved by prepare)
        self.prepared = False
        for sid, s in ids.items():
            i = self.index[sid]
            deps = set()
            for j, dep in enumerate(s.needs):
                if dep not in ids:
                    raise SpecError(f"unknown step '{dep}'", loc=("steps", i, "needs", j),
                                    hint=suggest(dep, ids) or "needs lists step ids")
                deps.add(dep)
            allowed = _ALLOWED[s.for_each is not None, getattr(s, "while") is not None]
            for fieldname, found in (s.templates_by_field() if s.template_fields or s.check else ()):
                if fieldname in ("for_each", "max_iterations"):
                    scope_names = BASE_NAMES
                elif fieldname == "while":
                    scope_names = BASE_NAMES | {"iteration", "previous"}
                elif fieldname == "check":
                    scope_names = allowed | {"output", "feedback"}
                else:
                    scope_names = allowed
                # the field's templates together (a 200-value join: one set operation, not 200);
                # when something is wrong, one by one, for the first one's own error
                refs = found[0].steps if len(found) == 1 else frozenset().union(*[t.steps for t in found])
                used = found[0].names if len(found) == 1 else frozenset().union(*[t.names for t in found])
                if refs and (sid in refs or not ids.keys() >= refs) \
                        or names is not None and not used <= scope_names or self.inputs:
                    for t in found:
                        self._check_template(t, sid, i, fieldname, scope_names, names)
                deps |= refs
            if s.kind == "approval" and not deps and i > 0:
                deps.add(self.order_hint[i - 1])  # an approval with nothing named reviews the step before it
            if s.kind == "approval" and s.revise is not None and s.revise not in ids:
                raise SpecError(f"unknown step '{s.revise}'", loc=("steps", i, "revise"),
                                hint=suggest(s.revise, ids))
            if s.kind == "approval" and s.revise is not None:
                deps.add(s.revise)
            if s.kind == "sql":  # `steps_<id>` tables read upstream outputs: those steps come first
                for ref in sql_refs(s.action, ids):
                    if ref != sid:
                        deps.add(ref)
            if s.kind == "code":
                for ref in code_refs(s.action[1]):
                    if ref not in ids:
                        raise SpecError(f"unknown step '{ref}' in code", loc=("steps", i, "code"),
                                        hint=suggest(ref, ids) or "steps[...] must name a step")
                    if ref != sid:
                        deps.add(ref)
            s.deps = frozenset(deps)
            if s.kind == "python" and callable(s.action):
                self.callables[sid] = s.action
        self.graph = {sid: s.deps for sid, s in ids.items()}
        self.plan = Plan(self.graph)
        self.order = self.plan.order()
        if len(self.order) < len(ids):  # graphlib names the cycle for the message
            try:
                TopologicalSorter(self.graph).prepare()
            except CycleError as e:
                cycle = list(e.args[1])
                raise SpecError("dependency cycle: " + " -> ".join(reversed(cycle)), loc=("steps", self.index[cycle[0]]),
                                hint="remove one of these dependencies") from None
        position = {sid: n for n, sid in enumerate(self.order)}
        for s in ids.values():  # 'request changes' regenerates `revise`, else the latest dependency
            if s.kind == "approval":
                s.revises = s.revise or _latest(self, s.deps, position)
        # (kind, output format) per step, plain data for results
        self.meta = {sid: (s.kind, s.output if not isinstance(s.output, type) else plain(s.output))
                     for sid, s in ids.items()}

    def _check_template(self, t, sid, i, fieldname, scope_names, names) -> None:
        """One template's step references, names and inputs (the error for the first wrong one)."""
        ids = self.steps
        refs = t.steps
        if refs and (sid in refs or not ids.keys() >= refs):
            for ref in refs:
                if ref not in ids:
                    raise SpecError(f"unknown step '{ref}' in template", loc=("steps", i, fieldname),
                                    hint=suggest(ref, ids) or "steps.<id> must name a step")
            raise SpecError("a step cannot read its own output", loc=("steps", i, fieldname))
        if names is not None and not t.names <= scope_names:
            for n in t.names:
                if n not in scope_names and n not in names:
                    hint = suggest(n, set(scope_names) | set(names)) or (
                        "item/index only exist in for_each steps" if n in ("item", "index")
                        else f"use inputs.{n} and declare it under inputs, or pass it with -p")
                    raise SpecError(f"unknown name '{n}' in template", loc=("steps", i, fieldname), hint=hint)
        if self.inputs:
            for key in _input_refs(t):
                if key not in self.inputs:
                    raise SpecError(f"unknown input '{key}'", loc=("steps", i, fieldname),
                                    hint=suggest(key, self.inputs) or "declare it under inputs")

    # running -------------------------------------------------------------------------------
    def run(self, inputs: dict | None = None, **options):
        """Run to completion and return a ``RunResult``: ``orchestrator_nb.run(self, ...)``."""
        return _runner().run(self, inputs, **options)

    async def arun(self, inputs: dict | None = None, **options):
        """``await orchestrator_nb.arun(self, ...)``."""
        return await _runner().arun(self, inputs, **options)

    def to_dict(self) -> dict:
        out: dict = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.version is not None:
            out["version"] = self.version
        if self.inputs:
            out["inputs"] = {k: v.to_dict() for k, v in self.inputs.items()}
        for key in ("models", "routing", "defaults", "budget", "prices", "mcp", "tools"):
            if getattr(self, key):
                out[key] = plain(getattr(self, key))
        out["steps"] = [s.to_dict() for s in self.steps.values()]
        return out

    def to_yaml(self) -> str:
        """The pipeline as YAML (the file's own text when it was loaded from one)."""
        if self.source_text is not None:
            return self.source_text
        from ..spec.yamlio import dump_yaml
        return dump_yaml(self.to_dict())

    def spec_hash(self) -> str:
        """A short hash of ``spec_text()`` (stored with runs; `orc notebook --resume` matches on it)."""
        text = self.spec_text()
        if getattr(self, "_hashed", (None,))[0] is not text:
            import hashlib
            self._hashed = (text, hashlib.sha256(text.encode()).hexdigest()[:16])
        return self._hashed[1]

    def spec_text(self) -> str:
        """The text stored with every run (for `orc resume`): the file's own text, or for a
        pipeline built in Python its JSON form on one line (JSON is YAML, and ~50x faster to write;
        without `indent` json's C encoder writes it, ~10x faster again: a 200-step pipeline in
        ~0.2 ms, which every run of a pipeline built in Python pays before its first step)."""
        if self.source_text is None:
            import json
            self.source_text = json.dumps(self.to_dict(), ensure_ascii=False, default=str)
        return self.source_text

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}: {len(self.steps)} steps>"


# names a step's templates may use: (in a for_each step, in a while step) -> names
_ALLOWED = {(each, loop): frozenset(BASE_NAMES) | ({"item", "index"} if each else set())
            | ({"iteration", "previous"} if loop else set()) for each in (False, True) for loop in (False, True)}
CODE_TOOLS = ("python", "shell")  # built-in tools that run code here: off unless `tools: {allow: [...]}`


def _check_code_tools(s, i: int, allowed) -> None:
    """A step may list `python`/`shell` only when the pipeline allows them (checked again at run time)."""
    names = list(s.tools or ()) + ([s.action] if s.kind == "call" else [])
    for j, name in enumerate(names):
        if isinstance(name, str) and name in CODE_TOOLS and name not in allowed:
            where = ("steps", i, "tools", j) if j < len(s.tools or ()) else ("steps", i, "call")
            raise SpecError(f"the '{name}' tool runs code on this machine and is off", loc=where,
                            hint=f"enable it for this pipeline with `tools: {{allow: [{name}]}}` at the top level")


# `steps['x']` / `steps.get("x")` written plainly: the common case, read without parsing (see code_refs)
_REF = re.compile(r"""(?<![\w.])steps\s*(?:\[\s*(['"])([^'"\\\n]*)\1\s*\]|\.\s*get\s*\(\s*(['"])([^'"\\\n]*)\3)""")
_WORD = re.compile(r"(?<![\w.])steps(?!\w)")


def code_refs(source: str) -> set[str]:
    """Step ids an inline `code:` step reads: steps["x"], steps['x'], steps.get("x")."""
    if "steps" not in source:
        return set()
    found = list(_REF.finditer(source))
    # Without comments, backslashes or other string literals, and with every `steps` one of those
    # shapes, no match can hide inside a string or a comment: the matches are the references.
    if "#" not in source and "\\" not in source and len(_WORD.findall(source)) == len(found) \
            and source.count("'") + source.count('"') == 2 * len(found):
        return {m.group(2) if m.group(2) is not None else m.group(4) for m in found}
    return _parsed_refs(source)


def _parsed_refs(source: str) -> set[str]:
    import ast
    refs = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return refs
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "steps" \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            refs.add(node.slice.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "steps" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            refs.add(node.args[0].value)
    return refs


def sql_refs(action, ids) -> set[str]:
    """Step ids whose outputs a sql step reads as `steps_<id>` tables."""
    text = action["text"] if isinstance(action, dict) else action
    if not isinstance(text, str):
        return set()
    return {m for m in re.findall(r"\bsteps_([A-Za-z_][A-Za-z0-9_]*)\b", text) if m in ids}


def _input_refs(t: Template):
    """Keys of `inputs.X` a template reads (only static attribute access)."""
    if t.kind == "const" or "inputs" not in t.names:
        return ()
    return re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_]*)", t.source)



def _latest(pipeline, deps, position) -> str | None:
    """The dependency that runs last (skipping other approvals)."""
    deps = [d for d in deps if pipeline.steps[d].kind != "approval"]
    return max(deps, key=position.__getitem__) if deps else None


def _runner():
    """The api layer's run functions (``orchestrator_nb.api`` registers them when imported)."""
    found = runner()
    if found is None:
        from ..errors import OrcError
        raise OrcError("nothing to run this pipeline with: `import orchestrator_nb` (its api layer gives runs "
                       "their store and models), then pipeline.run() or orchestrator_nb.run(pipeline)")
    return found
