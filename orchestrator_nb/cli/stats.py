"""`orc stats`: calls, tokens, cost, p50/p95 latency, retries and fallbacks per model, pipeline and
day (definitions in ``store.stats``)."""
from __future__ import annotations

NAME = "stats"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="cost and latency of model calls per model, pipeline and day")
    sp.add_argument("--by", default="model,pipeline,day",
                    help="comma-separated: model, pipeline, day (default: all three)")
    sp.add_argument("--since", help="from this moment: YYYY-MM-DD, an ISO time (UTC), today, or an age (7d, 12h)")
    sp.add_argument("--until", help="up to (not including) this moment, same forms")
    sp.add_argument("--pipeline", help="only runs of this pipeline")
    sp.add_argument("--model", help="only this model (provider:model or model)")
    sp.add_argument("--json", action="store_true", help="print the figures as JSON")
    sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")


def by_option(text: str) -> tuple[str, ...]:
    from ..errors import UsageError
    from ..store.stats import DIMENSIONS
    by = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    bad = [b for b in by if b not in DIMENSIONS]
    if bad or not by:
        raise UsageError(f"--by {text!r}: use model, pipeline and/or day, comma-separated")
    return by


def run(args) -> int:
    from ..api.when import parse_when
    from ..report.figures import stats_text
    from ..store import Store
    from ..store.stats import stats
    by = by_option(args.by)
    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    store = Store(args.db)
    if not store.exists():
        data = {"total": None, **{d: [] for d in by}}
    else:
        data = stats(store, by, since, until, args.pipeline, args.model)
    if args.json:
        from ..core.serialize import dumps
        print(dumps(data))
    elif not data["total"] or not data["total"]["calls"]:
        print("no model calls recorded" + (" in that period" if since or until else "") + " (orc run PIPELINE.yaml)")
    else:
        print(stats_text(data, by))
    return 0
