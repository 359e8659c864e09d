"""The span builder on its own, with the SDK's in-memory exporter: tool calls (the `tool_call`
event) become `execute_tool` child spans of their attempt; content only when opted in."""
from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrator_nb.core.events import Event
from orchestrator_nb.telemetry.sender import _ids_class
from orchestrator_nb.telemetry.spans import SpanBuilder

T = 1_796_000_000.0


def _ev(kind, ts, step=None, attempt=0, **data):
    ev = Event(kind, "r1", step, -1, attempt, data)
    ev.ts = ts
    return ev


def _spans(capture: bool):
    ids = _ids_class()()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=ids)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    builder = SpanBuilder(provider.get_tracer("t"), ids, capture)
    for ev in [_ev("run_started", T, pipeline="agent"), _ev("step_started", T + 0.1, "ask", 1),
               _ev("tool_call", T + 0.5, "ask", 1, id="tc1", call_id="toolu_1", turn=1, position=0, tool="read_file",
                   arguments={"path": "notes.md"}, result="hello", error=None, duration_ms=200.0,
                   decision="approved", cached=False),
               _ev("tool_call", T + 0.7, "ask", 1, id="tc2", turn=2, tool="fetch", arguments={"url": "x"},
                   result=None, error="blocked: not allowed", duration_ms=50.0),
               _ev("step_finished", T + 1.0, "ask", 1, status="succeeded"),
               _ev("run_finished", T + 1.1, status="succeeded", cost_usd=0, tokens_in=0, tokens_out=0)]:
        builder.handle(ev)
    return {s.name: s for s in exporter.get_finished_spans()}, exporter


def test_tool_calls_are_child_spans_of_their_attempt():
    spans, _ = _spans(capture=False)
    step, read, fetch = spans["step ask"], spans["execute_tool read_file"], spans["execute_tool fetch"]
    assert read.parent.span_id == step.context.span_id == fetch.parent.span_id
    assert read.context.trace_id == spans["run agent"].context.trace_id
    assert read.attributes["gen_ai.operation.name"] == "execute_tool"
    assert read.attributes["gen_ai.tool.name"] == "read_file" and read.attributes["gen_ai.tool.call.id"] == "toolu_1"
    assert read.attributes["orc.decision"] == "approved" and read.attributes["orc.turn"] == 1
    assert (read.end_time - read.start_time) == 200_000_000 and read.end_time == int((T + 0.5) * 1e6) * 1000
    assert "gen_ai.tool.call.arguments" not in read.attributes
    assert fetch.status.status_code.name == "ERROR" and fetch.attributes["error.type"] == "tool_error"


def test_tool_arguments_and_results_only_when_opted_in():
    spans, _ = _spans(capture=True)
    read = spans["execute_tool read_file"]
    assert read.attributes["gen_ai.tool.call.arguments"] == '{"path": "notes.md"}'
    assert read.attributes["gen_ai.tool.call.result"] == "hello"
