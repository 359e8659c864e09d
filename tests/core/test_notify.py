"""Webhook notifications from real runs (in-process API, `orc run`) to a real HTTP receiver on
127.0.0.1: what is sent, exactly once, retried, masked, and never in the run's way."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from orchestrator_nb.api import notify
from orchestrator_nb.api.runner import resume_run, run_pipeline
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import decide, run_detail
from orchestrator_nb.testing.webhook_receiver import WebhookReceiver

REVIEWED = """
name: notes
inputs:
  topic: {type: string, default: tides}
steps:
  - id: draft
    model: scripted:writer
    prompt: Write a note about {{ inputs.topic }}
  - id: review
    approval: "Is the note about {{ inputs.topic }} good?"
    show: "{{ steps.draft.output }}"
  - id: publish
    needs: [review]
    code: output = len(steps["draft"])
"""
FAILING = """
name: breaks
inputs:
  detail: {type: string, default: ""}
steps:
  - id: ok
    code: output = 1
  - id: boom
    needs: [ok]
    code: raise ValueError("broken on purpose " + inputs["detail"])
"""


@pytest.fixture
def hook(monkeypatch):
    with WebhookReceiver() as receiver:
        yield receiver
    notify.drain(0.5)


@pytest.fixture(autouse=True)
def _fresh_channels():
    """Each test gets its own delivery threads (a test's hanging receiver must not hold the next)."""
    yield
    with notify._channels_lock:
        notify._channels.clear()


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def test_one_waiting_and_one_succeeded_payload_per_run(hook, monkeypatch, tmp_path):
    monkeypatch.setenv("ORC_WEBHOOKS", f"{hook.url},slack+{hook.url.replace('/hook', '/slack')}")
    result = asyncio.run(run_pipeline(REVIEWED, {"topic": "waves"}, approval="defer", outdir=str(tmp_path),
                                      source="cli"))
    assert result.status == "waiting"
    run_id = result.run_id
    hook.wait_for(2)
    decide(Store(), run_id, "review", "approve", decided_by="ada")
    resumed = asyncio.run(resume_run(run_id))
    assert resumed.status == "succeeded"
    assert notify.drain(5)
    generic = [r for r in hook.received if r["path"] == "/hook"]
    slack = [r for r in hook.received if r["path"] == "/slack"]
    assert [r["body"]["status"] for r in generic] == ["waiting", "succeeded"]
    waiting, done = (r["body"] for r in generic)
    assert waiting["event"] == "run.waiting" and waiting["run_id"] == run_id and waiting["pipeline"] == "notes"
    assert waiting["step"] == "review" and waiting["question"] == "Is the note about waves good?"
    assert waiting["command"] == f"orc approve {run_id} review && orc resume {run_id}"
    assert waiting["approvals"][0]["reject"] == f"orc approve {run_id} review --reject"
    assert waiting["api"]["resume"] == f"/orc/api/runs/{run_id}/resume" and waiting["at"].endswith("Z")
    assert "inputs" not in waiting and "show" not in waiting["approvals"][0]  # no content leaves the machine
    assert done["event"] == "run.succeeded" and done["command"] is None and done["error"] is None
    assert generic[0]["headers"]["X-Orc-Event"] == "run.waiting"
    assert generic[0]["headers"]["Content-Type"] == "application/json"
    assert [r["headers"]["X-Orc-Event"] for r in slack] == ["run.waiting", "run.succeeded"]
    text = slack[0]["body"]["text"]
    assert set(slack[0]["body"]) == {"text", "blocks"} and f"`{run_id}`" in text and "waiting for approval" in text
    assert f"orc approve {run_id} review && orc resume {run_id}" in text
    assert slack[0]["body"]["blocks"][0]["text"]["type"] == "mrkdwn"


def test_a_live_approval_is_announced_once_when_it_starts_asking(hook, monkeypatch, tmp_path):
    from orchestrator_nb.core.approvals import Decision

    class Reviewer:  # a notebook's buttons would be this: asked, answers later
        def __init__(self, after: float):
            self.after = after

        async def decide(self, req):
            await asyncio.sleep(self.after)
            return Decision("approved", decided_by="ada", mode="interactive")

    monkeypatch.setenv("ORC_WEBHOOKS", hook.url)
    result = asyncio.run(run_pipeline(REVIEWED, approver=Reviewer(notify.SETTLE + 0.5), outdir=str(tmp_path),
                                      source="notebook"))
    assert result.status == "succeeded"
    assert notify.drain(5)
    bodies = [r["body"] for r in hook.received]
    assert [b["status"] for b in bodies] == ["waiting", "succeeded"]
    assert bodies[0]["source"] == "notebook" and bodies[0]["at"] < bodies[1]["at"]
    # a quick decision (a click within SETTLE seconds, or a policy) tells nobody it waits
    quick = asyncio.run(run_pipeline(REVIEWED, approver=Reviewer(0.05), outdir=str(tmp_path), source="notebook"))
    assert notify.drain(5)
    assert [r["body"]["status"] for r in hook.received if r["body"]["run_id"] == quick.run_id] == ["succeeded"]


def test_failed_payload_names_the_step_and_masks_secrets(hook, monkeypatch, tmp_path):
    secret = "sk-test-9f8e7d6c5b4a39281706"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("ORC_WEBHOOKS", hook.url)
    result = asyncio.run(run_pipeline(FAILING, {"detail": f"key={secret}"}, outdir=str(tmp_path)))
    assert result.status == "failed"
    (body,) = hook.wait_for(1)
    assert body["status"] == "failed" and body["step"] == "boom"
    assert "broken on purpose" in body["error"] and "[redacted]" in body["error"]
    assert secret not in str(hook.received)
    assert body["resume"] == f"orc resume {result.run_id}"


def test_a_receiver_that_is_down_delays_nothing_and_loses_nothing(monkeypatch, tmp_path, caplog):
    """What a run spends on webhooks is the subscriber's own time (it only queues facts): measured
    exactly, it is far below 100 ms; and end to end, a dead or hanging receiver (whose POST would
    take the full 5 s timeout) does not hold the run up."""
    from orchestrator_nb.api import runner
    spent = [0.0]

    def timed(fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t0
        return wrapper

    monkeypatch.setattr(notify.Notifier, "handle", timed(notify.Notifier.handle))
    monkeypatch.setattr(runner, "webhooks_for", timed(notify.webhooks_for))
    hanging = WebhookReceiver()
    hanging.answers = ["hang"] * 10
    hanging.__enter__()
    try:
        asyncio.run(run_pipeline(REVIEWED, approval="auto", outdir=str(tmp_path)))  # warm: imports, store
        timings = {}
        for label, hooks in [("none", ""), ("closed port", f"http://127.0.0.1:{_dead_port()}/hook"),
                             ("hanging", hanging.url)]:
            monkeypatch.setenv("ORC_WEBHOOKS", hooks)
            spent[0] = 0.0
            t0 = time.perf_counter()
            result = asyncio.run(run_pipeline(REVIEWED, approval="auto", outdir=str(tmp_path), sync="none"))
            timings[label] = (time.perf_counter() - t0, spent[0])
            assert result.status == "succeeded"
            d = run_detail(Store(), result.run_id)  # every record is there
            assert d["run"]["status"] == "succeeded" and len(d["steps"]) == 3 and len(d["llm_calls"]) == 1
        for label in ("closed port", "hanging"):
            took, in_webhooks = timings[label]
            assert in_webhooks < 0.1, timings                      # the delay webhooks add to a run
            assert took < timings["none"][0] + 1.0, timings        # no waiting on a 5 s HTTP timeout
        for _ in range(50):
            if hanging.received:
                break
            time.sleep(0.05)
        assert [r["status"] for r in hanging.received] == [None]  # it was asked, and never answered
        # at exit, a bounded grace: the undelivered payloads are given up with a warning
        with caplog.at_level(logging.WARNING, logger="orchestrator_nb.api.notify"):
            t0 = time.monotonic()
            assert notify.drain(0.3) is False
            assert time.monotonic() - t0 < 1.0
        assert "not delivered" in caplog.text and "/hook" not in caplog.text  # a URL's path stays private
    finally:
        hanging.close()


def test_retries_use_the_retry_policy_then_deliver_once(hook, monkeypatch, tmp_path):
    (tmp_path / ".orc").mkdir(exist_ok=True)
    (tmp_path / ".orc" / "webhooks.yaml").write_text(
        f"webhooks:\n  - url: {hook.url}\n    events: [succeeded]\n    headers: {{X-Hook-Token: abc123}}\n"
        "    retry: {attempts: 3, backoff: fixed, delay: 0.05}\n")
    hook.answers = [503, 429]
    result = asyncio.run(run_pipeline(REVIEWED, approval="auto", outdir=str(tmp_path)))
    assert result.status == "succeeded"
    assert notify.drain(5)
    assert [r["status"] for r in hook.received] == [503, 429, 200]
    deliveries = {r["headers"]["X-Orc-Delivery"] for r in hook.received}
    assert len(deliveries) == 1 and all(r["headers"]["X-Hook-Token"] == "abc123" for r in hook.received)
    assert len(hook.payloads) == 1 and hook.payloads[0]["status"] == "succeeded"


def test_a_client_error_is_not_retried(hook, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("ORC_WEBHOOKS", hook.url)
    hook.answers = [404]
    with caplog.at_level(logging.WARNING, logger="orchestrator_nb.api.notify"):
        result = asyncio.run(run_pipeline(REVIEWED, approval="auto", outdir=str(tmp_path)))
        assert notify.drain(5)
    assert result.status == "succeeded" and [r["status"] for r in hook.received] == [404]
    assert "HTTP 404" in caplog.text and "http://127.0.0.1" in caplog.text


def test_bad_configuration_warns_once_and_never_breaks_a_run(monkeypatch, tmp_path, caplog):
    notify._warned.clear()
    (tmp_path / ".orc").mkdir(exist_ok=True)
    (tmp_path / ".orc" / "webhooks.yaml").write_text(
        "webhooks:\n  - {url: 'https://example.invalid/T0/B0/secretpath', format: slak}\n"
        "  - {url: ftp://example.invalid/x}\n  - {url: 'https://example.invalid/y', events: [done]}\n"
        "  - {url: 'https://example.invalid/z', retry: {attempts: 0}}\n")
    monkeypatch.setenv("ORC_WEBHOOKS", "not-a-url/secretpath")
    with caplog.at_level(logging.WARNING, logger="orchestrator_nb.api.notify"):
        for _ in range(2):
            result = asyncio.run(run_pipeline(REVIEWED, approval="auto", outdir=str(tmp_path)))
            assert result.status == "succeeded"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("webhooks:")]  # config only
    assert len(lines) == 5, lines  # each problem once, not once per run
    assert any("ORC_WEBHOOKS entry 1 is not an http(s) URL" in x for x in lines)
    assert any("webhooks[0].format: unknown format 'slak'" in x for x in lines)
    assert any("webhooks[2].events" in x for x in lines) and any("webhooks[3].retry" in x for x in lines)
    assert not any("secretpath" in x for x in lines)
    assert notify.destinations(Store()) == []


@pytest.mark.slow
def test_orc_run_notifies_and_exits_within_the_grace_period(tmp_path):
    """`orc run` (another process) posts its payload; with a dead receiver it still exits soon."""
    (tmp_path / "notes.yaml").write_text(REVIEWED)
    with WebhookReceiver() as hook:
        env = dict(os.environ, ORC_WEBHOOKS=hook.url)
        out = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", "notes.yaml", "-q"], env=env,
                             capture_output=True, text=True, cwd=tmp_path)
        assert out.returncode == 3, out.stderr  # waiting for approval
        (body,) = hook.wait_for(1, timeout=5)
        assert body["status"] == "waiting" and body["step"] == "review"
    env = dict(os.environ, ORC_WEBHOOKS=f"http://127.0.0.1:{_dead_port()}/hook", ORC_WEBHOOK_GRACE="1")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", "notes.yaml", "-q", "--approval", "auto"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    assert "not delivered" in out.stderr and "/hook" not in out.stderr
    # the run itself was not held up (the grace is spent after it ended)
    run = subprocess.run([sys.executable, "-m", "orchestrator_nb", "runs", "--json", "-n", "1"], capture_output=True,
                         text=True, cwd=tmp_path, env=env)
    assert '"status":"succeeded"' in run.stdout.replace(" ", "")
    assert took < 15, took
