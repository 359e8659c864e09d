"""`orc export otlp RUN | --since DATE [--endpoint URL]`: send stored runs as OpenTelemetry traces."""
from __future__ import annotations

NAME = "export"


def add_parser(sub) -> None:
    sp = sub.add_parser(NAME, help="send stored runs elsewhere: `orc export otlp RUN | --since DATE`")
    sp.add_argument("format", choices=["otlp"], help="otlp: OpenTelemetry traces over OTLP/HTTP")
    sp.add_argument("run_id", nargs="?", help="the run (a unique prefix will do)")
    sp.add_argument("--since", help="every run started since: YYYY-MM-DD, an ISO time (UTC), today, or an age (7d)")
    sp.add_argument("--endpoint", help="OTLP/HTTP base URL (default: OTEL_EXPORTER_OTLP_ENDPOINT or the settings)")
    sp.add_argument("--db", help="store path (default: $ORC_DB or .orc/orc.duckdb)")


def run(args) -> int:
    from ..api.export import export_otlp
    from ..api.when import parse_when
    from ..errors import UsageError
    from ..store import Store
    if bool(args.run_id) == bool(args.since):
        raise UsageError("orc export otlp takes a run id or --since DATE (one of them)")
    since = parse_when(args.since, "--since") if args.since else None
    out = export_otlp(Store(args.db), args.run_id, since, args.endpoint)
    print(f"sent {out['spans']} spans of {out['runs']} run(s) to {out['endpoint']}")
    return 0
