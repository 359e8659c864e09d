"""Run events -> OpenTelemetry spans. The same builder serves live runs (a bus subscriber) and
stored runs (``api.export`` replays their rows as events), so both give the same trace.

Shape: a run is a trace (a sub-pipeline's run is a span of its parent's trace); the run is the root
span; each step attempt a child span (a for_each item's attempt is a child of its step's span);
each model call (``chat <model>``) and tool call (``execute_tool <tool>``) a child of its attempt,
with the GenAI semantic-convention attributes. Approvals, retries, fallbacks, failed checks,
warnings and artifacts are span events; failures set the span status to ERROR.

Ids are derived from the records (run id, step, item, attempt and start time, call id), so a run
exported again from the store has the same trace and span ids as when it was sent live. Times
are the events' own: a span opens and closes when the step did, not when it was exported.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from . import semconv

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

def ns(seconds: float) -> int:
    return int(round(seconds * 1e6)) * 1000   # to the microsecond, as the store keeps times


def micros(seconds: float) -> int:
    """Epoch seconds -> microseconds, rounded as the store rounds a run's start (datetime's way)."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _id(bits: int, *parts) -> int:
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=bits // 8).digest()
    return int.from_bytes(digest, "big") or 1


def trace_id_of(root_run_id: str) -> int:
    return _id(128, "trace", root_run_id)


class _Run:
    __slots__ = ("span", "trace", "ctx", "us")

    def __init__(self, span, trace, ctx, us):
        self.span, self.trace, self.ctx, self.us = span, trace, ctx, us


class SpanBuilder:
    """Feed it events (``handle``) in order; spans end with explicit times, so a span may be ended a
    little after its event arrives (an attempt waits for its retry or check event first)."""

    def __init__(self, tracer, ids, capture_content: bool = False):
        from opentelemetry import trace
        from opentelemetry.context import Context
        from opentelemetry.trace import Status, StatusCode
        self._trace, self._Status, self._Code = trace, Status, StatusCode
        self._root = Context()  # a run's span starts a trace, whatever span the caller has open
        self.tracer, self.ids, self.capture = tracer, ids, capture_content
        self.runs: dict[str, _Run] = {}
        self.open: dict[tuple, object] = {}        # (run, step, item, attempt) -> span still running
        self.ended: dict[tuple, tuple] = {}        # (run, step, item) -> (span, end ns, attempt): to close
        self.spans = 0

    # the entry point -------------------------------------------------------------------------
    def handle(self, ev) -> None:
        kind = ev.kind
        if kind == "token":
            return
        method = getattr(self, "_" + kind, None)
        if method is not None:
            method(ev, ev.data)

    def close(self) -> None:
        """End whatever is still open (the process ends before the run does)."""
        for key in list(self.ended):
            self._close(key)
        for key, span in list(self.open.items()):
            span.end()
            self.open.pop(key, None)
        for run in list(self.runs.values()):
            run.span.end()
        self.runs.clear()

    # spans -----------------------------------------------------------------------------------
    def _start(self, name, parent_ctx, trace_id, span_id, start, kind=None, attributes=None):
        self.ids.next(trace_id, span_id)
        self.spans += 1
        kwargs = {"context": parent_ctx if parent_ctx is not None else self._root, "start_time": start,
                  "attributes": attributes or {}}
        if kind is not None:
            kwargs["kind"] = kind
        return self.tracer.start_span(name, **kwargs)

    def _error(self, span, message) -> None:
        span.set_status(self._Status(self._Code.ERROR, str(message or "failed")[:500]))

    def _parent_of_step(self, ev):
        run = self.runs.get(ev.run_id)
        if run is None:
            return None
        if ev.item >= 0:  # an item of a for_each step: inside the step's own span
            for (r, s, i, _a), span in self.open.items():
                if r == ev.run_id and s == ev.step_id and i == -1:
                    return self._trace.set_span_in_context(span)
        return run.ctx

    def _attempt_span(self, ev):
        """The span of the event's attempt: running, or just ended."""
        span = self.open.get((ev.run_id, ev.step_id, ev.item, ev.attempt))
        if span is not None:
            return span
        done = self.ended.get((ev.run_id, ev.step_id, ev.item))
        if done is not None and done[2] == ev.attempt:
            return done[0]
        if ev.item >= 0:
            return self.open.get((ev.run_id, ev.step_id, -1, ev.attempt))
        return None

    def _close(self, key) -> None:
        done = self.ended.pop(key, None)
        if done is not None:
            done[0].end(end_time=done[1])

    # run events --------------------------------------------------------------------------------
    def _run_started(self, ev, d) -> None:
        parent = self.runs.get(d.get("parent_run_id") or "")
        trace_id = parent.trace if parent is not None else (d.get("trace_id") or trace_id_of(ev.run_id))
        # the start in microseconds, as the store keeps it, names this run's spans (stored runs exported
        # later get the same ids; a resumed run's new session gets its own)
        us = d.get("started_us") or micros(ev.ts)
        start = us * 1000
        attrs = {"orc.run_id": ev.run_id, "orc.pipeline": d.get("pipeline") or "", "orc.source": d.get("source") or ""}
        if d.get("resumed"):
            attrs["orc.resumed"] = True
        if d.get("parent_run_id"):
            attrs["orc.parent_run_id"] = d["parent_run_id"]
        span = self._start(f"run {d.get('pipeline') or ev.run_id}", parent.ctx if parent else None, trace_id,
                           _id(64, "run", ev.run_id, us), start, attributes=attrs)
        self.runs[ev.run_id] = _Run(span, trace_id, self._trace.set_span_in_context(span), us)

    def _run_finished(self, ev, d) -> None:
        end = ns(ev.ts)
        for key in [k for k in self.ended if k[0] == ev.run_id]:
            self._close(key)
        for key in [k for k in self.open if k[0] == ev.run_id]:
            span = self.open.pop(key)
            span.set_attribute("orc.status", "unfinished")
            span.end(end_time=end)
        run = self.runs.pop(ev.run_id, None)
        if run is None:
            return
        status = d.get("status") or ""
        span = run.span
        span.set_attributes({"orc.status": status, "orc.cost_usd": float(d.get("cost_usd") or 0.0),
                             "gen_ai.usage.input_tokens": int(d.get("tokens_in") or 0),
                             "gen_ai.usage.output_tokens": int(d.get("tokens_out") or 0)})
        if status in ("failed", "budget_exceeded"):
            self._error(span, d.get("error") or status)
        span.end(end_time=end)

    # steps ---------------------------------------------------------------------------------------
    def _step_started(self, ev, d) -> None:
        run = self.runs.get(ev.run_id)
        if run is None:
            return
        self._close((ev.run_id, ev.step_id, ev.item))  # the previous attempt of this step (or item)
        start = ns(ev.ts)
        name = f"step {ev.step_id}" + (f"[{ev.item}]" if ev.item >= 0 else "")
        attrs = {"orc.step_id": ev.step_id, "orc.item_index": ev.item, "orc.attempt": ev.attempt}
        if d.get("model"):
            attrs["orc.model"] = d["model"]
        span = self._start(name, self._parent_of_step(ev), run.trace,
                           _id(64, "step", ev.run_id, ev.step_id, ev.item, ev.attempt, run.us), start,
                           attributes=attrs)
        self.open[(ev.run_id, ev.step_id, ev.item, ev.attempt)] = span

    def _step_finished(self, ev, d) -> None:
        key = (ev.run_id, ev.step_id, ev.item, ev.attempt)
        span = self.open.pop(key, None)
        if span is None:
            if ev.run_id not in self.runs:
                return
            # a step settled without running (skipped, or stopped before it started): a point span
            self._step_started(ev, {})
            span = self.open.pop(key)
        status = d.get("status") or ""
        span.set_attribute("orc.status", status)
        if d.get("model"):
            span.set_attribute("orc.model", d["model"])
        if d.get("cached"):
            span.set_attribute("orc.cached", True)
        if status == "failed":
            self._error(span, d.get("error"))
        elif d.get("error") and status != "succeeded":
            span.set_attribute("orc.reason", str(d["error"])[:500])
        self._close((ev.run_id, ev.step_id, ev.item))
        self.ended[(ev.run_id, ev.step_id, ev.item)] = (span, ns(ev.ts), ev.attempt)

    def _step_retry(self, ev, d) -> None:
        done = self.ended.get((ev.run_id, ev.step_id, ev.item))
        target = done[0] if done is not None else self._run_span(ev)
        if target is not None:
            target.add_event("retry", {"orc.next_attempt": ev.attempt, "orc.delay_s": float(d.get("delay") or 0.0),
                                       "error.message": str(d.get("error") or "")[:500]},
                             timestamp=ns(ev.ts))
        self._close((ev.run_id, ev.step_id, ev.item))

    def _check_failed(self, ev, d) -> None:
        self._event(ev, "check_failed", {"orc.message": str(d.get("message") or "")[:500]})

    def _step_waiting(self, ev, d) -> None:
        self._event(ev, "approval_requested", {"orc.question": str(d.get("question") or "")[:500],
                                               "orc.round": int(d.get("round") or 0)})

    def _approval(self, ev, d) -> None:
        attrs = {"orc.decision": d.get("decision") or "", "orc.mode": d.get("mode") or "",
                 "orc.round": int(d.get("round") or 0)}
        if d.get("decided_by"):
            attrs["orc.decided_by"] = str(d["decided_by"])
        if d.get("comment"):
            attrs["orc.comment"] = str(d["comment"])[:500]
        self._event(ev, "approval", attrs)

    def _log(self, ev, d) -> None:
        if d.get("level") in ("warning", "error"):
            self._event(ev, "log", {"log.severity": d["level"], "log.message": str(d.get("message") or "")[:500]})

    def _artifact(self, ev, d) -> None:
        self._event(ev, "artifact", {"orc.path": str(d.get("rel_path") or d.get("path") or ""),
                                     "orc.bytes": int(d.get("bytes") or 0)})

    def _run_span(self, ev):
        run = self.runs.get(ev.run_id)
        return run.span if run is not None else None

    def _event(self, ev, name, attrs) -> None:
        span = self._attempt_span(ev) if ev.step_id else None
        span = span or self._run_span(ev)
        if span is not None:
            span.add_event(name, attrs, timestamp=ns(ev.ts))

    # calls ---------------------------------------------------------------------------------------
    def _child_parent(self, ev):
        span = self._attempt_span(ev) or self._run_span(ev)
        return (self._trace.set_span_in_context(span) if span is not None else None), span

    def _llm_call(self, ev, d) -> None:
        run = self.runs.get(ev.run_id)
        if run is None:
            return
        parent_ctx, parent = self._child_parent(ev)
        end = ns(ev.ts)
        start = end - int(float(d.get("latency_ms") or 0.0) * 1e6)
        provider, model = d.get("provider") or "", d.get("model") or ""
        attrs = semconv.llm_attributes(d)
        if self.capture:
            attrs.update(semconv.llm_content(d))
        span = self._start(f"chat {model}", parent_ctx, run.trace, _id(64, "llm", d.get("call_id") or (ev.ts, model)),
                           start, kind=self._trace.SpanKind.CLIENT, attributes=attrs)
        if d.get("error"):
            self._error(span, d["error"])
        span.end(end_time=end)
        if d.get("fallback_from") and parent is not None:
            parent.add_event("fallback", {"orc.from_model": d["fallback_from"], "orc.to_model": f"{provider}:{model}"},
                             timestamp=start)

    def _tool_call(self, ev, d) -> None:
        run = self.runs.get(ev.run_id)
        if run is None:
            return
        parent_ctx, _ = self._child_parent(ev)
        when = d.get("created_at")
        end = ns(when if isinstance(when, (int, float)) else ev.ts)
        start = end - int(float(d.get("duration_ms") or 0.0) * 1e6)
        tool = str(d.get("tool") or "tool")
        attrs = semconv.tool_attributes(d)
        if self.capture:
            attrs.update(semconv.tool_content(d))
        key = d.get("id") or (ev.run_id, ev.step_id, ev.item, ev.attempt, d.get("turn"), d.get("position"), tool)
        span = self._start(f"execute_tool {tool}", parent_ctx, run.trace, _id(64, "tool", key), start,
                           attributes=attrs)
        if d.get("error"):
            self._error(span, d["error"])
        span.end(end_time=end)
