"""Conditions and forward jumps -> native `when:` expressions.

py-orc semantics, per list of steps (the pipeline or one loop body), in file order:
- `condition`/`if` false: the step is skipped;
- `on_success: T`, `on_failure: T` (a step id), `on_false: T`: when the step succeeded / failed /
  had its condition come out false (for `evaluate_condition`, also when its result is false),
  every step strictly between it and T is skipped; T and what follows run as usual;
- `break_on_true` (evaluate_condition in a while body): the rest of the iteration is skipped and
  the loop ends;
- a skipped dependency does not skip its dependents (py-orc treats it as done).

Natively a step with a skipped dependency is skipped unless it has its own `when`, so a step
whose dependency may be skipped gets `when: "{{ true }}"`. Jump guards read `steps.<J>.status`,
which also orders the guarded step after J.
"""
from __future__ import annotations

from .level import Level


def finish(level: Level) -> None:
    items = level.items
    pos = {it.pid: k for k, it in enumerate(items)}
    covered: dict[str, list] = {it.pid: [] for it in items}
    for it in items:
        for kind, target, origin in it.jumps:
            if target not in pos:
                from ...errors import suggest
                raise level.tr.error(f"unknown step '{target}'", origin, hint=suggest(target, pos) or
                                     "jumps go to a later step of the same list")
            if pos[target] <= pos[it.pid]:
                raise level.tr.error(f"'{target}' is not after '{it.pid}'", origin,
                                     hint="jumps only go forward (to a later step of the same list)")
            if kind == "on_false" and it.cond is None and not it.is_condition:
                raise level.tr.error("on_false needs a `condition`/`if` (or action evaluate_condition)", origin)
            for s in items[pos[it.pid] + 1:pos[target]]:
                covered[s.pid].append((it, kind))
    guards: dict[str, list[str]] = {}
    breakers: list = []
    for it in items:
        terms = [f"not ({_fired(j, kind, guards)})" for j, kind in covered[it.pid]]
        terms += [f"not (steps.{b.nid}.status == 'succeeded' and steps.{b.nid}.output)" for b in breakers]
        guards[it.pid] = terms
        if it.breaks_loop:
            breakers.append(it)
    may_skip: set[str] = set()
    for it in items:
        g = guards[it.pid]
        full = g + ([it.cond] if it.cond else [])
        for out in it.pre:
            _when(out, g, it.cond_origin)
        for out in it.auto + [it.main]:
            _when(out, full, it.cond_origin)
        for out in it.outs():
            if it.needs and out is not it.main and out not in it.post:
                out.put("needs", list(it.needs), it.main.where.get(("needs",), it.path))
            if "when" in out.data:
                may_skip.add(out.nid)
        # the location writer is skipped with its step (plain propagation)
        may_skip.update(o.nid for o in it.post if it.main.nid in may_skip)
    for it in items:
        for out in it.pre + it.auto + [it.main]:
            deps = set(out.refs) | set(out.data.get("needs", ()))
            if "when" not in out.data and deps & may_skip:
                out.put("when", "{{ true }}", it.path)
                may_skip.discard(out.nid)
    for out in level.tail:  # runs after the whole body, whatever was skipped
        out.put("needs", [it.main.nid for it in items], level.path)
        out.put("when", "{{ true }}", level.path)


def _fired(j, kind: str, guards: dict) -> str:
    s = f"steps.{j.nid}"
    if kind == "on_success":
        return f"{s}.status == 'succeeded'"
    if kind == "on_failure":
        return f"{s}.status == 'failed'"
    reached = [f"{s}.status == 'skipped'"] + guards[j.pid]
    reached += [f"steps.{d}.status != 'failed'" for d in sorted(set(j.needs) | j.main.refs) if d != j.nid]
    text = " and ".join(reached)
    if j.is_condition:
        text = f"({text}) or ({s}.status == 'succeeded' and not {s}.output)"
    return text


def _when(out, terms: list[str], origin) -> None:
    if not terms:
        return
    expr = terms[0] if len(terms) == 1 else " and ".join(f"({t})" for t in terms)
    out.put("when", "{{ " + expr + " }}", origin)
