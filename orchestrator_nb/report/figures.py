"""Cost, latency and budget figures as text tables (``orc stats``, ``orc budget``; the notebook
shows the same columns as HTML)."""
from __future__ import annotations

STATS_COLUMNS = (("calls", "calls"), ("errors", "errors"), ("retries", "retries"), ("fallbacks", "fallbacks"),
                 ("tokens_in", "tokens in"), ("tokens_out", "tokens out"), ("cost_usd", "cost"),
                 ("p50_ms", "p50"), ("p95_ms", "p95"))


def cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key.endswith("_usd"):
        return f"${value:.4f}"
    if key.endswith("_ms"):
        return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"
    return str(value)


def text_table(header, rows) -> str:
    rows = [tuple("" if v is None else str(v) for v in r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([line.format(*header), line.format(*("-" * w for w in widths))] + [line.format(*r) for r in rows])


def stats_rows(rows: list[dict], total: dict | None = None) -> list[tuple]:
    out = [(r["key"], *(cell(k, r[k]) for k, _ in STATS_COLUMNS)) for r in rows]
    if total is not None:
        out.append(("(all)", *(cell(k, total[k]) for k, _ in STATS_COLUMNS)))
    return out


def stats_text(data: dict, by) -> str:
    parts = []
    for dim in by:
        header = (dim, *(label for _, label in STATS_COLUMNS))
        parts.append(f"by {dim}:\n" + text_table(header, stats_rows(data[dim], data["total"])))
    return "\n\n".join(parts)


BUDGET_HEADER = ("budget", "limit", "spent today", "left", "set by")


def budget_rows(status: dict) -> list[tuple]:
    return [(r["budget"], cell("limit_usd", r["limit_usd"]), cell("spent_usd", r["spent_usd"]),
             cell("left_usd", r["left_usd"]), r["source"]) for r in status["limits"]]
