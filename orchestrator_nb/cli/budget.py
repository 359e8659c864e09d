"""`orc budget`: the cross-run budgets (per UTC day: all runs, each pipeline, each notebook), what was
spent today, and what is left (``api.budgets``)."""
from __future__ import annotations

NAME = "budget"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="cross-run budgets: limits, spent today, left")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")


def run(args) -> int:
    from ..api.budgets import status
    from ..report.figures import BUDGET_HEADER, budget_rows, text_table
    from ..store import Store
    data = status(Store(args.db))
    if args.json:
        from ..core.serialize import dumps
        print(dumps(data))
        return 0
    print(f"day {data['day']} (UTC): ${data['spent_today_usd']:.4f} spent by all runs")
    if data["limits"]:
        print(text_table(BUDGET_HEADER, budget_rows(data)))
    else:
        print("no cross-run budget set (ORC_BUDGET_DAILY_USD, ORC_BUDGET_PIPELINE_DAILY_USD, "
              "ORC_BUDGET_NOTEBOOK_DAILY_USD, or budgets: in .orc/settings.yaml)")
    return 0
