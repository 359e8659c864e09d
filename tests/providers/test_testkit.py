"""The test kit our users get: fake vendor servers usable as pytest fixtures, and the SDK error
classification they exercise."""
from __future__ import annotations

import email.utils
import subprocess
import sys
import time

import pytest

from orchestrator_nb.providers.sdk_errors import classify

USER_TEST = '''
import orchestrator_nb as orc


def test_my_pipeline_summary(fake_openai, orc_store):
    fake_openai.push({"status": 429, "retry_after": 0.01}, "A short summary.")
    result = orc.run({"name": "mine", "steps": [
        {"id": "s", "model": "openai:gpt-4.1-mini", "prompt": "Summarize the report"}]})
    assert result["s"] == "A short summary."
    assert fake_openai.count == 2 and fake_openai.answers() == {"status 429": 1, "ok": 1}
    assert "Summarize the report" in str(fake_openai.requests[-1].body["messages"])


def test_my_structured_step(fake_anthropic, orc_store):
    fake_anthropic.push({"data": {"score": 7}})
    result = orc.run({"name": "mine", "steps": [
        {"id": "s", "model": "anthropic:claude-haiku-4-5", "prompt": "Score it",
         "output": {"schema": {"type": "object", "properties": {"score": {"type": "integer"}}}}}]})
    assert result["s"] == {"score": 7}


def test_a_preset_on_the_same_fake(fake_openai, orc_store):
    fake_openai.configure("together")
    result = orc.run({"name": "mine", "steps": [
        {"id": "s", "model": "together:meta-llama/Llama-3.3-70B-Instruct-Turbo", "prompt": "hello"}]})
    assert result.status == "succeeded" and fake_openai.requests[0].api_key.startswith("sk-fake-together")
'''


@pytest.mark.slow   # a whole pytest process with every installed plugin
def test_users_get_the_fixtures_through_the_pytest_plugin(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


def test_a_server_counts_requests_and_restores_the_environment(monkeypatch):
    import os

    from orchestrator_nb.testing import FakeOpenAI
    monkeypatch.delenv("ORC_GROQ_BASE_URL", raising=False)
    with FakeOpenAI() as server:
        key = server.configure("groq")
        assert os.environ["ORC_GROQ_BASE_URL"] == server.url and os.environ["GROQ_API_KEY"] == key
        assert server.count == 0
    assert "ORC_GROQ_BASE_URL" not in os.environ and "GROQ_API_KEY" not in os.environ


def _status_error(sdk, status: int, headers: dict, body: dict):
    """A real SDK exception built from a real (httpx2) response."""
    import httpx2
    request = httpx2.Request("POST", "http://127.0.0.1/v1/x")
    response = httpx2.Response(status, headers=headers, json=body, request=request)
    client = sdk.AsyncOpenAI(api_key="k") if sdk.__name__ == "openai" else sdk.AsyncAnthropic(api_key="k")
    return client._make_status_error("error", body=body, response=response)  # the SDK's own status -> class


@pytest.mark.parametrize("sdk_name", ["openai", "anthropic"])
def test_retry_after_in_seconds_milliseconds_or_as_a_date(sdk_name):
    sdk = __import__(sdk_name)
    body = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    e = classify(_status_error(sdk, 429, {"retry-after": "7"}, body), sdk_name)
    assert (e.reason, e.retry_after, e.retryable, e.status) == ("rate_limit", 7.0, True, 429)
    e = classify(_status_error(sdk, 429, {"retry-after-ms": "250", "retry-after": "9"}, body), sdk_name)
    assert e.retry_after == 0.25
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    e = classify(_status_error(sdk, 429, {"retry-after": when}, body), sdk_name)
    assert 25 <= e.retry_after <= 31
    e = classify(_status_error(sdk, 429, {}, body), sdk_name)
    assert e.retry_after is None and "slow down" in str(e)


@pytest.mark.parametrize("status, reason, retryable", [
    (400, "bad_request", False), (401, "auth", False), (403, "auth", False), (404, "bad_request", False),
    (408, "timeout", True), (413, "context_overflow", False), (422, "bad_request", False),
    (429, "rate_limit", True), (500, "server", True), (503, "server", True), (529, "server", True)])
def test_http_statuses_map_to_reasons(status, reason, retryable):
    import openai
    e = classify(_status_error(openai, status, {}, {"error": {"message": "nope"}}), "openai")
    assert (e.reason, e.retryable, e.status) == (reason, retryable, status)
    assert str(e).startswith("openai: ") and f"HTTP {status}: nope" in str(e)


def test_a_context_length_message_on_a_400_is_a_context_overflow():
    import anthropic
    body = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "prompt is too long: 210000 tokens > 200000 maximum"}}
    e = classify(_status_error(anthropic, 400, {}, body), "anthropic")
    assert e.reason == "context_overflow" and e.falls_back and not e.retryable
