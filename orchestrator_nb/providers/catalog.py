"""Prices and the automatic model choice by task type.

PRICES: USD per million tokens (input, output) for well-known models, from the vendors' public
price pages (late 2025; check yours). A pipeline's ``prices:`` overrides or adds entries
(``prices: {"openai:gpt-4.1": {input: 2.0, output: 8.0}}``). A dated snapshot name
(``claude-sonnet-4-5-20250929``) takes the price of its base name. Models not listed cost 0
(local and self-hosted models, and anything unknown: set its price in ``prices:``).

PREFERENCES: for each task type, model ids in order of preference. The automatic choice (a step
with no ``model``, no ``routing`` entry, no ``defaults.model`` and no ``ORC_MODEL``) keeps those whose
provider is configured (its key is set; a self-hosted server counts when its base URL is set; the
embedded ``local`` model when it is installed), one model per provider, at most ``AUTO_CHAIN``
of them: the first answers, the others are its fallbacks. Task types:

  analysis, planning, reasoning   the strongest models first
  review                          strong models (a judge should not be weaker than the author)
  writing                         strong writers, then fast ones
  codegen                         a self-hosted model (ollama, vllm, lmstudio) first when one is
                                  configured, then strong coding models
  summarize, extract, classify    fast, cheap models first
  default                         a balanced order (also for unknown task types)

``local:smollm2`` ends every list, so a machine with no keys still runs (with a weak model).
"""
from __future__ import annotations

PRICES: dict[str, tuple[float, float]] = {
    # Anthropic
    "anthropic:claude-opus-4-1": (15.0, 75.0),
    "anthropic:claude-opus-4-0": (15.0, 75.0),
    "anthropic:claude-sonnet-4-5": (3.0, 15.0),
    "anthropic:claude-sonnet-4-0": (3.0, 15.0),
    "anthropic:claude-3-7-sonnet-latest": (3.0, 15.0),
    "anthropic:claude-haiku-4-5": (1.0, 5.0),
    "anthropic:claude-3-5-haiku-latest": (0.8, 4.0),
    # OpenAI
    "openai:gpt-5": (1.25, 10.0),
    "openai:gpt-5-mini": (0.25, 2.0),
    "openai:gpt-5-nano": (0.05, 0.4),
    "openai:gpt-4.1": (2.0, 8.0),
    "openai:gpt-4.1-mini": (0.4, 1.6),
    "openai:gpt-4.1-nano": (0.1, 0.4),
    "openai:gpt-4o": (2.5, 10.0),
    "openai:gpt-4o-mini": (0.15, 0.6),
    "openai:o3": (2.0, 8.0),
    "openai:o4-mini": (1.1, 4.4),
    # OpenAI-compatible hosted services
    "gemini:gemini-2.5-pro": (1.25, 10.0),
    "gemini:gemini-2.5-flash": (0.3, 2.5),
    "gemini:gemini-2.0-flash": (0.1, 0.4),
    "mistral:mistral-large-latest": (2.0, 6.0),
    "mistral:mistral-small-latest": (0.1, 0.3),
    "mistral:codestral-latest": (0.3, 0.9),
    "deepseek:deepseek-chat": (0.27, 1.1),
    "deepseek:deepseek-reasoner": (0.55, 2.19),
    "groq:llama-3.3-70b-versatile": (0.59, 0.79),
    "groq:llama-3.1-8b-instant": (0.05, 0.08),
    "xai:grok-4": (3.0, 15.0),
    "xai:grok-3-mini": (0.3, 0.5),
    "together:meta-llama/Llama-3.3-70B-Instruct-Turbo": (0.88, 0.88),
    "fireworks:accounts/fireworks/models/llama-v3p3-70b-instruct": (0.9, 0.9),
    "openrouter:anthropic/claude-sonnet-4.5": (3.0, 15.0),
    "openrouter:openai/gpt-4.1": (2.0, 8.0),
}

AUTO_CHAIN = 3     # models in an automatic chain (the first answers, the rest are fallbacks)

STRONG = ["anthropic:claude-opus-4-1", "openai:gpt-5", "gemini:gemini-2.5-pro", "xai:grok-4",
          "anthropic:claude-sonnet-4-5", "openai:gpt-4.1", "deepseek:deepseek-reasoner",
          "mistral:mistral-large-latest", "openrouter:anthropic/claude-sonnet-4.5", "azure:gpt-4.1"]
BALANCED = ["anthropic:claude-sonnet-4-5", "openai:gpt-4.1", "gemini:gemini-2.5-flash", "xai:grok-4",
            "mistral:mistral-large-latest", "deepseek:deepseek-chat", "openrouter:anthropic/claude-sonnet-4.5",
            "azure:gpt-4.1", "groq:llama-3.3-70b-versatile",
            "together:meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "fireworks:accounts/fireworks/models/llama-v3p3-70b-instruct"]
FAST = ["anthropic:claude-haiku-4-5", "openai:gpt-4.1-mini", "gemini:gemini-2.0-flash", "groq:llama-3.1-8b-instant",
        "mistral:mistral-small-latest", "deepseek:deepseek-chat", "xai:grok-3-mini", "azure:gpt-4.1-mini",
        "together:meta-llama/Llama-3.3-70B-Instruct-Turbo", "openrouter:openai/gpt-4.1"]
SELF_HOSTED = ["ollama:default", "vllm:default", "lmstudio:default"]   # "default": the first model the server lists
LOCAL = ["local:smollm2"]
CODE = ["anthropic:claude-sonnet-4-5", "openai:gpt-4.1", "mistral:codestral-latest", "deepseek:deepseek-chat",
        "gemini:gemini-2.5-pro", "together:Qwen/Qwen2.5-Coder-32B-Instruct", "xai:grok-4",
        "openrouter:anthropic/claude-sonnet-4.5", "azure:gpt-4.1", "groq:llama-3.3-70b-versatile"]

PREFERENCES: dict[str, list[str]] = {
    "analysis": STRONG + BALANCED + SELF_HOSTED + LOCAL,
    "planning": STRONG + BALANCED + SELF_HOSTED + LOCAL,
    "reasoning": STRONG + BALANCED + SELF_HOSTED + LOCAL,
    "review": STRONG + BALANCED + SELF_HOSTED + LOCAL,
    "writing": BALANCED + FAST + SELF_HOSTED + LOCAL,
    "codegen": SELF_HOSTED + CODE + BALANCED + LOCAL,
    "summarize": FAST + BALANCED + SELF_HOSTED + LOCAL,
    "extract": FAST + BALANCED + SELF_HOSTED + LOCAL,
    "classify": FAST + BALANCED + SELF_HOSTED + LOCAL,
    "default": BALANCED + FAST + SELF_HOSTED + LOCAL,
}


def price(model_id: str, overrides: dict | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when unknown."""
    if overrides and model_id in overrides:
        o = overrides[model_id]
        return float(o.get("input", 0.0)), float(o.get("output", 0.0))
    p = PRICES.get(model_id)
    if p is not None:
        return p
    if model_id.startswith("openai-responses:"):  # the same models through another API: the same prices
        return price("openai:" + model_id.split(":", 1)[1], overrides)
    base = _base_name(model_id, overrides)
    if base is not None:
        return price(base, overrides)
    return None


def _base_name(model_id: str, overrides: dict | None) -> str | None:
    """The longest listed name that ``model_id`` extends with a ``-suffix`` (a dated snapshot)."""
    best = None
    for known in list(overrides or ()) + list(PRICES):
        if model_id.startswith(known + "-") and (best is None or len(known) > len(best)):
            best = known
    return best


def cost_usd(model_id: str, tokens_in: int, tokens_out: int, overrides: dict | None = None) -> float:
    p = price(model_id, overrides)
    if p is None:
        return 0.0
    return (tokens_in * p[0] + tokens_out * p[1]) / 1_000_000


def auto_models(task: str | None) -> list[str]:
    """Configured models for ``task``, best first (empty when nothing is configured)."""
    from .registry import provider_class
    prefs = PREFERENCES.get(task or "", None) or PREFERENCES["default"]
    out: list[str] = []
    seen: set[str] = set()
    ready: dict[str, bool] = {}
    for model_id in prefs:
        name = model_id.split(":", 1)[0]
        if name in seen:
            continue
        if name not in ready:
            try:
                ready[name] = provider_class(name).configured()
            except Exception:
                ready[name] = False
        if ready[name]:
            seen.add(name)
            out.append(model_id)
            if len(out) >= AUTO_CHAIN:
                break
    return out


def routing_table() -> list[dict]:
    """The preference table as rows (for docs and ``orc models --json``)."""
    return [{"task": task, "preference": list(models)} for task, models in PREFERENCES.items()]
