"""Prices and the automatic model choice by task type.

PRICES: USD per million tokens (input, output) for well-known models; a pipeline's ``prices:``
overrides or adds entries. Models not listed cost 0 (local and self-hosted models).

PREFERENCES: for each task type, model ids in order of preference; the automatic choice takes
those whose provider is configured (has its key), strongest first.
"""
from __future__ import annotations

PRICES: dict[str, tuple[float, float]] = {}

STRONG: list[str] = []
FAST: list[str] = []
LOCAL: list[str] = []

PREFERENCES: dict[str, list[str]] = {}


def price(model_id: str, overrides: dict | None = None) -> tuple[float, float] | None:
    if overrides and model_id in overrides:
        o = overrides[model_id]
        return float(o.get("input", 0.0)), float(o.get("output", 0.0))
    return PRICES.get(model_id)


def cost_usd(model_id: str, tokens_in: int, tokens_out: int, overrides: dict | None = None) -> float:
    p = price(model_id, overrides)
    if p is None:
        return 0.0
    return (tokens_in * p[0] + tokens_out * p[1]) / 1_000_000


def auto_models(task: str | None) -> list[str]:
    """Configured models for ``task``, best first (empty when nothing is configured)."""
    from .registry import provider_class
    prefs = PREFERENCES.get(task or "", None) or PREFERENCES.get("default", [])
    out = []
    for model_id in prefs:
        name = model_id.split(":", 1)[0]
        try:
            if provider_class(name).configured() and model_id not in out:
                out.append(model_id)
        except Exception:
            continue
    return out
