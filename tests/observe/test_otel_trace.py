"""OpenTelemetry export (acceptance 1): a local OTLP/HTTP receiver decodes, with opentelemetry-proto,
what the real SDK exporter sends for a 5-step run with a retry, a fallback and an approval."""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.testing.otlp_receiver import OtlpReceiver

PIPELINE = """
name: traced
models: {chain: ["anthropic:claude-haiku-4-5", "openai:gpt-4.1-mini"]}
defaults: {max_tokens: 50}
steps:
  - id: plan                       # anthropic is overloaded: falls back to openai
    model: chain
    prompt: Plan the work
  - id: review                     # an approval (policy auto)
    approval: "Is the plan right?"
    show: "{{ steps.plan.output }}"
  - id: draft                      # a rate limit, then the same model again
    needs: [review]
    model: "anthropic:claude-sonnet-4-5"
    prompt: "Draft from {{ steps.plan.output }}"
  - id: count                      # fails once, retried
    retry: {attempts: 2, delay: 0}
    code: |
      import os
      if not os.path.exists("flag"):
          open("flag", "w").close()
          raise RuntimeError("the first try fails")
      output = len(steps["draft"])
  - id: save
    write: {path: out.txt, content: "{{ steps.draft.output }}"}
"""


@pytest.fixture
def receiver(monkeypatch):
    with OtlpReceiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url)
        yield rx
    from orchestrator_nb.telemetry.sender import shutdown_all
    shutdown_all(2.0)


def _script(fake_anthropic, fake_openai):
    fake_anthropic.push({"status": 529}, {"status": 429, "retry_after": 0.01}, "the draft text")
    fake_openai.push("the plan")


def _calls(db, run_id):
    cols, rows = orc.sql(f"SELECT * FROM llm_calls WHERE run_id = '{run_id}' ORDER BY created_at", db=db)
    return [dict(zip(cols, r)) for r in rows]


def test_a_run_is_one_trace_with_linked_spans_and_genai_attributes(fake_anthropic, fake_openai, orc_store, receiver,
                                                                    tmp_path):
    _script(fake_anthropic, fake_openai)
    result = orc.run(PIPELINE, approval="auto", db=str(orc_store.path))
    assert result.status == "succeeded", result.error
    spans = receiver.wait_for(lambda s: any(x.name == "run traced" for x in s))
    by_id = {s.span_id: s for s in spans}

    assert len({s.trace_id for s in spans}) == 1                       # one trace
    roots = [s for s in spans if s.parent_id is None]
    assert [r.name for r in roots] == ["run traced"]
    root = roots[0]
    assert root.attributes["orc.run_id"] == result.run_id and root.attributes["orc.status"] == "succeeded"

    steps = [s for s in spans if s.name.startswith("step ")]
    assert sorted((s.attributes["orc.step_id"], s.attributes["orc.attempt"]) for s in steps) == [
        ("count", 1), ("count", 2), ("draft", 1), ("plan", 1), ("review", 1), ("save", 1)]
    assert all(s.parent_id == root.span_id for s in steps)             # attempts under the run
    assert all(root.start <= s.start <= s.end <= root.end for s in steps)

    calls = _calls(str(orc_store.path), result.run_id)
    assert len(calls) == 4                                             # 529, ok; 429, ok
    chats = {s.attributes["orc.call_id"]: s for s in spans if s.name.startswith("chat ")}
    assert set(chats) == {c["call_id"] for c in calls}
    for c in calls:
        span = chats[c["call_id"]]
        parent = by_id[span.parent_id]                                 # a call under its step's attempt
        assert parent.attributes["orc.step_id"] == c["step_id"] and parent.attributes["orc.attempt"] == c["attempt"]
        assert span.attributes["gen_ai.usage.input_tokens"] == c["tokens_in"]
        assert span.attributes["gen_ai.usage.output_tokens"] == c["tokens_out"]
        assert span.attributes["gen_ai.request.model"] == c["model"]
        assert span.attributes["gen_ai.provider.name"] == c["provider"] == span.attributes["gen_ai.system"]
        assert span.attributes["gen_ai.operation.name"] == "chat" and span.kind == 3   # CLIENT
        assert span.attributes["orc.cost_usd"] == pytest.approx(c["cost_usd"])
        if c["error"]:
            assert span.status_code == 2 and span.attributes["error.type"] in ("server", "rate_limit")
        else:
            assert span.status_code == 0 and span.attributes["gen_ai.response.model"] == c["response_model"]
            assert span.attributes["gen_ai.response.finish_reasons"] == [c["finish_reason"]]
        assert "gen_ai.input.messages" not in span.attributes          # content only when opted in
    assert sum(1 for c in calls if c["retry"]) == 1 and sum(1 for c in calls if c["fallback_from"]) == 1

    def step_span(sid, attempt=1):
        return next(s for s in steps if s.attributes["orc.step_id"] == sid and s.attributes["orc.attempt"] == attempt)

    fallback = [e for e in step_span("plan").events if e["name"] == "fallback"]
    assert fallback and fallback[0]["attributes"] == {"orc.from_model": "anthropic:claude-haiku-4-5",
                                                      "orc.to_model": "openai:gpt-4.1-mini"}
    approval = [e for e in step_span("review").events if e["name"] == "approval"]
    assert approval and approval[0]["attributes"]["orc.decision"] == "approved"
    failed = step_span("count", 1)
    assert failed.status_code == 2 and "first try fails" in failed.status_message
    retry = [e for e in failed.events if e["name"] == "retry"]
    assert retry and retry[0]["attributes"]["orc.next_attempt"] == 2
    assert step_span("count", 2).status_code == 0
    assert root.resource["service.name"] == "orchestrator-nb"

    # the same run sent again from the store: the same trace, spans, parents and token counts
    from orchestrator_nb.cli.main import main
    with OtlpReceiver() as again:
        assert main(["export", "otlp", result.run_id[:8], "--endpoint", again.url]) == 0
        exported = again.wait_for(lambda s: len(s) >= len(spans))
    shape = {(s.trace_id, s.span_id, s.parent_id, s.name) for s in spans}
    assert {(s.trace_id, s.span_id, s.parent_id, s.name) for s in exported} == shape
    tokens = {s.attributes.get("orc.call_id"): (s.attributes.get("gen_ai.usage.input_tokens"),
                                               s.attributes.get("gen_ai.usage.output_tokens")) for s in spans}
    assert {s.attributes.get("orc.call_id"): (s.attributes.get("gen_ai.usage.input_tokens"),
                                             s.attributes.get("gen_ai.usage.output_tokens")) for s in exported} == tokens


def test_prompts_and_completions_only_when_opted_in(fake_anthropic, orc_store, receiver, monkeypatch):
    monkeypatch.setenv("ORC_OTEL_CAPTURE_CONTENT", "1")
    key = os.environ["ANTHROPIC_API_KEY"]
    fake_anthropic.push("a haiku about tides")
    text = ('name: content\nsteps:\n  - id: a\n    model: "anthropic:claude-haiku-4-5"\n'
            f'    system: Be brief.\n    prompt: "Write about tides (not {key})"\n')
    result = orc.run(text, db=str(orc_store.path))
    assert result.status == "succeeded"
    spans = receiver.wait_for(lambda s: any(x.name.startswith("chat ") for x in s))
    chat = next(s for s in spans if s.name.startswith("chat "))
    sent = json.loads(chat.attributes["gen_ai.input.messages"])
    assert sent[0]["role"] == "user" and "Write about tides" in sent[0]["parts"][0]["content"]
    assert key not in chat.attributes["gen_ai.input.messages"]         # known secrets masked
    assert json.loads(chat.attributes["gen_ai.system_instructions"])[0]["content"] == "Be brief."
    out = json.loads(chat.attributes["gen_ai.output.messages"])
    assert out[0]["parts"][0]["content"] == "a haiku about tides" and out[0]["finish_reason"] == "end_turn"


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


LONG = "name: timed\ndefaults: {model: \"anthropic:claude-haiku-4-5\", max_tokens: 20}\nsteps:\n" + "".join(
    f"  - id: s{i}\n    prompt: \"step {i} {{{{ steps.s{i - 1}.output if {i} > 0 else '' }}}}\"\n"
    if i else "  - id: s0\n    prompt: step zero\n" for i in range(12))


@pytest.mark.slow
def test_a_collector_that_is_down_changes_the_run_time_by_less_than_5_percent(fake_anthropic, orc_store,
                                                                               monkeypatch, capsys):
    def one(traced: bool) -> float:
        if traced:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        else:
            monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        for _ in range(12):
            fake_anthropic.push({"text": "fine", "delay": 0.1})   # a model answers in 100 ms (real ones: seconds)
        t0 = time.perf_counter()
        r = orc.run(LONG, db=str(orc_store.path), use_cache=False)
        took = time.perf_counter() - t0
        assert r.status == "succeeded"
        return took

    port = _closed_port()
    one(True), one(False)                                              # warm up: imports, SDK clients
    ratios, timings = [], {True: [], False: []}
    for i in range(10):  # pairs in alternating order, so neither side always runs first
        first = bool(i % 2)
        a = one(first)
        b = one(not first)
        off, down = (b, a) if first else (a, b)
        timings[False].append(off)
        timings[True].append(down)
        ratios.append(down / off)
    change = statistics.median(ratios) - 1
    with capsys.disabled():  # the measurement, shown with -s
        print(f"run time, median of 10 pairs: {statistics.median(timings[False]) * 1000:.0f} ms without traces, "
              f"{statistics.median(timings[True]) * 1000:.0f} ms with the collector down; median change {change:+.1%}")
    assert abs(change) < 0.05
    err = capsys.readouterr().err
    assert err.count("could not send traces") <= 1                     # reported once, never raised
    from orchestrator_nb.telemetry.sender import shutdown_all
    shutdown_all(2.0)


EXIT_SCRIPT = """
import sys, time
import orchestrator_nb as orc
result = orc.run(sys.argv[1])
print(result.status, time.time(), flush=True)
"""


@pytest.mark.slow
def test_exit_is_bounded_when_the_collector_hangs(fake_anthropic, tmp_path):
    """A collector that accepts connections but never answers: a process whose run is over exits
    within ORC_OTEL_EXIT_TIMEOUT (measured from the run's end, so imports on a busy machine don't count)."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)                                                   # never accepted, never answered
    path = tmp_path / "one.yaml"
    path.write_text('name: one\nsteps:\n  - id: a\n    model: "anthropic:claude-haiku-4-5"\n    prompt: hi\n')
    traced = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hung.getsockname()[1]}",
                  ORC_OTEL_EXIT_TIMEOUT="1.5", OTEL_BSP_SCHEDULE_DELAY="60000")   # spans still queued at exit
    plain = {k: v for k, v in traced.items() if not k.startswith("OTEL_")}

    def exit_delay(env) -> float:
        """Seconds from the run's end to the process's exit (imports on a busy machine don't count)."""
        done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(path)], env=env, capture_output=True,
                              text=True, timeout=120)
        exited = time.time()
        assert done.returncode == 0, done.stderr
        status, ended = done.stdout.split()
        assert status == "succeeded"
        return exited - float(ended)

    try:
        with_traces, without = exit_delay(traced), exit_delay(plain)
    finally:
        hung.close()
    print(f"exit {with_traces:.2f} s after the run's end with a hung collector, {without:.2f} s without traces")
    assert with_traces - without < 1.5 + 1.0


def test_tool_calls_are_execute_tool_spans_under_their_attempt(fake_openai, orc_store, receiver, tmp_path):
    (tmp_path / "notes.md").write_text("Neap tides are the smallest.\n")
    fake_openai.push({"tool_calls": [{"name": "read_file", "arguments": {"path": "notes.md"}},
                                     {"name": "list_files", "arguments": {}}]},
                     "Neap tides are the smallest ones.")
    pipeline = {"name": "reader", "steps": [{"id": "ask", "model": "openai:gpt-4.1", "max_tokens": 50,
                                             "tools": ["read_file", "list_files"],
                                             "prompt": "What does notes.md say about neap tides?"}]}
    result = orc.run(pipeline, db=str(orc_store.path))
    assert result.status == "succeeded", result.error
    spans = receiver.wait_for(lambda s: any(x.name == "run reader" for x in s))
    step = next(s for s in spans if s.name == "step ask")
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    cols, rows = orc.sql(f"SELECT * FROM tool_calls WHERE run_id = '{result.run_id}' ORDER BY turn, position",
                         db=str(orc_store.path))
    stored = [dict(zip(cols, r)) for r in rows]
    assert sorted(s.name for s in tools) == sorted(f"execute_tool {r['tool']}" for r in stored) and len(stored) == 2
    for span in tools:
        assert span.parent_id == step.span_id and span.trace_id == step.trace_id
        row = next(r for r in stored if r["tool"] == span.attributes["gen_ai.tool.name"])
        assert span.attributes["gen_ai.operation.name"] == "execute_tool"
        assert span.attributes["gen_ai.tool.call.id"] == row["call_id"]
        assert (span.end - span.start) / 1e6 == pytest.approx(row["duration_ms"], abs=0.01)
        assert "gen_ai.tool.call.arguments" not in span.attributes
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == 2 and all(c.parent_id == step.span_id for c in chats)   # two turns of the loop
    from orchestrator_nb.cli.main import main
    with OtlpReceiver() as again:
        assert main(["export", "otlp", result.run_id, "--endpoint", again.url]) == 0
        exported = again.wait_for(lambda s: len(s) >= len(spans))
    assert {(s.span_id, s.parent_id, s.name) for s in exported} == {(s.span_id, s.parent_id, s.name) for s in spans}


@pytest.mark.parametrize("bad", ["collector", "ftp://host", "http://", "http://[::1", "http://host:99999"])
def test_export_refuses_an_endpoint_that_is_not_an_http_url(bad, tmp_path, capsys):
    """`--endpoint notaurl` used to try to send every span to 'notaurl/v1/traces'."""
    from orchestrator_nb.cli.main import main
    db = str(tmp_path / "orc.duckdb")
    assert orc.Pipeline("p", [orc.step("s", python=lambda: 1)]).run(db=db).status == "succeeded"
    assert main(["export", "otlp", "--since", "2020-01-01", "--db", db, "--endpoint", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orc: error: endpoint ") and "is not an http(s) URL with a host" in err and "\n" not in err
