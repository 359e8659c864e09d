"""Acceptance 1: the real `anthropic` and `openai` SDKs, driven through our providers, against the
fake vendor servers over HTTP: a plain call, a streamed call (tokens in order, before the end), a
structured call that is invalid once then valid, and usage/cost recorded — for Anthropic, OpenAI
and two OpenAI-compatible presets (groq: JSON mode + schema in the prompt; mistral: json_schema)."""
from __future__ import annotations

import json

import pytest

import orchestrator_nb as orc
from orchestrator_nb.providers.prices import cost_usd
from orchestrator_nb.testing import FakeAnthropic, FakeOpenAI

from provkit import llm_calls

VENDORS = {
    "anthropic": (FakeAnthropic, "claude-haiku-4-5"),
    "openai": (FakeOpenAI, "gpt-4.1-mini"),
    "groq": (FakeOpenAI, "llama-3.1-8b-instant"),
    "mistral": (FakeOpenAI, "mistral-small-latest"),
}

RISKS = {"type": "object", "properties": {"risks": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
         "required": ["risks"]}


class Vendor:
    def __init__(self, provider, server, model, key):
        self.provider, self.server, self.model, self.key = provider, server, model, key

    @property
    def model_id(self) -> str:
        return f"{self.provider}:{self.model}"


@pytest.fixture(params=list(VENDORS))
def vendor(request, monkeypatch):
    server_cls, model = VENDORS[request.param]
    with server_cls(key=f"sk-test-{request.param}-0a1b2c3d4e") as server:
        key = server.configure(request.param, monkeypatch=monkeypatch)
        yield Vendor(request.param, server, model, key)


def one_step(model_id, prompt="Explain tides in one line", **step):
    return {"name": "wire", "steps": [{"id": "s", "model": model_id, "prompt": prompt, **step}]}


def test_plain_call(vendor):
    vendor.server.push("Tides rise and fall twice a day.")
    result = orc.run(one_step(vendor.model_id), db=False)  # no store, no subscriber: a non-streamed call
    assert result.status == "succeeded", result.error
    assert result["s"] == "Tides rise and fall twice a day."
    [req] = vendor.server.requests
    assert req.method == "POST" and not req.stream
    assert req.api_key == vendor.key
    assert req.body["model"] == vendor.model
    assert "Explain tides in one line" in json.dumps(req.body["messages"])
    # usage from the response body: 5 words in, 7 words out (the fake counts words)
    assert (result.tokens_in, result.tokens_out) == (5, 7)
    assert result.cost == pytest.approx(cost_usd(vendor.model_id, 5, 7)) and result.cost > 0


def test_streamed_call_tokens_arrive_in_order_before_the_end(vendor, collector):
    text = "one two three four five six seven eight"
    vendor.server.push({"text": text, "chunk_delay": 0.05})
    result = orc.run(one_step(vendor.model_id), subscribers=[collector])
    assert result.status == "succeeded", result.error
    assert vendor.server.requests[0].stream
    tokens = collector.of("token")
    assert [ev.data["text"] for _, ev in tokens] == [w + " " for w in text.split()[:-1]] + ["eight"]
    assert "".join(ev.data["text"] for _, ev in tokens) == result["s"] == text
    assert all(ev.step_id == "s" for _, ev in tokens)
    [(call_at, call)] = collector.of("llm_call")
    # the pieces came one by one while the server was still sending, not all at once at the end
    first_at, last_at = tokens[0][0], tokens[-1][0]
    assert call_at - first_at >= 0.25, "the first token should arrive well before the call ends"
    assert last_at - first_at >= 0.25
    assert call.data["tokens_in"] == 5 and call.data["tokens_out"] == 8


def test_structured_call_invalid_once_then_valid(vendor, collector):
    vendor.server.push({"data": {"wrong": "shape"}}, {"data": {"risks": ["late delivery", "cost overrun"]}})
    result = orc.run(one_step(vendor.model_id, "List the risks", output={"schema": RISKS}), subscribers=[collector])
    assert result.status == "succeeded", result.error
    assert result["s"] == {"risks": ["late delivery", "cost overrun"]}
    first, second = vendor.server.requests
    body = first.body
    if vendor.provider == "anthropic":                      # a forced tool call
        assert body["tool_choice"] == {"type": "tool", "name": "answer"}
        assert body["tools"][0]["input_schema"] == RISKS
    elif vendor.provider == "groq":                         # JSON mode, the schema in the system prompt
        assert body["response_format"] == {"type": "json_object"}
        assert json.dumps(RISKS) in body["messages"][0]["content"]
    else:                                                   # native json_schema
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == RISKS
    # the re-ask carries the bad answer and the validation error
    asked = second.body["messages"]
    assert asked[-2]["role"] == "assistant" and "wrong" in asked[-2]["content"]
    assert asked[-1]["role"] == "user" and "risks" in asked[-1]["content"] and "not valid" in asked[-1]["content"]
    calls = llm_calls(result.run_id)
    assert len(calls) == 2 and all(c["error"] is None for c in calls)
    warnings = [ev.data["message"] for _, ev in collector.of("log")]
    assert any("invalid output" in m for m in warnings)


def test_usage_and_cost_recorded_per_call_step_and_run(vendor):
    vendor.server.push({"text": "alpha beta gamma", "tokens_in": 1200, "tokens_out": 300},
                       {"text": "delta", "tokens_in": 800, "tokens_out": 100})
    spec = {"name": "usage", "steps": [
        {"id": "a", "model": vendor.model_id, "prompt": "first"},
        {"id": "b", "model": vendor.model_id, "prompt": "second {{ steps.a.output }}"}]}
    result = orc.run(spec)
    assert result.status == "succeeded", result.error
    calls = llm_calls(result.run_id)
    assert [(c["step_id"], c["provider"], c["model"], c["tokens_in"], c["tokens_out"]) for c in calls] == [
        ("a", vendor.provider, vendor.model, 1200, 300), ("b", vendor.provider, vendor.model, 800, 100)]
    for c in calls:
        assert c["cost_usd"] == pytest.approx(cost_usd(vendor.model_id, c["tokens_in"], c["tokens_out"]))
        assert c["latency_ms"] > 0 and not c["cached"] and len(c["request_hash"]) == 64
    steps = {s["id"]: s for s in result.steps}
    assert (steps["a"]["tokens_in"], steps["a"]["tokens_out"]) == (1200, 300)
    assert result.tokens == 2400
    assert result.cost == pytest.approx(sum(c["cost_usd"] for c in calls))
    run = orc.sql(f"SELECT cost_usd, tokens_in, tokens_out FROM runs WHERE run_id = '{result.run_id}'")[1][0]
    assert run[0] == pytest.approx(result.cost) and run[1:] == (2000, 400)


def test_pipeline_prices_override_the_table(fake_openai):
    fake_openai.push({"text": "ok", "tokens_in": 1_000_000, "tokens_out": 1_000_000})
    spec = one_step("openai:gpt-4.1-mini")
    spec["prices"] = {"openai:gpt-4.1-mini": {"input": 1.5, "output": 2.5}}
    result = orc.run(spec)
    assert result.cost == pytest.approx(4.0)


def test_pydantic_model_path_as_output(fake_openai, tmp_path, monkeypatch):
    (tmp_path / "plan_models.py").write_text(
        "from pydantic import BaseModel\n"
        "class Plan(BaseModel):\n    title: str\n    steps: list[str]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_openai.push({"data": {"title": "Launch", "steps": "not a list"}},
                     {"data": {"title": "Launch", "steps": ["build", "ship"]}})
    result = orc.run(one_step("openai:gpt-4.1", "Plan it", output="plan_models:Plan"))
    assert result.status == "succeeded", result.error
    assert result["s"].title == "Launch" and result["s"].steps == ["build", "ship"]
    schema = fake_openai.requests[0].body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["title", "steps"]
    assert "steps" in fake_openai.requests[1].body["messages"][-1]["content"]


def test_azure_deployment_through_the_openai_sdk(monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-test-key-0123456789")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{server.port}")
        server.push("from azure")
        result = orc.run(one_step("azure:my-gpt-deployment"))
        assert result["s"] == "from azure"
        [req] = server.requests
        assert req.path.startswith("/openai/deployments/my-gpt-deployment/chat/completions?api-version=")
        assert req.headers.get("api-key") == "azure-test-key-0123456789"


def test_self_hosted_default_model_is_the_first_the_server_lists(fake_openai, monkeypatch):
    fake_openai.configure("ollama")
    fake_openai.push({"text": "local answer"})
    result = orc.run(one_step("ollama:default"))
    assert result["s"] == "local answer"
    get, post = fake_openai.requests
    assert get.method == "GET" and get.path == "/v1/models"
    assert post.body["model"] == "fake-model" and post.api_key == "not-needed"


@pytest.mark.parametrize("db", [False, None])   # without a store: not streamed; with one: streamed
def test_an_openai_refusal_is_reported_not_retried(fake_openai, db):
    fake_openai.push({"refusal": "I can't help with that."})
    result = orc.run(one_step("openai:gpt-4.1", "something refused"), db=db)
    assert result.status == "failed" and "the model refused: I can't help with that." in result.error
    assert fake_openai.count == 1


def test_tries_after_a_failed_check_use_the_checks_retry_temperature(fake_openai, tmp_path):
    """`check: {retry_temperature}`: the first try asks at the step's temperature, each try after a
    failed check at the check's (a small model at a low temperature repeats its rejected answer)."""
    fake_openai.push("short", "still short", "a long enough answer at last")
    p = orc.load({"name": "warm", "steps": [{
        "id": "s", "model": "openai:gpt-4.1-mini", "prompt": "Write a sentence.", "temperature": 0.2,
        "check": {"expr": "len(output) > 20", "max_attempts": 3, "retry_temperature": 0.9}}]})
    result = p.run(db=tmp_path / "t.duckdb")
    assert result.status == "succeeded", result.error
    assert [r.body.get("temperature") for r in fake_openai.requests] == [0.2, 0.9, 0.9]
    assert p.steps["s"].check.to_dict()["retry_temperature"] == 0.9
    with pytest.raises(orc.SpecError, match=r"check.retry_temperature: must be a number <= 2"):
        orc.load({"name": "hot", "steps": [{"id": "s", "prompt": "hi", "check": {"expr": "True",
                                                                                "retry_temperature": 5}}]})


def test_a_fresh_retry_shows_the_failure_but_not_the_rejected_answer(fake_openai, tmp_path):
    """`check: {retry_fresh: true}`: the try after a failed check is asked again with the failure,
    without the rejected answer (a small model copies what it is shown); without it, the model sees
    its answer and the failure, and revises."""
    step = {"id": "s", "model": "openai:gpt-4.1-mini", "prompt": "Write a sentence.",
            "check": {"expr": "len(output) > 20", "message": "write more than twenty characters"}}
    for fresh in (True, False):
        fake_openai.requests.clear()
        fake_openai.push("too short", "a long enough answer at last")
        result = orc.run({"name": "fresh", "steps": [dict(step, check=dict(step["check"], retry_fresh=fresh))]},
                         db=tmp_path / f"{fresh}.duckdb")
        assert result.status == "succeeded", result.error
        first, retry = (r.body["messages"] for r in fake_openai.requests)
        shown = [m for m in retry if m["role"] == "assistant"]
        assert shown == ([] if fresh else [{"role": "assistant", "content": "too short"}])
        if fresh:  # one turn: the failure, then the task (what a small model reads last)
            [turn] = retry
            assert turn["content"].startswith("Try 2. An earlier answer to this did not pass a quality check:\n"
                                              "write more than twenty characters")
            assert turn["content"].endswith("\n\nWrite a sentence.")
        else:
            assert retry[0] == first[0] and "write more than twenty characters" in retry[-1]["content"]
