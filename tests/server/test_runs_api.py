"""GET /orc/api/runs, /orc/api/runs/<id>, /orc/api/info against a store written by real runs."""
from __future__ import annotations

import asyncio
import os
import threading
import time

from orchestrator_nb.api.runner import run_pipeline



async def test_list_runs_with_step_strip_filters_and_paging(api, waiting_run, tmp_path):
    first = await waiting_run("notes")
    second = await waiting_run("memo")
    done = await run_pipeline("name: quick\nsteps:\n  - {id: one, code: 'output = 1'}\n  - {id: two, code: 'output = 2'}\n",
                              outdir=str(tmp_path))
    assert done.status == "succeeded"

    page = await api.get("runs")
    assert page["total"] == 3 and page["offset"] == 0 and page["limit"] == 50
    by_id = {r["run_id"]: r for r in page["runs"]}
    assert set(by_id) == {first, second, done.run_id}
    run = by_id[first]
    assert run["status"] == "waiting" and run["pipeline"] == "notes"
    assert run["started_at"].endswith("Z") and run["duration_s"] >= 0
    assert run["cost_usd"] > 0 and run["tokens_in"] > 0
    # the strip lists every step of the spec in order, including the one not started yet
    assert [(s["id"], s["status"]) for s in run["steps"]] == [
        ("draft", "succeeded"), ("review", "waiting"), ("publish", "pending")]
    assert [s["status"] for s in by_id[done.run_id]["steps"]] == ["succeeded", "succeeded"]

    waiting = await api.get("runs", status="waiting")
    assert {r["run_id"] for r in waiting["runs"]} == {first, second} and waiting["total"] == 2
    memo = await api.get("runs", pipeline="memo")
    assert [r["run_id"] for r in memo["runs"]] == [second] and memo["total"] == 1

    pages = [await api.get("runs", limit="1", offset=str(i)) for i in range(3)]
    assert [p["total"] for p in pages] == [3, 3, 3]
    assert sorted(p["runs"][0]["run_id"] for p in pages) == sorted(by_id)
    assert (await api.get("runs", limit="1", offset="3"))["runs"] == []
    top = await api.get("runs", top_level="1")
    assert top["total"] == 3


async def test_list_runs_rejects_bad_parameters_naming_them(api):
    for params, field in [({"status": "finished"}, "status"), ({"limit": "0"}, "limit"),
                          ({"limit": "many"}, "limit"), ({"limit": "100000"}, "limit"),
                          ({"offset": "-1"}, "offset"), ({"top_level": "perhaps"}, "top_level")]:
        code, data = await api.error("runs", params=params)
        assert code == 400, params
        assert data["field"] == field and field in data["message"], data


async def test_run_detail_has_timeline_calls_approvals_and_artifacts(api, tmp_path, reviewed_yaml):
    result = await run_pipeline(
        reviewed_yaml("notes"), approval="auto",
        outdir=str(tmp_path))
    assert result.status == "succeeded"
    d = await api.get("runs", result.run_id[:7])  # a unique prefix is enough, like `orc show`
    assert d["run"]["run_id"] == result.run_id and d["run"]["status"] == "succeeded"
    assert d["run"]["inputs"] == {"topic": "tides"}
    assert [p["id"] for p in d["plan"]] == ["draft", "review", "publish"]
    steps = {s["id"]: s for s in d["timeline"]}
    assert [s["id"] for s in d["timeline"]] == ["draft", "review", "publish"]
    draft = steps["draft"]
    assert draft["kind"] == "prompt" and draft["status"] == "succeeded" and draft["model"] == "scripted:writer"
    assert draft["calls"] == 1 and draft["cost_usd"] > 0 and draft["tokens_in"] > 0
    assert draft["attempts"][0]["duration_s"] is not None
    assert "tides" in draft["output"]
    assert steps["review"]["kind"] == "approval" and steps["review"]["calls"] == 0
    (call,) = d["llm_calls"]
    assert call["step_id"] == "draft" and call["provider"] == "scripted" and call["model"] == "writer"
    assert call["request"]["system"] == "You write short notes."
    assert "Write a note about tides" in call["request"]["messages"][-1]["content"]
    assert call["response_text"] == draft["output"]
    assert abs(call["cost_usd"] - d["run"]["cost_usd"]) < 1e-12
    (decision,) = d["approvals"]
    assert decision["decision"] == "approved" and decision["mode"] == "auto"
    (artifact,) = d["artifacts"]
    assert artifact["step_id"] == "publish" and artifact["rel_path"] == f"out/{result.run_id}/note.md"
    assert artifact["open_path"] is None  # written outside the server's root dir: not openable there
    assert d["pending"] == [] and d["events_total"] == len(d["events"]) > 0


async def test_run_detail_unknown_run_is_404(api, waiting_run):
    code, data = await api.error("runs", "nosuchrun")  # no store yet
    assert code == 404 and data["field"] == "run_id"
    await waiting_run()
    code, data = await api.error("runs", "nosuchrun")
    assert code == 404 and data["field"] == "run_id" and "nosuchrun" in data["message"]


async def test_an_empty_store_is_not_created_by_reading(api, store):
    assert (await api.get("runs")) == {"runs": [], "total": 0, "limit": 50, "offset": 0}
    assert (await api.get("approvals")) == {"approvals": []}
    info = await api.get("info")
    assert info["db"] == str(store.path) and info["exists"] is False
    assert not store.path.exists()


async def test_store_calls_run_off_the_io_loop(api, waiting_run, store):
    """While another process... here another thread... holds the store, the server keeps answering."""
    await waiting_run()
    held = threading.Event()

    def hold():
        with store.connect():
            held.set()
            time.sleep(1.5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    start = time.monotonic()
    runs = asyncio.ensure_future(api.get("runs"))
    info = await api.get("info")  # no store access: answered while `runs` waits for the lock
    info_took = time.monotonic() - start
    page = await runs
    runs_took = time.monotonic() - start
    t.join()
    assert info["exists"] is True and page["total"] == 1
    assert info_took < 0.7 < runs_took, (info_took, runs_took)


async def test_info_and_secrets_never_leave_the_server(api, tmp_path, monkeypatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    result = await run_pipeline(
        "name: leaky\ninputs: {k: {type: string}}\nsteps:\n"
        "  - {id: echo, code: 'output = {\"said\": \"key \" + inputs[\"k\"], \"api_key\": inputs[\"k\"].upper()}'}\n",
        {"k": secret}, outdir=str(tmp_path))
    assert result.status == "succeeded"
    response = await api.fetch("orc", "api", "runs", result.run_id)
    body = response.body.decode()
    assert secret not in body and secret.upper() not in body
    assert "key [redacted]" in body and '"api_key":"[redacted]"' in body
    page = (await api.fetch("orc", "api", "runs")).body.decode()
    assert secret not in page
    info = await api.get("info")
    assert info["db"] == os.environ["ORC_DB"] and info["version"]
