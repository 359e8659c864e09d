"""A local OTLP/HTTP trace receiver on 127.0.0.1 for tests: it decodes what exporters send with
``opentelemetry-proto`` (the protobuf an OpenTelemetry collector reads) and keeps the spans.

    with OtlpReceiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url)
        ... run something ...
        spans = rx.wait_for(lambda spans: any(s.name.startswith("run ") for s in spans))

Each span is a ``ReceivedSpan`` with hex ids, name, kind, times (ns), attributes and events as
plain Python values, and the status (``code``: 0 unset, 1 ok, 2 error).
"""
from __future__ import annotations

import gzip
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ReceivedSpan:
    __slots__ = ("trace_id", "span_id", "parent_id", "name", "kind", "start", "end", "attributes", "events",
                 "status_code", "status_message", "resource", "scope")

    def __repr__(self) -> str:
        return f"<span {self.name} {self.span_id} parent={self.parent_id or '-'}>"


def _value(v):
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return bytes(v.bytes_value)
    return getattr(v, which) if which else None


def _attrs(kvs) -> dict:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode(body: bytes) -> list[ReceivedSpan]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    req = ExportTraceServiceRequest()
    req.ParseFromString(body)
    out = []
    for rs in req.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                span = ReceivedSpan()
                span.trace_id, span.span_id = s.trace_id.hex(), s.span_id.hex()
                span.parent_id = s.parent_span_id.hex() or None
                span.name, span.kind = s.name, s.kind
                span.start, span.end = s.start_time_unix_nano, s.end_time_unix_nano
                span.attributes = _attrs(s.attributes)
                span.events = [{"name": e.name, "time": e.time_unix_nano, "attributes": _attrs(e.attributes)}
                               for e in s.events]
                span.status_code, span.status_message = s.status.code, s.status.message
                span.resource, span.scope = resource, ss.scope.name
                out.append(span)
    return out


class OtlpReceiver:
    """``url`` is the base to give as ``OTEL_EXPORTER_OTLP_ENDPOINT`` (exporters add /v1/traces)."""

    def __init__(self):
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = None

    def start(self) -> "OtlpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                encoding = (self.headers.get("content-encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                spans = decode(body)
                with receiver._lock:
                    receiver.spans.extend(spans)
                    receiver.requests += 1
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="otlp-receiver").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def wait_for(self, condition, timeout: float = 15.0) -> list[ReceivedSpan]:
        """The spans received once ``condition(spans)`` holds (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if condition(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver did not get the expected spans within {timeout} s "
                                     f"({len(spans)} received)")
            time.sleep(0.05)
