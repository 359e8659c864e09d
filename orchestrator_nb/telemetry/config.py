"""Whether and where to send traces: the standard OpenTelemetry variables first, then the settings
file's ``telemetry:`` (``spec.settings``).

- on when ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, or the
  settings give ``telemetry.endpoint``; off with ``ORC_OTEL=0``, ``OTEL_SDK_DISABLED=true``,
  ``OTEL_TRACES_EXPORTER=none`` or ``telemetry.enabled: false``;
- prompts, completions and tool arguments/results go into spans only with ``ORC_OTEL_CAPTURE_CONTENT=1``
  (or the standard ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``, or
  ``telemetry.capture_content: true``);
- only OTLP over HTTP (protobuf) is sent: ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc`` is reported, once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..envvars import env

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class TelemetryConfig:
    endpoint: str | None        # a traces URL for the exporter; None: the exporter reads OTEL_ variables
    shown: str                  # where spans go, for messages
    capture_content: bool


def _flag(name: str) -> bool | None:
    raw = env(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    return None


def resolve(settings: dict | None = None) -> TelemetryConfig | None:
    """The export configuration, or None when traces are off."""
    section = (settings or {}).get("telemetry") or {}
    if _flag("ORC_OTEL") is False or _flag("OTEL_SDK_DISABLED") is True or section.get("enabled") is False:
        return None
    if env("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = env("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if traces or base:
        endpoint, shown = None, traces or base.rstrip("/") + "/v1/traces"
    elif section.get("endpoint"):
        endpoint = shown = section["endpoint"].rstrip("/") + "/v1/traces"
    else:
        return None
    capture = _flag("ORC_OTEL_CAPTURE_CONTENT")
    if capture is None:
        capture = _flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    if capture is None:
        capture = bool(section.get("capture_content"))
    return TelemetryConfig(endpoint=endpoint, shown=shown, capture_content=capture)


def protocol_problem() -> str | None:
    proto = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
             or "").strip().lower()
    if proto and proto not in ("http/protobuf", "http"):
        return (f"OTEL_EXPORTER_OTLP_PROTOCOL={proto} is not supported: orchestrator-nb sends OTLP over HTTP "
                "(http/protobuf, usually port 4318)")
    return None
