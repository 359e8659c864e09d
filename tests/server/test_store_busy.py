"""Another process holding the store (a long `orc sql`, a stuck process): requests that need no
store answer as usual, and store reads get a prompt 503 with Retry-After, instead of queueing on
the extension's two threads for ORC_STORE_TIMEOUT (120 s)."""
from __future__ import annotations

import asyncio
import fcntl
import os
import time

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"orchestrator_nb.server": True}},
            "OrcServer": {"set_kernel_env": False, "store_wait": 1.0}}


async def answer(api, *parts, method="GET", body=None):
    """(status, Retry-After, seconds) of a request."""
    started = time.monotonic()
    try:
        r = await asyncio.wait_for(api.fetch("orc", "api", *parts, method=method, body=body), 10)
        return r.code, r.headers.get("Retry-After"), time.monotonic() - started
    except HTTPClientError as e:
        return e.code, e.response.headers.get("Retry-After"), time.monotonic() - started


async def test_a_held_store_gets_a_prompt_503_and_the_rest_answers(api, waiting_run, store):
    run_id = await waiting_run()
    fd = os.open(store.lock_path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another process would
    try:
        assert (await answer(api, "pipelines"))[0] == 200
        assert (await answer(api, "info"))[0] == 200
        polls = await asyncio.gather(*(answer(api, "runs") for _ in range(6)), answer(api, "approvals"),
                                     answer(api, "runs", run_id), answer(api, "approvals", method="POST",
                                     body='{"run_id": "%s", "step_id": "review", "decision": "approve"}' % run_id))
        for code, retry_after, seconds in polls:
            assert (code, retry_after) == (503, "5") and seconds < 5, polls
        code, data = await api.error("runs")
        assert "is busy" in data["message"] and "try again" in data["message"], data
        assert (await answer(api, "pipelines"))[0] == 200  # still
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert (await answer(api, "runs"))[0] == 200
    code, decided = await api.decide({"run_id": run_id, "step_id": "review", "decision": "approve"})
    assert code == 201, decided  # refused while busy, so it was not recorded then


async def test_a_start_refused_with_429_says_when_to_ask_again(api, jp_root_dir, jp_serverapp):
    from test_run_control import LONG_ASYNC, post, supervisor, wait_for
    (jp_root_dir / "long.yaml").write_text(LONG_ASYNC)
    supervisor(jp_serverapp).max_runs = 1
    _, first = await post(api, "runs", body={"pipeline": "long.yaml"})
    code, retry_after, _ = await answer(api, "runs", method="POST", body='{"pipeline": "long.yaml"}')
    assert (code, retry_after) == (429, "10")
    code, data = await api.error("runs", method="POST", body={"pipeline": "long.yaml"})
    assert "the server runs 1 run, and c.OrcServer.max_runs is 1" in data["message"], data
    await wait_for(api, first["run_id"], {"running"})
    code, out = await post(api, "runs", first["run_id"], "cancel")
    assert out["status"] == "cancelled"
