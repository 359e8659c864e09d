"""One py-orc step -> native step(s): the keys every step has. The action itself is ``actions``,
loops are ``loops``, conditions and jumps are finished by ``flow``.

| py-orc                                            | native                                       |
|---------------------------------------------------|----------------------------------------------|
| dependencies / depends_on                         | `needs:`                                      |
| condition / if                                    | `when:` (with the jump guards, see ``flow``)  |
| max_retries (total attempts), on_failure: retry   | `retry:`                                      |
| on_failure: continue / skip                       | `on_error: fail_at_end` (goes on; run fails)  |
| on_failure / on_success / on_false: <step id>     | jump guards on the steps in between           |
| timeout                                           | `timeout:`                                    |
| location                                          | a `write:` step `<id>_save` after the step    |
"""
from __future__ import annotations

import re

from . import autotext
from .level import Item, Level, Out
from .rewrite import is_template

STEP_KEYS = ("id", "name", "description", "action", "tool", "parameters", "dependencies", "depends_on",
             "condition", "if", "on_false", "on_success", "on_failure", "timeout", "max_retries", "for_each",
             "while", "steps", "max_parallel", "max_iterations", "produces", "location", "model", "metadata",
             "goto", "requires_model", "tags", "add_completion_task")


# py-orc step keys that are known but not supported, with what to write instead
NOT_SUPPORTED = {
    "on_error": "error handlers are not supported: use on_failure (fail, continue, skip, retry or a step id)",
    "error_handling": "use on_failure (fail, continue, skip, retry or a step id) and max_retries",
    "until": "`until` is not supported: write `while:` with the opposite condition",
    "foreach": "write for_each",
    "parallel": "steps without dependencies already run in parallel",
    "create_parallel_queue": "use for_each with max_parallel",
    "action_loop": "use while with nested steps",
    "cache_results": "model answers are always cached",
}


def needs(level: Level, it: Item) -> None:
    r, p = it.raw, it.path
    if "dependencies" in r and "depends_on" in r:
        raise level.tr.error("give `dependencies` or `depends_on`, not both", p + ("depends_on",))
    key = "dependencies" if "dependencies" in r else "depends_on"
    deps = r.get(key)
    if deps is None:
        return
    if isinstance(deps, str):
        if autotext.has_auto(deps) or is_template(deps):
            raise level.tr.error("dependencies must be step ids", p + (key,), hint="AUTO/template dependencies "
                                 "are not supported; list the ids")
        deps = [d.strip() for d in deps.split(",") if d.strip()]
    if not isinstance(deps, list):
        raise level.tr.error("must be a step id or a list of step ids", p + (key,))
    for j, dep in enumerate(deps):
        where = p + (key, j) if isinstance(r[key], list) else p + (key,)
        if not isinstance(dep, str):
            raise level.tr.error("must be a step id", where)
        if dep == it.pid:
            raise level.tr.error("a step cannot depend on itself", where)
        if dep in level.by_pid:
            nid = level.by_pid[dep].nid
            if nid not in it.needs:
                it.needs.append(nid)
            continue
        lvl = level
        while lvl.parent is not None and dep not in lvl.parent.by_pid:
            lvl = lvl.parent
        if lvl.parent is None:
            from ...errors import suggest
            raise level.tr.error(f"unknown step '{dep}'", where, hint=suggest(dep, level.by_pid) or
                                 "dependencies name steps of the same list (or of an enclosing one)")
        lvl.outer_needs.add(lvl.parent.by_pid[dep].nid)
    if it.needs:
        it.main.put("needs", list(it.needs), p + (key,))


def condition(level: Level, it: Item, resolver=None) -> None:
    r, p = it.raw, it.path
    if "condition" in r and "if" in r:
        raise level.tr.error("give `condition` or `if`, not both", p + ("if",))
    key = "condition" if "condition" in r else "if" if "if" in r else None
    if key is None or r[key] is None:
        return
    raw, origin = r[key], p + (key,)
    it.cond_origin = origin
    if autotext.has_auto(raw):
        parts = level.split(raw, origin)
        if len(parts) != 1:
            raise level.tr.error("a condition is either one <AUTO> tag or an expression", origin)
        nid = level.auto_step(it, parts[0][1], origin, "if", "condition", resolver, pre=True)
        it.cond = f"steps.{nid}.output.value"
    else:
        it.cond = level.expression(raw, origin, resolver)


def failure_policy(level: Level, it: Item) -> None:
    r, p, main = it.raw, it.path, it.main
    attempts = None
    if r.get("max_retries") is not None:
        n = r["max_retries"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise level.tr.error(f"must be a whole number >= 0, not {n!r}", p + ("max_retries",))
        attempts = n
    policy = r.get("on_failure")
    if policy is not None:
        origin = p + ("on_failure",)
        if not isinstance(policy, str) or not policy.strip():
            raise level.tr.error("must be fail, continue, skip, retry or a step id", origin)
        word = policy.strip()
        if word.lower() in ("continue", "skip"):  # py-orc goes on, then reports the run failed
            main.put("on_error", "fail_at_end", origin)
        elif word.lower() == "retry":
            attempts = max(attempts or 0, 3)
        elif word.lower() != "fail":
            it.jumps.append(("on_failure", word, origin))
            main.put("on_error", "continue", origin)
    if attempts and attempts > 1:
        main.put("retry", attempts, p + ("max_retries",) if "max_retries" in r else p + ("on_failure",))
    for key in ("on_success", "on_false", "goto"):
        target = r.get(key)
        if target is None:
            continue
        if not isinstance(target, str) or is_template(target) or autotext.has_auto(target):
            raise level.tr.error("must name a step id", p + (key,), hint="dynamic jumps are not supported")
        it.jumps.append(("on_success" if key == "goto" else key, target.strip(), p + (key,)))


def timeout(level: Level, it: Item, out: Out) -> None:
    t = it.raw.get("timeout")
    if t is None:
        return
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
        raise level.tr.error(f"must be a number of seconds > 0, not {t!r}", it.path + ("timeout",))
    out.put("timeout", float(t), it.path + ("timeout",))


def location(level: Level, it: Item) -> None:
    loc = it.raw.get("location")
    if loc is None:
        return
    origin = it.path + ("location",)
    if not isinstance(loc, str):
        raise level.tr.error("must be a file path", origin)
    save = Out(level.fresh(f"{it.nid}_save"), origin)
    level.current = save
    path, _ = level.value(loc, origin, it, "location")
    save.put("write", {"path": path, "content": "{{ steps.%s.output }}" % it.nid}, origin,
             {("path",): origin, ("content",): origin})
    save.refs.add(it.nid)
    level.current = it.main
    level.saves[it.nid] = save.nid
    it.post.append(save)


def uses_loop_vars(text) -> bool:
    return isinstance(text, str) and re.search(r"\$?\b(item|index|is_first|is_last|iteration)\b", text) is not None
