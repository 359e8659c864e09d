"""What a model call costs: a pipeline's ``prices:`` first, then the maintained price data of the
``genai-prices`` package (tiered and dated prices included), then our own table
(``providers.catalog.PRICES``), else 0 (self-hosted and unknown models).

``genai-prices`` is optional (the ``prices`` extra; in ``dev``). Loading it costs ~2-3 s of CPU
once per process, so it is loaded on first need, in a worker thread when called from a run
(``await ready()``), never at import. ``ORC_PRICES=builtin`` uses only our table.

Self-hosted providers (ollama, vllm, lmstudio, local, scripted) are never priced by genai-prices:
a local ``llama3.2`` costs nothing even if some cloud sells a model of that name.
"""
from __future__ import annotations

import asyncio
import os
import threading

from .catalog import price as table_price

# our provider names -> genai-prices provider ids (names not listed are passed as they are)
PROVIDER_IDS = {"gemini": "google", "xai": "x-ai"}
FREE = frozenset({"ollama", "vllm", "lmstudio", "local", "scripted", "replay"})

_lock = threading.Lock()
_loaded = False
_calc = None          # genai_prices.calc_price, once loaded (None: not installed or turned off)
_usage = None
_unknown: set[str] = set()   # model ids genai-prices has no price for (asked once)


def maintained_source() -> bool:
    """Whether genai-prices is used (installed and not turned off)."""
    return _load() is not None


def _load():
    global _loaded, _calc, _usage
    if _loaded:
        return _calc
    with _lock:
        if not _loaded:
            if os.environ.get("ORC_PRICES", "").strip().lower() != "builtin":
                try:
                    from genai_prices import Usage, calc_price
                    from genai_prices.data_snapshot import get_snapshot
                    get_snapshot()  # build the bundled data now, not during the first call
                    _calc, _usage = calc_price, Usage
                except Exception:  # not installed, or broken: our table answers
                    _calc = None
            _loaded = True
    return _calc


def needs_data(model_id: str, overrides: dict | None = None) -> bool:
    """Whether pricing this model may read the maintained data (not for self-hosted ones or overrides)."""
    if model_id.partition(":")[0] in FREE or _loaded:
        return False
    return not (overrides and (model_id in overrides or _override_base(model_id, overrides)))


async def ready() -> None:
    """Load the price data without holding the event loop (a no-op once loaded)."""
    if not _loaded:
        await asyncio.to_thread(_load)


def cost_usd(model_id: str, tokens_in: int, tokens_out: int, overrides: dict | None = None) -> float:
    """USD for one call of ``model_id`` (``provider:model``) with these token counts."""
    if overrides and (model_id in overrides or _override_base(model_id, overrides)):
        return _table_cost(model_id, tokens_in, tokens_out, overrides)
    maintained = _maintained_cost(model_id, tokens_in, tokens_out)
    if maintained is not None:
        return maintained
    return _table_cost(model_id, tokens_in, tokens_out, overrides)


def known(model_id: str, overrides: dict | None = None) -> bool:
    """Whether any source has a price for this model (self-hosted ones are free; unknown ones cost 0)."""
    if model_id.partition(":")[0] in FREE:
        return True
    if overrides and (model_id in overrides or _override_base(model_id, overrides)):
        return True
    return _maintained_cost(model_id, 1, 1) is not None or table_price(model_id) is not None


def _table_cost(model_id, tokens_in, tokens_out, overrides) -> float:
    p = table_price(model_id, overrides)
    if p is None:
        return 0.0
    return (tokens_in * p[0] + tokens_out * p[1]) / 1_000_000


def _override_base(model_id: str, overrides: dict) -> bool:
    return any(model_id.startswith(k + "-") for k in overrides)


def _maintained_cost(model_id: str, tokens_in: int, tokens_out: int) -> float | None:
    provider, _, model = model_id.partition(":")
    if provider in FREE or not model or model_id in _unknown:
        return None
    calc = _load()
    if calc is None:
        return None
    try:
        result = calc(_usage(input_tokens=int(tokens_in), output_tokens=int(tokens_out)), model_ref=model,
                      provider_id=PROVIDER_IDS.get(provider, provider))
    except Exception:  # LookupError for an unknown model/provider, or a data problem
        _unknown.add(model_id)
        return None
    return float(result.total_price)
