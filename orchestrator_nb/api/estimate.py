"""What a pipeline may cost, before it runs (``orc run --dry-run``, ``%%orc --dry-run``).

For each model call a run may make (prompt steps, and judges of `check:`), the input is counted
offline (``providers.tokens``: the model's tokenizer or the documented estimate) from the prompt
as written, with inputs filled in where a template can be rendered, plus the longest output of
every prompt step whose output it reads. Then:
- low: one call on the chain's first model, paying for the input only;
- high: every attempt (``retry`` attempts x ``check`` attempts) on the chain's most expensive
  model, each with its maximum output.
A ``for_each`` over a literal list multiplies by its length; over a template, the figures are
per item (marked). Sub-pipelines are included. Nothing is called or imported from the pipeline.
"""
from __future__ import annotations

from ..providers import prices, tokens
from ..providers.base import LLMRequest
from ..providers.budget import ASSUMED_MAX_OUTPUT
from ..providers.registry import provider_class, split_model
from ..providers.routing import resolve_chain


def _max_output(pipeline, step, model_id: str) -> int:
    limit = step.max_tokens or pipeline.defaults.get("max_tokens")
    if limit:
        return int(limit)
    try:
        cls = provider_class(split_model(model_id)[0])
    except Exception:
        cls = None
    return int(getattr(cls, "default_max_tokens", None) or ASSUMED_MAX_OUTPUT)


def _text(value, scope) -> str:
    """A template as it will read: rendered when only inputs are needed, else its source."""
    if value is None:
        return ""
    source = getattr(value, "source", value)
    if getattr(value, "steps", None):
        return str(source)
    try:
        return str(value.render(scope)) if hasattr(value, "render") else str(value)
    except Exception:
        return str(source)


def _attempts(step) -> int:
    retry = getattr(step.retry, "attempts", None) or (step.retry if isinstance(step.retry, int) else 1)
    checks = getattr(step.check, "max_attempts", None) or 1 if step.check is not None else 1
    return int(retry) * int(checks)


def estimate_pipeline(pipeline, inputs: dict | None = None, _prefix: str = "") -> dict:
    """{"steps": [{step, models, input_tokens, max_output, calls, low_usd, high_usd, per_item}],
    "low_usd", "high_usd", "per_item" (some figures are per for_each item), "unpriced": [models]}."""
    scope = {"inputs": inputs or {}, "run": {"id": "dry-run"}}
    rows, unpriced = [], set()
    longest: dict[str, int] = {}
    for sid, step in pipeline.steps.items():
        items, per_item = 1, False
        if step.for_each is not None:
            literal = step.for_each if isinstance(step.for_each, list) else None
            items, per_item = (len(literal), False) if literal is not None else (1, True)
        if step.kind == "pipeline" and hasattr(step.action, "steps"):
            sub = estimate_pipeline(step.action, {}, _prefix=f"{_prefix}{sid}.")
            for r in sub["steps"]:
                rows.append(dict(r, low_usd=r["low_usd"] * items, high_usd=r["high_usd"] * items,
                                 per_item=r["per_item"] or per_item))
            unpriced |= set(sub["unpriced"])
            continue
        calls = []
        if step.kind == "prompt":
            calls.append(("prompt", step.model, step.task, _text(step.action, scope), _text(step.system, scope)))
        check = step.check
        if check is not None and getattr(check, "judge", None) is not None:
            calls.append(("judge", check.model, check.task, _text(check.judge, scope), ""))
        for what, model, task, prompt, system in calls:
            try:
                chain = resolve_chain(pipeline, model, task)
            except Exception as e:  # no model configured: say so instead of a figure
                rows.append({"step": _prefix + sid, "call": what, "models": [], "error": str(e), "input_tokens": 0,
                             "max_output": 0, "calls": 0, "low_usd": 0.0, "high_usd": 0.0, "per_item": per_item})
                continue
            upstream = sum(longest.get(d, 0) for d in step.deps)
            req = LLMRequest(model="", messages=[{"role": "user", "content": prompt}], system=system or None,
                             schema=getattr(step, "output", None) if isinstance(getattr(step, "output", None), dict)
                             else None)
            n_in = tokens.local_count(chain[0], req)[0] + upstream
            attempts = _attempts(step)
            low = prices.cost_usd(chain[0], n_in, 0, pipeline.prices) * items
            high = max(prices.cost_usd(m, n_in, _max_output(pipeline, step, m), pipeline.prices) for m in chain)
            high *= attempts * items
            unpriced |= {m for m in chain if not prices.known(m, pipeline.prices)}
            out_max = max(_max_output(pipeline, step, m) for m in chain)
            rows.append({"step": _prefix + sid, "call": what, "models": list(chain), "input_tokens": n_in,
                         "max_output": out_max, "calls": attempts * items, "low_usd": low, "high_usd": high,
                         "per_item": per_item})
            if what == "prompt":
                longest[sid] = out_max
    return {"steps": rows, "low_usd": sum(r["low_usd"] for r in rows), "high_usd": sum(r["high_usd"] for r in rows),
            "per_item": any(r["per_item"] for r in rows), "unpriced": sorted(unpriced)}


def estimate_lines(est: dict) -> list[str]:
    """The estimate as a few lines of text."""
    if not est["steps"]:
        return ["estimated cost: $0 (no model calls)"]
    lines = []
    for r in est["steps"]:
        if r.get("error"):
            lines.append(f"  {r['step']}: {r['error']}")
            continue
        each = " per item" if r["per_item"] else ""
        lines.append(f"  {r['step']}{' (judge)' if r['call'] == 'judge' else ''}: ~{r['input_tokens']} input tokens, "
                     f"up to {r['max_output']} output, up to {r['calls']} call(s){each}: "
                     f"${r['low_usd']:.4f} - ${r['high_usd']:.4f}{each}")
    head = f"estimated cost: ${est['low_usd']:.4f} - ${est['high_usd']:.4f}"
    if est["per_item"]:
        head += " (for_each steps counted per item)"
    if est["unpriced"]:
        head += f"; no price for {', '.join(est['unpriced'])} (counted as $0; set prices:)"
    return [head] + lines
