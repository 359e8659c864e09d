"""What ``%orc stats`` and ``%orc budget`` display: the figures of ``orc stats`` / ``orc budget`` as
tables, and a small chart of cost per day (and p95 latency per model) when matplotlib is present."""
from __future__ import annotations

import base64
import io

from ..report.figures import BUDGET_HEADER, STATS_COLUMNS, budget_rows, cell
from .tables import Sections, Table


def stats_view(store, by, since=None, until=None, pipeline=None, model=None) -> Sections:
    from ..store.stats import stats
    data = stats(store, by, since, until, pipeline, model) if store.exists() else {"total": None}
    if not data["total"] or not data["total"]["calls"]:
        return Sections([("p", "no model calls recorded yet")], data=data)
    t = data["total"]
    parts = [("h", f"model calls: {t['calls']}, ${t['cost_usd']:.4f}, {t['tokens_in']} tokens in / "
                   f"{t['tokens_out']} out, p50 {cell('p50_ms', t['p50_ms'])}, p95 {cell('p95_ms', t['p95_ms'])}")]
    for dim in by:
        rows = [(r["key"], *(cell(k, r[k]) for k, _ in STATS_COLUMNS)) for r in data[dim]]
        parts.append(("table", Table((dim, *(label for _, label in STATS_COLUMNS)), rows, title=f"by {dim}")))
    chart = _chart(data)
    if chart is not None:
        parts.append(("html", chart))
    return Sections(parts, data=data)


def _chart(data: dict):
    """(html with a PNG, text) or None without matplotlib or anything to draw."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except Exception:
        return None
    days, models = data.get("day") or [], data.get("model") or []
    if not days and not models:
        return None
    fig = Figure(figsize=(8, 2.6))
    panels = [p for p in (("cost per day (USD)", days, "cost_usd"), ("p95 latency per model (s)", models, "p95_ms"))
              if p[1]]
    for i, (title, rows, key) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), i)
        values = [(r[key] or 0) / (1000 if key == "p95_ms" else 1) for r in rows]
        ax.bar(range(len(rows)), values, color="#4c78a8")
        ax.set_xticks(range(len(rows)), [str(r["key"])[-24:] for r in rows], rotation=30, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    img = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="cost and latency" src="data:image/png;base64,{img}"/>', "(chart: cost per day, p95 per model)"


def budget_view(store) -> Sections:
    from ..api.budgets import status
    data = status(store)
    parts = [("h", f"day {data['day']} (UTC): ${data['spent_today_usd']:.4f} spent by all runs")]
    if data["limits"]:
        parts.append(("table", Table(BUDGET_HEADER, budget_rows(data))))
    else:
        parts.append(("p", "no cross-run budget set (ORC_BUDGET_DAILY_USD and friends, or budgets: in "
                           ".orc/settings.yaml)"))
    return Sections(parts, data=data)
