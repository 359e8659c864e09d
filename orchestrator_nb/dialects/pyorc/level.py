"""One list of py-orc steps (the pipeline, or a loop body) and what names mean inside it.

A loop body becomes an inline child pipeline, so it cannot read the parent's steps or
parameters directly: every outer name a body uses becomes one of its inputs, and the loop step
passes it in (`params: {draft: "{{ steps.draft.output }}"}`). ``Level.find`` does that
bookkeeping while templates are rewritten.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ...errors import SpecError
from . import autotext
from .rewrite import TemplateProblem, as_expression, check_syntax, is_template, rewrite

LOOP_VARS = {"for_each": ("item", "index", "is_first", "is_last"), "while": ("iteration", "previous")}


class Ref(NamedTuple):
    """What a py-orc root name stands for: a native expression and how attributes apply."""
    base: str
    kind: str = "value"          # "step" (drop `.result`), "loop" (also .iterations...), "value"
    guarded: object = False      # True: the base may be undefined (a previous iteration's step);
    #                              "below": its attributes may be (`previous` is None at first)
    save: str | None = None      # id of the step that writes this step's `location` file
    skip: int = 0                # attribute names already used (`parameters.x` uses one)
    fs: bool = False             # a `tool: filesystem` step: py-orc's `.filepath` is our `.path`


def apply_attrs(ref: Ref, attrs: list[str]) -> tuple[str, int]:
    used, expr = ref.skip, ref.base
    rest = attrs[used:]
    if ref.kind in ("step", "loop") and rest:
        if rest[0] == "result":
            used, rest = used + 1, rest[1:]
        elif rest[0] == "location" and ref.save:
            return f"steps.{ref.save}.output.path", used + 1
        if ref.fs and rest[:1] == ["filepath"]:
            return f"{expr}.path", used + 1
    if ref.kind == "loop" and rest:
        if rest[0] in ("iterations", "results"):
            used += 1
        elif rest[0] in ("iteration_count", "iterations_completed"):
            return f"({expr} | length)", used + 1
    rest = attrs[used:]
    if ref.guarded and rest and (ref.guarded is True or len(rest) > 1):
        # `previous.x.y` before the first iteration reads as undefined (which `| default` accepts)
        first = expr if ref.guarded is True else f"{expr}.{rest[0]}"
        return f"({expr}.{'.'.join(rest)} if {first} is defined else {first})", len(attrs)
    return expr, used


class Out:
    """A native step being built, with where each of its keys came from in the py-orc file."""

    def __init__(self, nid: str, origin: tuple):
        self.data: dict = {"id": nid}
        self.where: dict[tuple, tuple] = {(): origin, ("id",): origin + ("id",)}
        self.refs: set[str] = set()      # native ids of steps at the same level it reads

    @property
    def nid(self) -> str:
        return self.data["id"]

    def put(self, key: str, value, origin: tuple | None, sub: dict | None = None) -> None:
        self.data[key] = value
        if origin is not None:
            self.where[(key,)] = origin
        for rel, orig in (sub or {}).items():
            self.where[(key,) + rel] = orig


class Item:
    """One py-orc step of a level and the native steps it becomes."""

    def __init__(self, pid: str, nid: str, raw: dict, path: tuple, index: int):
        self.pid, self.nid, self.raw, self.path, self.index = pid, nid, raw, path, index
        self.main: Out | None = None
        self.pre: list[Out] = []       # AUTO steps of the condition / loop header (guards only)
        self.auto: list[Out] = []      # AUTO steps of parameters (guards + condition)
        self.post: list[Out] = []      # the `location` writer
        self.cond: str | None = None   # native expression of `condition`/`if`
        self.cond_origin: tuple = path
        self.needs: list[str] = []
        self.jumps: list[tuple[str, str, tuple]] = []   # (kind, target py-orc id, origin)
        self.is_condition = False      # action evaluate_condition (its false result fires on_false)
        self.breaks_loop = False       # evaluate_condition with break_on_true

    def outs(self) -> list[Out]:
        return self.pre + self.auto + ([self.main] if self.main else []) + self.post


class Level:
    def __init__(self, tr, raw_steps: list, path: tuple, parent: "Level | None" = None, loop: str | None = None,
                 params=(), item_paths=None):
        self.tr, self.path, self.parent, self.loop = tr, path, parent, loop
        self.params = set(params)
        self.items: list[Item] = []
        self.by_pid: dict[str, Item] = {}
        self.taken: set[str] = set()
        self.used: dict[str, str] = {}          # child input -> parent expression passed in
        self.vars_used: set[str] = set()
        self.outer_needs: set[str] = set()
        self.produces: dict[str, str] = {}      # py-orc `produces` variable -> py-orc id
        self.inner: dict[str, tuple[str, str]] = {}   # body step id -> (loop id, its id in the body)
        self.saves: dict[str, str] = {}         # native id -> id of its `location` writer
        self.loops: set[str] = set()
        self.tail: list[Out] = []               # native steps after all items (while AUTO check)
        self.current: Out | None = None
        self.current_item: Item | None = None
        if not isinstance(raw_steps, list) or not raw_steps:
            raise tr.error("needs a list of steps", path)
        for i, raw in enumerate(raw_steps):
            p = item_paths[i] if item_paths else path + (i,)
            if not isinstance(raw, dict):
                raise tr.error("a step must be a mapping with an `id`", p)
            pid = raw.get("id")
            if not isinstance(pid, str) or not pid.strip():
                raise tr.error("a step needs an `id`", p, hint="e.g. id: summarize")
            if pid in self.by_pid:
                raise tr.error(f"duplicate step id '{pid}'", p + ("id",), hint="each step needs its own id")
            nid = self.fresh(_native_id(pid), p + ("id",), exact=True)
            item = Item(pid, nid, raw, p, i)
            self.items.append(item)
            self.by_pid[pid] = item
            produced = raw.get("produces")
            if isinstance(produced, str) and re.fullmatch(r"[A-Za-z_]\w*", produced):
                self.produces.setdefault(produced, pid)

    def assemble(self) -> tuple[list[dict], dict]:
        """-> (native steps, {native path: original path})."""
        steps, where = [], {}
        for out in [o for it in self.items for o in it.outs()] + self.tail:
            where.update({("steps", len(steps)) + rel: orig for rel, orig in out.where.items()})
            steps.append(ordered(out.data))
        return steps, where

    # ids ----------------------------------------------------------------------------------------
    def fresh(self, base: str, origin: tuple | None = None, exact: bool = False) -> str:
        if base in self.taken:
            if exact:
                raise self.tr.error(f"step id collides with '{base}' once written with letters, digits and '_'",
                                    origin, hint="rename one of the steps")
            n = 2
            while f"{base}_{n}" in self.taken:
                n += 1
            base = f"{base}_{n}"
        self.taken.add(base)
        return base

    def nid(self, pid: str) -> str | None:
        it = self.by_pid.get(pid)
        return it.nid if it else None

    # names --------------------------------------------------------------------------------------
    def find(self, name: str, attrs: list[str]) -> Ref | None:
        if name in ("parameters", "inputs") and attrs:
            got = self.find_param(attrs[0])
            if got is not None:
                return got._replace(skip=1)
        it = self.by_pid.get(name) or self.by_pid.get(self.produces.get(name, "\0"))
        if it is not None and self.loop == "while" and self.current_item is not None \
                and it.index >= self.current_item.index:
            # a while body reading itself or a later step: that step's value in the previous iteration
            self.vars_used.add("previous")
            return Ref(f"inputs.previous.{it.nid}", "step", guarded=True)
        if it is not None:
            self._read(it.nid)
            return Ref(f"steps.{it.nid}.output", "loop" if it.nid in self.loops else "step",
                       save=self.saves.get(it.nid), fs=it.raw.get("tool") == "filesystem")
        if self.loop and name in LOOP_VARS[self.loop]:
            self.vars_used.add(name)
            return Ref(f"inputs.{name}")
        if name in self.inner:
            loop_id, inner = self.inner[name]
            self._read(loop_id)
            return Ref(f"(steps.{loop_id}.output | last).{inner}", "step")
        if self.parent is None:
            return Ref(f"inputs.{name}") if name in self.params else self.tr.top_name(name)
        got = self.parent.find(name, attrs)
        if got is None:
            return None
        key = attrs[0] if got.skip else name
        if key in LOOP_VARS.get(self.loop, ()):
            raise SpecError(f"'{key}' names both a loop variable and an outer value",
                            hint="rename the step or parameter")
        if self.used.get(key, got.base) != got.base:
            raise SpecError(f"'{key}' names both a step and a parameter", hint="rename one of them")
        self.used[key] = got.base
        return Ref(f"inputs.{key}", got.kind, guarded=got.guarded, skip=got.skip)

    def find_param(self, name: str) -> Ref | None:
        if self.parent is None:
            return Ref(f"inputs.{name}") if name in self.params else None
        got = self.parent.find_param(name)
        if got is None:
            return None
        if self.used.get(name, got.base) != got.base:
            raise SpecError(f"'{name}' names both a step and a parameter", hint="rename one of them")
        self.used[name] = got.base
        return Ref(f"inputs.{name}")

    def _read(self, nid: str) -> None:
        if self.current is not None and nid != self.current.nid:
            self.current.refs.add(nid)

    # values -------------------------------------------------------------------------------------
    def render_name(self, resolver):
        def resolve(name, attrs):
            ref = resolver.find(name, attrs)
            return None if ref is None else apply_attrs(ref, attrs)
        return resolve

    def split(self, raw: str, origin: tuple) -> list[tuple[str, str]]:
        try:
            return autotext.split_auto(raw)
        except SpecError as e:
            raise self.tr.error(e.message, origin, hint=e.hint) from None

    def template(self, text: str, origin: tuple, resolver=None) -> str:
        """Rewrite one template text (no AUTO tags in it)."""
        if not is_template(text) and "$" not in text:
            return text
        try:
            out = rewrite(text, self.render_name(resolver or self))
            check_syntax(out)
        except TemplateProblem as e:
            raise self.tr.error(e.message, origin, tline=e.lineno, value=text) from None
        except SpecError as e:
            raise self.tr.error(e.message, origin, hint=e.hint) from None
        return out

    def expression(self, raw, origin: tuple, resolver=None) -> str:
        """A py-orc condition -> a native expression (without braces)."""
        try:
            expr = as_expression(raw)
        except SpecError as e:
            raise self.tr.error(e.message, origin, hint=e.hint) from None
        return self.template("{{ " + expr + " }}", origin, resolver)[3:-3]

    def value(self, raw, origin: tuple, item: Item, where: str, resolver=None, context: str = "value",
              model=None):
        """A parameter value: templates rewritten, AUTO tags turned into steps. Returns the
        native value and the sub-path map of where its parts came from."""
        sub: dict[tuple, tuple] = {}
        if isinstance(raw, dict):
            out = {}
            for k, v in raw.items():
                out[k], inner = self.value(v, origin + (k,), item, f"{where}_{k}", resolver, context, model)
                sub[(k,)] = origin + (k,)
                sub.update({(k,) + r: o for r, o in inner.items()})
            return out, sub
        if isinstance(raw, list):
            out = []
            for i, v in enumerate(raw):
                val, inner = self.value(v, origin + (i,), item, f"{where}_{i}", resolver, context, model)
                out.append(val)
                sub[(i,)] = origin + (i,)
                sub.update({(i,) + r: o for r, o in inner.items()})
            return out, sub
        if not isinstance(raw, str):
            return raw, sub
        if not autotext.has_auto(raw):
            return self.template(raw, origin, resolver), sub
        parts = self.split(raw, origin)
        tasks = iter(autotext.auto_tasks(raw))
        pieces = []
        for kind, text in parts:
            if kind == "text":
                pieces.append(text)
                continue
            tagged = autotext.infer_task(text, next(tasks))   # <AUTO task="...">: route the question
            asked = model if model is not None or tagged is None else ("task", tagged, origin)
            ref = f"steps.{self.auto_step(item, text, origin, where, context, resolver, asked)}.output.value"
            pad = text.count("\n")
            pieces.append("{{ " + ref + " }}" + ("{# " + "\n" * pad + " #}" if pad else ""))
        joined = "".join(pieces)
        return self.template(joined, origin, resolver), sub

    def auto_step(self, item: Item, wording: str, origin: tuple, where: str, context: str, resolver=None,
                  model=None, pre: bool = False, tail: bool = False) -> str:
        """An `<AUTO>` value: a prompt step asking the routed model, typed by context. Returns
        the new step's id (its output is `{value: ...}`)."""
        schema, describe = autotext.value_schema(wording, context)
        nid = self.fresh(_native_id(f"{item.nid}_auto_{where}")[:60])
        out = Out(nid, origin)
        saved = self.current
        self.current = out
        try:
            question = self.template(wording, origin, resolver)
        finally:
            self.current = saved
        label = where.replace("_", ".") if context == "value" else context
        out.put("prompt", autotext.auto_prompt(question, describe, label), origin)
        out.put("output", {"schema": {"type": "object", "properties": {"value": schema}, "required": ["value"]}},
                origin)
        if model is not None:
            out.put(*model)
        (self.tail if tail else item.pre if pre else item.auto).append(out)
        if saved is not None:
            saved.refs.add(nid)
        return nid


STEP_ORDER = ("id", "name", "description", "prompt", "python", "code", "sql", "approval", "write", "pipeline",
              "needs", "when", "for_each", "max_parallel", "while", "max_iterations", "params", "model", "task",
              "system", "output", "temperature", "max_tokens", "retry", "timeout", "on_error", "thread")


def ordered(data: dict) -> dict:
    """A native step's keys in the order a person would write them."""
    out = {k: data[k] for k in STEP_ORDER if k in data}
    out.update({k: v for k, v in data.items() if k not in out})
    return out


def _native_id(pid: str) -> str:
    nid = re.sub(r"[^A-Za-z0-9_]", "_", pid.strip())
    return nid if re.match(r"[A-Za-z_]", nid) else f"s_{nid}"
