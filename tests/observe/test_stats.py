"""`orc stats` (acceptance 4): on a store seeded with 1,000 model calls through the real journal
path, every figure equals plain SQL (and Python percentiles) over the store."""
from __future__ import annotations

import json
import random

import pytest

from orchestrator_nb.cli.main import main
from orchestrator_nb.core.events import Event

DAY = 86400.0
T0 = 1_796_000_000.0       # a fixed moment (UTC), so days are known
MODELS = [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4.1-mini"), ("openai", "gpt-4.1"), ("ollama", "llama3.2")]
PIPELINES = ["plan", "review", "summarize"]


def _event(kind, run_id, ts, step_id=None, **data):
    ev = Event(kind, run_id, step_id, -1, 1, data)
    ev.ts = ts
    return ev


def seed(store, calls: int = 1000, seed_: int = 7) -> None:
    rng = random.Random(seed_)
    made = 0
    n = 0
    while made < calls:
        run_id = f"run{n:04d}"
        pipeline = PIPELINES[n % len(PIPELINES)]
        start = T0 + rng.uniform(0, 3 * DAY)
        rec = store.recorder(run_id)
        rec.handle(_event("run_started", run_id, start, pipeline=pipeline, inputs={}, source="test"))
        t = start
        for _ in range(min(rng.randint(3, 12), calls - made)):
            provider, model = rng.choice(MODELS)
            t += rng.uniform(0.1, 5.0)
            cached = rng.random() < 0.1
            error = "rate_limit: slow down" if not cached and rng.random() < 0.08 else None
            tin, tout = (0, 0) if cached or error else (rng.randint(10, 4000), rng.randint(1, 800))
            rec.handle(_event("llm_call", run_id, t, "s", call_id=f"{run_id}-{made}", provider=provider, model=model,
                              request={"model": model}, response_text=None if error else "x", tokens_in=tin,
                              tokens_out=tout, cost_usd=0.0 if provider == "ollama" else (tin * 3 + tout * 15) / 1e6,
                              latency_ms=0.0 if cached else round(rng.uniform(50, 9000), 2), cached=cached,
                              request_hash="h", error=error, purpose="step",
                              retry=1 if rng.random() < 0.1 else 0,
                              fallback_from="anthropic:claude-haiku-4-5" if rng.random() < 0.05 else None))
            made += 1
        rec.handle(_event("run_finished", run_id, t + 1, status="succeeded", cost_usd=0, tokens_in=0, tokens_out=0))
        rec.w.close()
        n += 1
    store.sync()


KEYS = {"model": "c.provider || ':' || c.model", "pipeline": "r.pipeline",
        "day": "strftime(CAST(c.created_at AS DATE), '%Y-%m-%d')"}


def _percentile(values, q):
    """Linear interpolation between closest ranks (what quantile_cont and numpy compute)."""
    if not values:
        return None
    values = sorted(values)
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def expected(con, dim: str) -> dict:
    key = KEYS[dim]
    rows = con.execute(f"""
        SELECT {key}, count(*), sum(CASE WHEN c.error IS NOT NULL THEN 1 ELSE 0 END),
               sum(CASE WHEN c.cached THEN 1 ELSE 0 END), sum(c.tokens_in), sum(c.tokens_out), sum(c.cost_usd),
               sum(CASE WHEN c.retry > 0 THEN 1 ELSE 0 END), sum(CASE WHEN c.fallback_from IS NOT NULL THEN 1 ELSE 0 END)
        FROM llm_calls c JOIN runs r ON r.run_id = c.run_id GROUP BY 1""").fetchall()
    latencies: dict = {}
    for k, latency in con.execute(f"SELECT {key}, c.latency_ms FROM llm_calls c JOIN runs r ON r.run_id = c.run_id "
                                  "WHERE NOT c.cached AND c.error IS NULL").fetchall():
        latencies.setdefault(k, []).append(latency)
    out = {}
    for k, calls, errors, cached, tin, tout, cost, retries, fallbacks in rows:
        lat = latencies.get(k, [])
        out[k] = {"calls": calls, "errors": errors, "cached": cached, "tokens_in": tin, "tokens_out": tout,
                  "cost_usd": cost, "retries": retries, "fallbacks": fallbacks,
                  "p50_ms": _percentile(lat, 0.5), "p95_ms": _percentile(lat, 0.95)}
    return out


def test_stats_equal_plain_sql_over_1000_calls(orc_store, capsys):
    seed(orc_store)
    assert main(["stats", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    with orc_store.connect() as con:
        assert con.execute("SELECT count(*) FROM llm_calls").fetchall()[0][0] == 1000
        assert shown["total"]["calls"] == 1000
        for dim in ("model", "pipeline", "day"):
            want = expected(con, dim)
            got = {row["key"]: row for row in shown[dim]}
            assert set(got) == set(want), dim
            for key, figures in want.items():
                for name, value in figures.items():
                    if value is None or isinstance(value, float):
                        assert got[key][name] == pytest.approx(value, abs=0.01), (dim, key, name)
                    else:
                        assert got[key][name] == value, (dim, key, name)
        total = con.execute("SELECT sum(cost_usd), sum(tokens_in) FROM llm_calls").fetchall()[0]
    assert shown["total"]["cost_usd"] == pytest.approx(total[0]) and shown["total"]["tokens_in"] == total[1]
    assert [r["key"] for r in shown["day"]] == sorted(r["key"] for r in shown["day"]) and len(shown["day"]) >= 3


def test_stats_text_filters_and_bad_options(orc_store, capsys):
    assert main(["stats"]) == 0
    assert "no model calls recorded" in capsys.readouterr().out
    seed(orc_store, calls=60)
    assert main(["stats", "--by", "model", "--pipeline", "plan"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("by model:") and "p95" in text and "(all)" in text
    with orc_store.connect() as con:
        plan_calls = con.execute("SELECT count(*) FROM llm_calls c JOIN runs r USING (run_id) "
                                 "WHERE r.pipeline = 'plan'").fetchall()[0][0]
    assert main(["stats", "--by", "pipeline", "--pipeline", "plan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["calls"] == plan_calls
    assert main(["stats", "--since", "2099-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["calls"] == 0
    assert main(["stats", "--by", "weekday"]) == 2
    assert "--by 'weekday'" in capsys.readouterr().err
    assert main(["stats", "--since", "last tuesday"]) == 2
    assert "--since 'last tuesday': not a date" in capsys.readouterr().err
