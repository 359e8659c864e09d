"""OpenTelemetry traces of runs (the optional ``otel`` extra): a run is a trace, each step attempt a
span, each model or tool call a child span with the GenAI semantic-convention attributes.

``subscriber_for(store_path)`` gives the run-event subscriber that ``api.runner`` adds to a run when
traces are on (``config``: the standard ``OTEL_EXPORTER_OTLP_*`` variables or the settings file),
else None. ``spans.SpanBuilder`` turns events into spans; ``sender`` sends them. Stored runs are
sent by ``orc export otlp`` (``api.export``), through the same builder.
"""
from __future__ import annotations

import sys

from ..envvars import env
from .config import TelemetryConfig, protocol_problem, resolve

__all__ = ["subscriber_for", "TelemetryConfig", "resolve", "available"]

_warned: set[str] = set()


def available() -> bool:
    """Whether the ``otel`` extra is installed."""
    from importlib.util import find_spec
    return find_spec("opentelemetry.sdk") is not None and \
        find_spec("opentelemetry.exporter.otlp.proto.http") is not None


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"orchestrator-nb: {text}", file=sys.stderr)


class TraceSubscriber:
    """Run events -> spans, sent in the background. Never critical: a failure here detaches it."""

    wants_tokens = False

    def __init__(self, builder):
        self.builder = builder

    def handle(self, event) -> None:
        self.builder.handle(event)


def subscriber_for(store_path=None) -> TraceSubscriber | None:
    """A subscriber sending this run's spans, or None when traces are off (cheap to ask)."""
    if store_path is None and not env("ORC_SETTINGS") and not env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip() \
            and not env("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        return None  # no settings file and no endpoint: `resolve` says off, whatever else is set
    from ..spec.settings import load_settings
    try:
        config = resolve(load_settings(store_path))
    except Exception as e:  # a broken settings file is reported by whatever reads budgets; never stop a run here
        _warn_once(f"telemetry settings ignored: {e}")
        return None
    if config is None:
        return None
    problem = protocol_problem()
    if problem:
        _warn_once(problem)
        return None
    if not available():
        _warn_once(f"traces for {config.shown} need the otel extra: pip install 'orchestrator-nb[otel]'")
        return None
    from .sender import sender_for
    from .spans import SpanBuilder
    sender = sender_for(config)
    return TraceSubscriber(SpanBuilder(sender.tracer, sender.ids, config.capture_content))
