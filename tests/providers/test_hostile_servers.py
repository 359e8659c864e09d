"""A hostile or broken server behind a model: each misbehaviour ends the call in bounded time and
memory with one line naming the provider and its endpoint, falls back like a server error when it
should, and nothing it sent is cached or stored with a key in it. Real SDKs over real HTTP."""
from __future__ import annotations

import threading
import time

import pytest

import orchestrator_nb as orc

from hostile_server import Hostile
from provkit import llm_calls

FALLBACK = {"openai": "anthropic:b", "anthropic": "openai:a"}
INTERNALS = ("AttributeError", "TypeError", "KeyError", "Traceback", "'str' object")


@pytest.fixture(scope="module")
def hostile():
    server = Hostile()
    yield server
    server.stop()


def reason(call) -> str | None:
    return call["error"].split(":", 1)[0] if call["error"] else None


def chain_run(hostile, monkeypatch, vendor, mode, stream, collector, **extra):
    """The hostile model first, the other vendor's fake as its fallback. Returns (result, calls)."""
    model = hostile.use(monkeypatch, vendor, mode)
    pipeline = {"name": "hostile", **extra, "steps": [{"id": "s", "model": [model, FALLBACK[vendor]], "prompt": "hi"}]}
    result = orc.run(pipeline, subscribers=[collector] if stream else [])
    return result, llm_calls(result.run_id)


def in_thread(fn, seconds: float):
    """fn() with a bound on the test itself (the old code hung here for ever)."""
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("value", fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s"
    return out["value"]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
@pytest.mark.parametrize("mode, stream", [("keepalive", True), ("keepalive", False), ("drip", False)])
def test_a_server_that_never_finishes_is_cut_off_by_the_default_deadline(
        hostile, fake_openai, fake_anthropic, collector, monkeypatch, vendor, mode, stream):
    monkeypatch.setenv("ORC_MODEL_TIMEOUT", "0.5")
    t0 = time.monotonic()
    result, calls = in_thread(lambda: chain_run(hostile, monkeypatch, vendor, mode, stream, collector), 15)
    assert result.status == "succeeded", result.error
    assert time.monotonic() - t0 < 10
    first, second = calls
    assert reason(first) == "timeout" and reason(second) is None
    assert (f"no complete answer from {vendor} ({hostile.host}) within 0.5 s "
            "(set the step's `timeout:` or ORC_MODEL_TIMEOUT)") in first["error"]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("mode", ["texthtml", "emptychoices", "jsonnull", "numcontent"])
def test_a_malformed_answer_is_a_server_failure_that_falls_back(
        hostile, fake_openai, fake_anthropic, collector, monkeypatch, vendor, mode, stream):
    result, calls = chain_run(hostile, monkeypatch, vendor, mode, stream, collector)
    assert result.status == "succeeded", result.error
    first, second = calls
    assert reason(first) == "server" and reason(second) is None, first["error"]
    assert f"malformed response from {vendor} ({hostile.host}): " in first["error"]
    assert not any(word in first["error"] for word in INTERNALS), first["error"]
    assert first["response_text"] is None
    if mode == "texthtml":
        assert "Hello from a captive portal" in first["error"] and "<h1>" not in first["error"]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_a_cut_off_stream_is_retried_and_never_cached(
        hostile, fake_openai, fake_anthropic, collector, monkeypatch, vendor):
    result, calls = chain_run(hostile, monkeypatch, vendor, "truncsse", True, collector)
    first, second = calls
    assert reason(first) == "connection" and reason(second) is None
    assert f"the answer from {vendor} ({hostile.host}) was cut off" in first["error"]
    # the same request again, the server healthy now: it is asked (nothing partial was cached)
    fake = fake_openai if vendor == "openai" else fake_anthropic
    before = fake.count
    fake.configure(monkeypatch_=monkeypatch)
    again = orc.run({"name": "hostile", "steps": [{"id": "s", "model": [f"{vendor}:m", FALLBACK[vendor]],
                                                   "prompt": "hi"}]}, subscribers=[collector])
    assert again.status == "succeeded" and fake.count == before + 1
    assert "Partial ans" not in again["s"]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("mode", ["huge", "gzipbomb", "endless"])
def test_an_answer_over_the_size_limit_ends_the_call(
        hostile, fake_openai, fake_anthropic, collector, monkeypatch, vendor, mode, stream):
    monkeypatch.setenv("ORC_MAX_RESPONSE_BYTES", "100000")
    result, calls = in_thread(lambda: chain_run(hostile, monkeypatch, vendor, mode, stream, collector,
                                                defaults={"timeout": 6}), 20)
    assert result.status == "succeeded", result.error
    first, second = calls
    assert reason(first) == "server" and reason(second) is None, first["error"]
    assert (f"the answer from {vendor} ({hostile.host}) is over the limit of 100,000 bytes "
            "(set ORC_MAX_RESPONSE_BYTES to raise it)") in first["error"]


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_over_the_cap_gives_up_at_once_and_says_so(fake_openai, status):
    fake_openai.push({"status": status, "retry_after": 999999}, "not reached")
    t0 = time.monotonic()
    result = orc.run({"name": "wait", "defaults": {"timeout": 30},
                      "steps": [{"id": "s", "model": "openai:a", "prompt": "hi"}]})
    assert result.status == "failed" and time.monotonic() - t0 < 10
    assert fake_openai.count == 1
    assert "the server asked to wait 12 days, over the 60 s cap" in result.error


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_a_key_echoed_in_an_answer_is_redacted_before_it_is_stored(
        fake_openai, fake_anthropic, collector, tmp_path, vendor, stream):
    fake = fake_openai if vendor == "openai" else fake_anthropic
    key = fake.configure()
    fake.push(f"your key is {key}, keep it safe")
    result = orc.run({"name": "echo", "steps": [{"id": "s", "model": f"{vendor}:m", "prompt": "hi"}]},
                     subscribers=[collector] if stream else [])
    assert result["s"] == "your key is [redacted], keep it safe"
    [call] = llm_calls(result.run_id)
    assert key not in call["response_text"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_error_messages_name_the_endpoint_and_show_no_html(hostile, fake_openai, fake_anthropic, collector,
                                                            monkeypatch, vendor):
    result, calls = chain_run(hostile, monkeypatch, vendor, "html403", False, collector)
    first = calls[0]
    assert reason(first) == "auth" and f"{vendor} ({hostile.host})" in first["error"]
    assert "not the vendor" in first["error"] and "API key was refused" not in first["error"]
    assert "Access denied" in first["error"] and "<" not in first["error"]
    result, calls = chain_run(hostile, monkeypatch, vendor, "html502", False, collector)
    first = calls[0]
    assert reason(first) == "server" and f"{vendor} ({hostile.host}): server error (HTTP 502, an HTML page, " \
        "not the vendor's answer: 502 Bad Gateway" in first["error"]
    assert "<" not in first["error"] and len(first["error"]) < 300
    # nothing listens: the message names the host it tried
    monkeypatch.setenv(f"ORC_{vendor.upper()}_BASE_URL", "http://127.0.0.1:9/v1")
    result = orc.run({"name": "down", "steps": [{"id": "s", "model": [f"{vendor}:m", FALLBACK[vendor]],
                                                 "prompt": "hi"}]})
    first = llm_calls(result.run_id)[0]
    assert reason(first) == "connection" and f"{vendor} (127.0.0.1:9): cannot reach the server" in first["error"]


def test_a_429_makes_every_call_to_that_endpoint_wait_not_only_its_own(fake_openai):
    """Two items at a time: one gets a 429 (retry in 0.8 s), the other a slow answer; the third
    item starts after that answer and waits for the same 0.8 s instead of sending at once."""
    fake_openai.push({"status": 429, "retry_after": 0.8}, {"text": "slow", "delay": 0.3}, "c", "d", "e")
    result = orc.run({"name": "fan", "steps": [{"id": "s", "model": "openai:a", "for_each": "{{ [1, 2, 3, 4] }}",
                                                "max_parallel": 2, "prompt": "item {{ item }}"}]})
    assert result.status == "succeeded", result.error
    [limited] = [r for r in fake_openai.requests if r.answer and r.answer.startswith("status 429")]
    later = [r.at for r in fake_openai.requests[2:]]
    assert len(later) == 3 and min(later) >= limited.at + 0.75, (limited.at, later)
