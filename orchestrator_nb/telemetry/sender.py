"""The OpenTelemetry SDK pieces that send spans: one tracer provider per process and destination,
with a batch span processor (spans are queued; a background thread sends them), an OTLP/HTTP
exporter with a short timeout, and ids chosen by ``SpanBuilder``.

A collector that is down never slows or fails a run: sending happens off the run's thread, a
failure is reported once (one line on stderr) and the SDK's own log lines about it are silenced.
At exit, what is queued gets ``ORC_OTEL_EXIT_TIMEOUT`` seconds (default 2), then is given up.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import sys
import threading

EXPORT_TIMEOUT = 3.0       # seconds per export request when no OTEL_ timeout variable says otherwise
SCHEDULE_DELAY_MS = 1000   # how often queued spans are sent (OTEL_BSP_SCHEDULE_DELAY wins)
_QUIET_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.exporter.otlp.common.http",
                  "opentelemetry.sdk._shared_internal")

_lock = threading.Lock()
_senders: dict = {}
_registered: list = []
_sending = threading.local()   # set while our exporter runs (its SDK log lines are ours to silence)


def _ids_class():
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class ChosenIds(IdGenerator):
        """The next span's ids, chosen by the builder (random when none were chosen)."""

        def __init__(self):
            self._next = threading.local()

        def next(self, trace_id: int, span_id: int) -> None:
            self._next.trace, self._next.span = trace_id, span_id

        def generate_span_id(self) -> int:
            value = getattr(self._next, "span", None)
            self._next.span = None
            return value or random.getrandbits(64) or 1

        def generate_trace_id(self) -> int:
            value = getattr(self._next, "trace", None)
            self._next.trace = None
            return value or random.getrandbits(128) or 1

    return ChosenIds


class _Quiet(logging.Filter):
    def filter(self, record) -> bool:
        return not getattr(_sending, "on", False)


def _exporter_class():
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class ReportingExporter(SpanExporter):
        """The OTLP exporter, reporting its first failure in one line instead of log noise."""

        def __init__(self, inner, shown: str, report: bool = True):
            self.inner, self.shown, self.report = inner, shown, report
            self.failures = self.sent = 0

        def export(self, spans):
            _sending.on = True
            try:
                result = self.inner.export(spans)
            except Exception:
                result = SpanExportResult.FAILURE
            finally:
                _sending.on = False
            if result == SpanExportResult.SUCCESS:
                self.sent += len(spans)
            else:
                self.failures += 1
                if self.failures == 1 and self.report:
                    print(f"orchestrator-nb: could not send traces to {self.shown} (is the collector running?); "
                          "runs go on, later failures are not reported", file=sys.stderr)
            return result

        def shutdown(self):
            self.inner.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    return ReportingExporter


class Sender:
    """A tracer provider sending to one destination (``config.endpoint``)."""

    def __init__(self, config, batch: bool = True, report: bool = True):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        from ..version import __version__
        for name in _QUIET_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, _Quiet) for f in logger.filters):
                logger.addFilter(_Quiet())
        timeout = None if (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
                           or os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")) else EXPORT_TIMEOUT
        self.ids = _ids_class()()
        attrs = {"service.version": __version__}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attrs["service.name"] = "orchestrator-nb"
        self.provider = TracerProvider(resource=Resource.create(attrs), id_generator=self.ids,
                                       shutdown_on_exit=False)
        self.exporter = _exporter_class()(OTLPSpanExporter(endpoint=config.endpoint, timeout=timeout), config.shown,
                                          report)
        if batch:
            delay = None if os.environ.get("OTEL_BSP_SCHEDULE_DELAY") else SCHEDULE_DELAY_MS
            processor = BatchSpanProcessor(self.exporter, schedule_delay_millis=delay)
        else:
            processor = SimpleSpanProcessor(self.exporter)
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("orchestrator_nb", __version__)

    def flush(self, seconds: float) -> None:
        """Send what is queued, waiting at most ``seconds``."""
        t = threading.Thread(target=self.provider.force_flush, name="orc-otel-flush", daemon=True)
        t.start()
        t.join(seconds)

    def shutdown(self, seconds: float) -> None:
        t = threading.Thread(target=self.provider.shutdown, name="orc-otel-shutdown", daemon=True)
        t.start()
        t.join(seconds)


def sender_for(config) -> Sender:
    """The process's sender for this destination (made once; flushed, bounded, at exit)."""
    key = (config.endpoint, config.shown)
    with _lock:
        sender = _senders.get(key)
        if sender is None:
            if not _senders and not _registered:
                atexit.register(_at_exit)
                _registered.append(True)
            sender = _senders[key] = Sender(config)
        return sender


def shutdown_all(seconds: float) -> None:
    """Send what is queued and stop every sender, waiting at most ``seconds`` in all."""
    import time
    deadline = time.monotonic() + seconds
    with _lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.shutdown(max(0.0, deadline - time.monotonic()))


def _at_exit() -> None:
    shutdown_all(float(os.environ.get("ORC_OTEL_EXIT_TIMEOUT") or 2.0))
