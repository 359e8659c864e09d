"""py-orc `for_each` / `while` loops.

A loop whose body is the step itself, with nothing per-item to decide, stays one native step
with `for_each:` (item/index in scope) or `while:` (iteration/previous in scope). Otherwise the
body (nested `steps:`, or a step with per-item AUTO values or conditions) becomes an inline
child pipeline run once per item or iteration: its own conditions, jumps and nested loops work
as at the top, and every run is recorded as a sub-run of the loop step.

Inside a `while` body a step may read a sibling that comes later in the list: that is the
previous iteration's value (`inputs.previous.<id>`). The `while` condition reads the last
iteration's step values by id (undefined before the first: py-orc files guard with
`| default(...)`). An `<AUTO>` while condition is asked at the end of each iteration.
"""
from __future__ import annotations

from . import autotext
from .level import LOOP_VARS, Item, Level, Ref
from .actions import action
from .steps import condition, timeout, uses_loop_vars

LOOP_KEYS = ("for_each", "while", "steps", "max_parallel", "max_iterations")
# keys that stay on the loop step when a single-step loop is wrapped into a body
OUTER_KEYS = LOOP_KEYS + ("dependencies", "depends_on", "on_success", "on_false", "on_failure", "goto",
                          "name", "description", "location", "produces", "add_completion_task")


def is_loop(raw: dict) -> bool:
    return any(k in raw for k in ("for_each", "while", "steps"))


class SingleLoop:
    """Names inside a one-step loop that stays a native for_each / while step."""

    def __init__(self, level: Level, it: Item, kind: str, items: str | None = None):
        self.level, self.it, self.kind, self.items = level, it, kind, items

    def find(self, name, attrs):
        if self.kind == "for_each":
            fixed = {"item": "item", "index": "index", "is_first": "(index == 0)",
                     "is_last": f"(index + 1 == ({self.items}) | length)"}
            if name in fixed:
                return Ref(fixed[name])
        else:
            if name == "iteration":
                return Ref("iteration")
            if name == self.it.pid or self.level.produces.get(name) == self.it.pid:
                return Ref("previous", "step", guarded="below")
        return self.level.find(name, attrs)


class WhileCondition:
    """Names in a `while:` condition of a loop with a body: the body's ids are the values of the
    last iteration."""

    def __init__(self, level: Level, body: Level):
        self.level, self.body = level, body

    def find(self, name, attrs):
        pid = name if name in self.body.by_pid else self.body.produces.get(name)
        if pid is not None:
            return Ref(f"previous.{self.body.by_pid[pid].nid}", "step", guarded=True)
        if name == "iteration":
            return Ref("iteration")
        return self.level.find(name, attrs)


def build_loop(level: Level, it: Item, build_level) -> None:
    """``build_level``: translates the loop's body (a Level of its own)."""
    r, p, main, tr = it.raw, it.path, it.main, level.tr
    if "for_each" in r and "while" in r:
        raise tr.error("a loop has `for_each` or `while`, not both", p + ("while",))
    kind = "while" if "while" in r else "for_each" if "for_each" in r else None
    if kind is None:
        raise tr.error("nested `steps` need `for_each` or `while`", p + ("steps",))
    nested = r.get("steps")
    if nested is not None and ("action" in r or "tool" in r):
        raise tr.error("a loop with nested `steps` has no action of its own", p + ("action",),
                       hint="move the action into the nested steps")
    level.loops.add(it.nid)
    if nested is None and _simple(r, kind):
        return _single(level, it, kind)
    # the body: nested steps, or the step itself without its loop keys
    if nested is None:
        own_cond = any(uses_loop_vars(r.get(k)) for k in ("condition", "if"))
        keep = [k for k in r if k not in OUTER_KEYS and (own_cond or k not in ("condition", "if"))]
        body_raw, body_path, paths = [{k: r[k] for k in keep}], p, [p]
        if "max_retries" in keep:      # retried per item, inside the body
            main.data.pop("retry", None)
        if not own_cond:
            condition(level, it)
    else:
        body_raw, body_path, paths = nested, p + ("steps",), None
        condition(level, it)
    body = Level(tr, body_raw, body_path, parent=level, loop=kind, item_paths=paths)
    for child in body.items:
        if child.pid not in level.by_pid:
            level.inner.setdefault(child.pid, (it.nid, child.nid))
    params: dict = {}
    if kind == "for_each":
        items = _items(level, it)
        main.put("for_each", items, p + ("for_each",))
    else:
        cond = _while(level, it, body)
    build_level(body)
    if kind == "while":
        breaks = [c.nid for c in body.items if c.breaks_loop]
        cond = " and ".join([f"({cond})"] + [f"not (previous.{b} | default(false))" for b in breaks]) \
            if breaks else cond
        main.put("while", "{{ " + cond + " }}", p + ("while",))
        _max_iterations(level, it)
        params["iteration"] = "{{ iteration }}"
        if "previous" in body.vars_used:
            params["previous"] = "{{ previous }}"
    else:
        loop_vars = {"item": "{{ item }}", "index": "{{ index }}", "is_first": "{{ index == 0 }}",
                     "is_last": "{{ index + 1 == (%s) | length }}" % _expr_of(main.data["for_each"])}
        params.update({v: loop_vars[v] for v in LOOP_VARS["for_each"] if v in body.vars_used})
        if r.get("max_parallel") is not None:
            n = r["max_parallel"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise tr.error(f"must be a whole number >= 1, not {n!r}", p + ("max_parallel",))
            main.put("max_parallel", n, p + ("max_parallel",))
    for key, expr in body.used.items():
        params[key] = "{{ " + expr + " }}"
    steps, where = body.assemble()
    inputs = {k: {"type": "any", "required": False} for k in params}
    child = {"name": f"{tr.name}-{it.nid}", "description": f"body of the {kind} loop '{it.pid}'"}
    if inputs:
        child["inputs"] = inputs
    child["steps"] = steps
    tr.children.append(child)   # gets the pipeline's `models` and `defaults` at the end
    sub = {("name",): p, ("steps",): body_path, **{("inputs", k): p for k in inputs}}
    sub.update(where)
    main.put("pipeline", child, p, sub)
    if params:
        main.put("params", params, p + (kind,), {(k,): p + (kind,) for k in params})
    for nid in sorted(body.outer_needs):
        if nid not in it.needs:
            it.needs.append(nid)
    if it.needs:
        main.put("needs", list(it.needs), main.where.get(("needs",), p))


def _simple(r: dict, kind: str) -> bool:
    """Can a one-step loop stay a native for_each/while step?"""
    params = r.get("parameters") or {}
    if _has_auto(params) or autotext.has_auto(r.get(kind)) or autotext.has_auto(r.get("max_iterations")):
        return False
    if kind == "for_each" and any(uses_loop_vars(r.get(k)) for k in ("condition", "if")):
        return False
    return True


def _has_auto(value) -> bool:
    if isinstance(value, dict):
        return any(_has_auto(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_auto(v) for v in value)
    return autotext.has_auto(value)


def _single(level: Level, it: Item, kind: str) -> None:
    r, p, main = it.raw, it.path, it.main
    condition(level, it)
    if kind == "for_each":
        items = _items(level, it)
        main.put("for_each", items, p + ("for_each",))
        resolver = SingleLoop(level, it, kind, _expr_of(items))
        action(level, it, main, resolver)
        if r.get("max_parallel") is not None:
            main.put("max_parallel", r["max_parallel"], p + ("max_parallel",))
    else:
        resolver = SingleLoop(level, it, kind)
        cond = level.expression(r["while"], p + ("while",), resolver)
        action(level, it, main, resolver)
        main.put("while", "{{ " + cond + " }}", p + ("while",))
        _max_iterations(level, it)
    timeout(level, it, main)


def _items(level: Level, it: Item):
    raw, origin = it.raw["for_each"], it.path + ("for_each",)
    if isinstance(raw, list):
        return level.value(raw, origin, it, "for_each")[0]
    if not isinstance(raw, str):
        raise level.tr.error("must be a list or a template that gives a list", origin)
    if autotext.has_auto(raw):
        parts = level.split(raw, origin)
        if len(parts) != 1:
            raise level.tr.error("for_each is either one <AUTO> tag or a template", origin)
        nid = level.auto_step(it, parts[0][1], origin, "for_each", "list", pre=True)
        return "{{ steps.%s.output.value }}" % nid
    return "{{ " + level.expression(raw, origin) + " }}"


def _while(level: Level, it: Item, body: Level) -> str:
    raw, origin = it.raw["while"], it.path + ("while",)
    if autotext.has_auto(raw):
        parts = level.split(raw, origin)
        if len(parts) != 1:
            raise level.tr.error("a while condition is either one <AUTO> tag or an expression", origin)
        saved = body.current
        nid = body.auto_step(it, parts[0][1], origin, "while", "condition", resolver=body, tail=True)
        body.current = saved
        return f"iteration == 0 or (previous.{nid}.value | default(false))"
    return level.expression(raw, origin, WhileCondition(level, body))


def _max_iterations(level: Level, it: Item) -> None:
    raw, origin = it.raw.get("max_iterations"), it.path + ("max_iterations",)
    if raw is None:
        return
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or (isinstance(raw, int) and raw < 1):
        raise level.tr.error(f"must be a whole number >= 1 or a template, not {raw!r}", origin)
    if isinstance(raw, str):
        if autotext.has_auto(raw):
            parts = level.split(raw, origin)
            nid = level.auto_step(it, parts[0][1], origin, "max_iterations", "integer", pre=True)
            raw = "{{ steps.%s.output.value }}" % nid
        else:
            raw = "{{ " + level.expression(raw, origin) + " }}"
    it.main.put("max_iterations", raw, origin)


def _expr_of(items) -> str:
    if isinstance(items, str) and items.startswith("{{") and items.endswith("}}"):
        return items[2:-2].strip()
    import json
    return json.dumps(items)
