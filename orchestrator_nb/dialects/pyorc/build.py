"""Translating a level of py-orc steps (the pipeline's, or a loop body's): every step, then the
conditions and jumps that need the whole list. Loops build their bodies with ``build_level``."""
from __future__ import annotations

from ...errors import suggest
from .actions import action
from .flow import finish
from .level import Item, Level, Out
from .loops import build_loop, is_loop
from .steps import NOT_SUPPORTED, STEP_KEYS, condition, failure_policy, location, needs, timeout


def build_level(level: Level) -> None:
    for it in level.items:
        build(level, it)
    finish(level)


def build(level: Level, it: Item) -> None:
    r, p = it.raw, it.path
    for key in r:
        if key in NOT_SUPPORTED:
            raise level.tr.error(f"'{key}' is not supported", p + (key,), hint=NOT_SUPPORTED[key])
        if key not in STEP_KEYS:
            raise level.tr.error(f"unknown key '{key}'", p + (key,),
                                 hint=suggest(key, STEP_KEYS) or "see docs/migrating.md for what is supported")
    if "add_completion_task" in r:  # py-orc's marker task for a for_each; a native for_each step is that marker
        if not isinstance(r["add_completion_task"], bool):
            raise level.tr.error("must be true or false", p + ("add_completion_task",))
        if "for_each" not in r:
            raise level.tr.error("add_completion_task only applies to a for_each step", p + ("add_completion_task",))
    it.main = main = Out(it.nid, p)
    level.current, level.current_item = main, it
    for key in ("name", "description"):
        if r.get(key) is not None:
            if not isinstance(r[key], str):
                raise level.tr.error("must be text", p + (key,))
            main.put(key, r[key], p + (key,))
    needs(level, it)
    failure_policy(level, it)
    if is_loop(r):
        build_loop(level, it, build_level)
    else:
        condition(level, it)
        action(level, it, main, level)
        timeout(level, it, main)
    location(level, it)
    level.current = level.current_item = None
