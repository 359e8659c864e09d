"""Acceptance 2: fallback chains, retry-after, no retry of 400-class errors, and 200 calls under
30 % injected faults — every attempt in llm_calls with its reason, no call counted twice."""
from __future__ import annotations

import pytest

import orchestrator_nb as orc

from provkit import llm_calls

CHAIN = {"smart": ["openai:a", "anthropic:b"]}


def reason(call) -> str | None:
    return call["error"].split(":", 1)[0] if call["error"] else None


def chain_step(prompt="Plan the launch", **extra):
    return {"name": "chain", "models": CHAIN, **extra, "steps": [{"id": "s", "model": "smart", "prompt": prompt}]}


def test_429_three_times_then_500_falls_back_to_the_second_model(fake_openai, fake_anthropic):
    fake_openai.push(*[{"status": 429, "retry_after": 0.3}] * 3, {"status": 500})
    fake_anthropic.push("the plan, from claude")
    result = orc.run(chain_step())
    assert result.status == "succeeded", result.error
    assert result["s"] == "the plan, from claude"
    assert (fake_openai.count, fake_anthropic.count) == (4, 1)
    calls = llm_calls(result.run_id)
    assert [(c["provider"], c["model"], reason(c)) for c in calls] == [
        ("openai", "a", "rate_limit"), ("openai", "a", "rate_limit"), ("openai", "a", "rate_limit"),
        ("openai", "a", "server"), ("anthropic", "b", None)]
    assert "HTTP 429" in calls[0]["error"] and "HTTP 500" in calls[3]["error"]
    # retry-after was honoured between the rate-limited tries
    at = [r.at for r in fake_openai.requests]
    assert all(b - a >= 0.3 for a, b in zip(at, at[1:]))
    [step] = result.steps
    assert step["model"] == "anthropic:b" and step["attempts"] == 1
    messages = [m for (m,) in orc.sql(f"SELECT message FROM events WHERE run_id = '{result.run_id}'")[1]]
    assert any("falling back from openai:a to anthropic:b (server)" in m for m in messages)


@pytest.mark.parametrize("status, word", [(400, "bad_request"), (404, "bad_request"), (422, "bad_request"),
                                          (401, "auth"), (403, "auth")])
def test_400_class_errors_are_never_retried_nor_fall_back(fake_openai, fake_anthropic, status, word):
    fake_openai.fail(status, message="model a does not accept this")
    result = orc.run(chain_step(defaults={"retry": {"attempts": 3, "backoff": "none"}}))
    assert result.status == "failed"
    assert (fake_openai.count, fake_anthropic.count) == (1, 0)
    [call] = llm_calls(result.run_id)
    assert reason(call) == word and f"HTTP {status}" in call["error"]
    assert f"step 's'" in result.error and f"HTTP {status}" in result.error


def test_context_overflow_falls_back(fake_openai, fake_anthropic):
    fake_openai.fail(400, message="This model's maximum context length is 8192 tokens")
    fake_anthropic.push("shorter context handled")
    result = orc.run(chain_step())
    assert result["s"] == "shorter context handled"
    assert [reason(c) for c in llm_calls(result.run_id)] == ["context_overflow", None]


def test_missing_key_falls_back_without_a_request(fake_openai, fake_anthropic, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    fake_anthropic.push("answered by the fallback")
    result = orc.run(chain_step())
    assert result["s"] == "answered by the fallback"
    assert fake_openai.count == 0
    first, second = llm_calls(result.run_id)
    assert reason(first) == "missing_key" and "OPENAI_API_KEY" in first["error"] and reason(second) is None


def test_every_model_failing_names_each_reason(fake_openai, fake_anthropic):
    fake_openai.fail(503)
    fake_anthropic.fail(529, times=3)
    result = orc.run(chain_step(prompt="x"))
    assert result.status == "failed"
    assert "every model failed (openai:a: server, anthropic:b: server)" in result.error
    # the last model of a chain gets its server-error retries (1 + 2), the first falls back at once
    assert (fake_openai.count, fake_anthropic.count) == (1, 3)


def test_last_model_retries_server_errors_then_succeeds(fake_openai):
    fake_openai.push({"status": 502, "retry_after": 0}, {"drop": True}, "third time lucky")
    result = orc.run({"name": "one", "steps": [{"id": "s", "model": "openai:a", "prompt": "hi"}]})
    assert result["s"] == "third time lucky"
    assert [reason(c) for c in llm_calls(result.run_id)] == ["server", "connection", None]


def test_long_retry_after_gives_up_on_the_model(fake_openai, fake_anthropic):
    fake_openai.fail(429, retry_after=3600)
    fake_anthropic.push("no waiting an hour")
    result = orc.run(chain_step())
    assert result["s"] == "no waiting an hour" and fake_openai.count == 1


def test_a_hanging_model_gets_its_share_of_the_step_timeout_then_falls_back(fake_openai, fake_anthropic):
    fake_openai.push({"delay": 3, "text": "too late"})
    fake_anthropic.push("in time")
    spec = chain_step()
    spec["steps"][0]["timeout"] = 1
    result = orc.run(spec)
    assert result["s"] == "in time"
    first, second = llm_calls(result.run_id)
    # two models share the step's 1 s: the first is cut off after its half
    assert reason(first) == "timeout" and 450 <= first["latency_ms"] < 1100
    assert reason(second) is None


FAULTS = [{"status": 429, "retry_after": 0.01}, {"status": 500}, {"status": 503, "retry_after": 0.01},
          {"malformed": True}, {"drop": True}]


def test_200_calls_under_30_percent_faults_all_complete(fake_openai, fake_anthropic):
    fake_openai.random_faults(0.3, seed=1, faults=FAULTS)
    fake_anthropic.random_faults(0.3, seed=2, faults=FAULTS)
    spec = {"name": "load", "models": CHAIN, "defaults": {"retry": {"attempts": 3, "backoff": "none"}},
            "steps": [{"id": "items", "code": "output = list(range(200))"},
                      {"id": "ask", "model": "smart", "for_each": "{{ steps.items.output }}",
                       "prompt": "Answer item {{ item }}"}]}
    result = orc.run(spec)
    assert result.status == "succeeded", result.error
    outputs = result["ask"]
    assert len(outputs) == 200 and all(out.endswith(f"item {i}") for i, out in enumerate(outputs))

    served = fake_openai.answers(), fake_anthropic.answers()
    faults_served = sum(n for answers in served for kind, n in answers.items() if kind != "ok")
    assert faults_served >= 60, served  # the servers really did misbehave

    calls = llm_calls(result.run_id)
    # every HTTP request is one llm_calls row, and no row is extra
    assert len(calls) == fake_openai.count + fake_anthropic.count
    assert len({c["call_id"] for c in calls}) == len(calls)
    ok = [c for c in calls if c["error"] is None]
    failed = [c for c in calls if c["error"] is not None]
    # exactly one successful call per item: nothing counted twice
    assert sorted(c["item_index"] for c in ok) == list(range(200))
    # every fault is a failed row; so is an answer the client gave up on (a busy machine can make a
    # request time out after the server sent its answer): it is retried like any failure
    ok_served = sum(fake.answers().get("ok", 0) for fake in (fake_openai, fake_anthropic))
    assert len(failed) == faults_served + (ok_served - 200), [c["error"] for c in failed]
    assert {reason(c) for c in failed} <= {"rate_limit", "server", "connection", "timeout"}
    assert all(c["tokens_in"] == 0 and c["tokens_out"] == 0 and c["cost_usd"] == 0 for c in failed)
    # run totals are the sum of the successful calls, once each
    assert result.tokens_in == sum(c["tokens_in"] for c in ok)
    assert result.tokens_out == sum(c["tokens_out"] for c in ok)
    assert 200 <= ok_served <= 203, served   # at most a few answers arrived after their client gave up


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_an_error_event_in_the_middle_of_a_stream_is_a_server_error(fake_openai, fake_anthropic, vendor, collector):
    server = fake_openai if vendor == "openai" else fake_anthropic
    server.push({"text": "half an answer then trouble", "stream_error": "overloaded_error", "after": 2},
                "a whole answer")
    model = "openai:a" if vendor == "openai" else "anthropic:b"
    result = orc.run({"name": "mid", "steps": [{"id": "s", "model": model, "prompt": "hi"}]},
                     subscribers=[collector])
    assert result["s"] == "a whole answer"
    first, second = llm_calls(result.run_id)
    assert reason(first) == "server" and "overloaded_error" in first["error"] and reason(second) is None
    assert server.answers() == {"stream_error": 1, "ok": 1}
