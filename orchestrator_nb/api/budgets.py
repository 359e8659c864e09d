"""Budgets across runs: per UTC day for every run, each pipeline and each notebook.

Set by environment variables (they win) or the settings file's ``budgets:`` (``spec.settings``):

    ORC_BUDGET_DAILY_USD            every run in this store
    ORC_BUDGET_PIPELINE_DAILY_USD   each pipeline (settings: ``pipelines: {name: usd}`` per name)
    ORC_BUDGET_NOTEBOOK_DAILY_USD   each notebook (settings: ``notebooks: {path: usd}``)

When a run starts, the store is read once for what was spent today (every process's runs: the
read merges their journals) and a ``providers.budget.Ledger`` goes to the model gateway, which
adds this run's own calls and refuses any call whose worst case would cross a limit. Runs going
on at the same time in other processes are seen when they started before this one read the store.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..envvars import env
from ..errors import UsageError
from ..spec.settings import load_settings, settings_path

if TYPE_CHECKING:
    from ..providers.budget import Ledger

ENV = {"daily_usd": "ORC_BUDGET_DAILY_USD", "pipeline_daily_usd": "ORC_BUDGET_PIPELINE_DAILY_USD",
       "notebook_daily_usd": "ORC_BUDGET_NOTEBOOK_DAILY_USD"}


def configured(store_path=None) -> dict:
    """{"daily_usd": (usd, source), ..., "pipelines": {name: (usd, source)}, "notebooks": {...}}."""
    settings = (load_settings(store_path).get("budgets") or {})
    where = settings_path(store_path)
    out: dict = {"pipelines": {}, "notebooks": {}}
    for key, var in ENV.items():
        raw = env(var, "").strip()
        if raw:
            out[key] = (_dollars(raw, var), var)
        elif settings.get(key) is not None:
            out[key] = (float(settings[key]), where)
    for section in ("pipelines", "notebooks"):
        for name, usd in (settings.get(section) or {}).items():
            out[section][name] = (float(usd), where)
    return out


def _dollars(raw: str, var: str) -> float:
    try:
        value = float(raw.lstrip("$"))
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{var}={raw!r} is not an amount of dollars (e.g. {var}=5 or 0.50)")
    return value


def limits(cfg: dict, pipeline: str | None, notebook: str | None) -> list[tuple[str, str, float, str]]:
    """(label, scope, usd, source) of each limit that applies to a run of ``pipeline`` from ``notebook``."""
    out = []
    if "daily_usd" in cfg:
        out.append(("daily", "all", *cfg["daily_usd"]))
    if pipeline:
        named = cfg["pipelines"].get(pipeline) or cfg.get("pipeline_daily_usd")
        if named:
            out.append((f"daily pipeline '{pipeline}'", "pipeline", *named))
    if notebook:
        named = cfg["notebooks"].get(notebook) or cfg.get("notebook_daily_usd")
        if named:
            out.append((f"daily notebook '{notebook}'", "notebook", *named))
    return out


def ledger_for(store, pipeline: str | None, notebook: str | None) -> Ledger | None:
    """The cross-run budgets of a run about to start, or None when none is set."""
    if store is None and not env("ORC_SETTINGS") and not any(env(var, "").strip() for var in ENV.values()):
        return None  # no settings file and no variable: no limit (a run without the store, at once)
    cfg = configured(store.path if store is not None else None)
    found = limits(cfg, pipeline, notebook)
    if not found:
        return None
    from ..providers.budget import Ledger, Limit  # the providers layer: only when a budget is set
    spent = {"all": 0.0, "pipeline": 0.0, "notebook": 0.0}
    if store is not None and store.exists():
        from ..store.stats import day_start, spent_since
        spent = spent_since(store, day_start(), pipeline, notebook)
    return Ledger([Limit(label, usd, spent[scope], source) for label, scope, usd, source in found])


def status(store) -> dict:
    """Every configured limit with today's spending: {"day", "limits": [{budget, scope, name,
    limit_usd, spent_usd, left_usd, source}]} (for ``orc budget`` and the notebook)."""
    from ..store.stats import day_start, spent_by_scope
    cfg = configured(store.path)
    since = day_start()
    spent = spent_by_scope(store, since) if store.exists() else {"all": 0.0, "pipelines": {}, "notebooks": {}}
    rows = []

    def add(budget, scope, name, usd_source, used):
        usd, source = usd_source
        rows.append({"budget": budget, "scope": scope, "name": name, "limit_usd": usd, "spent_usd": round(used, 6),
                     "left_usd": round(max(usd - used, 0.0), 6), "source": source})

    if "daily_usd" in cfg:
        add("daily", "all", None, cfg["daily_usd"], spent["all"])
    for scope, key, each in (("pipeline", "pipelines", "pipeline_daily_usd"),
                             ("notebook", "notebooks", "notebook_daily_usd")):
        names = set(cfg[key]) | (set(spent[key]) if cfg.get(each) else set())
        for name in sorted(names):
            add(f"daily {scope} '{name}'", scope, name, cfg[key].get(name) or cfg[each], spent[key].get(name, 0.0))
        if cfg.get(each):
            rows.append({"budget": f"daily, each {scope} (others)", "scope": scope, "name": "*",
                         "limit_usd": cfg[each][0], "spent_usd": None, "left_usd": None, "source": cfg[each][1]})
    return {"day": since.strftime("%Y-%m-%d"), "spent_today_usd": round(spent["all"], 6), "limits": rows}
