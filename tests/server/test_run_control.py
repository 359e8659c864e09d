"""Run control over REST against a real jupyter_server: POST /runs starts a real worker process
(`python -m orchestrator_nb.server.worker`) that writes the real store; resume and cancel act
on it. Runs use the offline `scripted:` model."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import pytest

from orchestrator_nb.store.journal import pid_alive

LONG = """
name: long
steps:
  - id: nap
    code: |
      import time
      time.sleep(60)      # holds the event loop: only a second interrupt stops it
      output = 1
"""
LONG_ASYNC = """
name: long-async
steps:
  - id: nap
    python: asyncio:sleep
    params: {delay: 60}
"""


def supervisor(jp_serverapp):
    return jp_serverapp.web_app.settings["orc_supervisor"]


async def wait_for(api, run_id: str, statuses, timeout: float = 60.0) -> dict:
    """Poll GET /runs/<id> until its status is one of ``statuses``; -> the run detail."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        d = await api.get("runs", run_id)
        seen = d["run"]["status"]
        if seen in statuses:
            return d
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} stayed {seen}, expected {statuses}")


async def post(api, *parts, body=None):
    raw = b"" if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
    response = await api.fetch("orc", "api", *parts, method="POST", body=raw)
    return response.code, json.loads(response.body)


async def test_start_wait_approve_resume_and_finish(api, jp_root_dir, jp_serverapp, reviewed_yaml, store):
    (jp_root_dir / "pipelines").mkdir()
    (jp_root_dir / "pipelines" / "notes.yaml").write_text(reviewed_yaml("notes"))
    (jp_root_dir / "topic.md").write_text("the tides of the North Sea\n")
    code, started = await post(api, "runs", body={"pipeline": "pipelines/notes.yaml", "files": {"topic": "topic.md"},
                                                  "outdir": "results"})
    assert code == 202 and started["status"] == "pending"
    run_id = started["run_id"]
    assert started["links"]["cancel"] == f"/a%40b/orc/api/runs/{run_id}/cancel"  # under the base URL
    # known at once (before its worker has started): queued, with its plan
    first = await api.get("runs", run_id)
    assert first["run"]["status"] in ("pending", "running", "waiting")
    assert [p["id"] for p in first["plan"]] == ["draft", "review", "publish"]

    d = await wait_for(api, run_id, {"waiting"})
    assert d["run"]["source"] == "server" and d["run"]["inputs"]["topic"] == "the tides of the North Sea\n"
    (pending,) = d["pending"]
    assert pending["question"] == "Is the draft good?" and "North Sea" in pending["show"]
    assert pending["approve"] == f"orc approve {run_id} review" and pending["resume"] == f"orc resume {run_id}"
    assert [e["kind"] for e in d["events"]][0] == "run_queued"

    code, decided = await api.decide({"run_id": run_id, "step_id": "review", "decision": "approve"})
    assert code == 201 and decided["decision"] == "approved"
    code, resumed = await post(api, "runs", run_id, "resume")
    assert code == 202 and resumed == {"run_id": run_id, "status": "pending", "previous": "waiting",
                                       "links": started["links"]}
    d = await wait_for(api, run_id, {"succeeded", "failed"})
    assert d["run"]["status"] == "succeeded", d["run"]["error"]
    note = jp_root_dir / "results" / "out" / run_id / "note.md"
    assert "North Sea" in note.read_text()
    assert [(a["decision"], a["mode"]) for a in d["approvals"]] == [("approved", "ui")]
    for _ in range(50):  # the worker has exited and was reaped
        if not supervisor(jp_serverapp).workers:
            break
        await asyncio.sleep(0.1)
    assert supervisor(jp_serverapp).workers == {}


@pytest.mark.parametrize("spec,isolate", [(LONG, False), (LONG_ASYNC, False), (LONG, True)],
                         ids=["blocking-step", "async-step", "isolated-step"])
async def test_cancel_a_running_run_within_two_seconds(api, jp_root_dir, jp_serverapp, spec, isolate):
    (jp_root_dir / "long.yaml").write_text(spec)
    _, started = await post(api, "runs", body={"pipeline": "long.yaml", "isolate": isolate})
    run_id = started["run_id"]
    await wait_for(api, run_id, {"running"})
    await asyncio.sleep(0.3)  # the step is under way
    worker = supervisor(jp_serverapp).owned(run_id)
    t0 = time.monotonic()
    code, out = await post(api, "runs", run_id, "cancel")
    took = time.monotonic() - t0
    assert code == 200 and out["status"] == "cancelled" and out["previous"] == "running", out
    assert took < 2.0, took
    assert out["signals"][0] == "SIGINT" and "SIGKILL" not in out["signals"]  # it stopped as Ctrl-C stops it
    d = await api.get("runs", run_id)
    assert d["run"]["status"] == "cancelled" and d["run"]["error"].startswith("cancelled by ui:")
    assert [(s["step_id"], s["status"]) for s in d["steps"]] == [("nap", "cancelled")]
    kinds = [e["kind"] for e in d["events"]]
    assert "cancel_requested" in kinds and kinds[-1] in ("run_cancelled", "cancel_requested")
    for _ in range(50):
        if not pid_alive(worker.pid):
            break
        await asyncio.sleep(0.1)
    assert not pid_alive(worker.pid)
    code, again = await api.error("runs", run_id, "cancel", method="POST", body=b"")
    assert code == 409 and "already ended (cancelled)" in again["message"]


async def test_cancel_and_resume_follow_the_run_state(api, waiting_run, reviewed_yaml, jp_root_dir):
    run_id = await waiting_run("memo")
    code, out = await post(api, "runs", run_id[:6], "cancel", body={})  # a prefix is enough, like `orc`
    assert code == 200 and out["status"] == "cancelled" and out["previous"] == "waiting" and out["signals"] == []
    d = await api.get("runs", run_id)
    assert d["pending"] == [] and {s["step_id"]: s["status"] for s in d["steps"]}["review"] == "cancelled"
    assert (await api.get("approvals"))["approvals"] == []
    # a cancelled run can be resumed: it asks again
    code, out = await post(api, "runs", run_id, "resume", body={"approval": "auto"})
    assert code == 202 and out["previous"] == "cancelled"
    code, busy = await api.error("runs", run_id, "resume", method="POST", body=b"")
    assert code == 409 and "cannot be resumed" in busy["message"]  # one resume at a time
    d = await wait_for(api, run_id, {"succeeded", "failed"})
    assert d["run"]["status"] == "succeeded", d["run"]["error"]
    assert d["approvals"][-1]["mode"] == "auto"
    code, done = await api.error("runs", run_id, "resume", method="POST", body=b"")
    assert code == 409 and "already succeeded" in done["message"]
    for verb in ("resume", "cancel"):
        code, missing = await api.error("runs", "0123456789ab", verb, method="POST", body=b"")
        assert code == 404 and missing["field"] == "run_id"


async def test_a_worker_exiting_after_its_run_was_resumed_leaves_the_resume_alone(api, waiting_run, jp_serverapp,
                                                                                  store):
    """A cancelled run resumed while its old worker is still exiting: the old worker's exit must not
    mark the run (pending again, for the new worker) as failed 'before the run started'."""
    from orchestrator_nb.server.workers import Worker
    from orchestrator_nb.store.control import claim_resume
    run_id = await waiting_run("memo")
    sup = supervisor(jp_serverapp)
    code, out = await post(api, "runs", run_id, "cancel", body={})
    assert code == 200 and out["status"] == "cancelled"
    # the old worker: started before the resume, exits (as a cancelled worker does, code 130) after it
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import sys, time; time.sleep(0.4); sys.exit(130)")
    old = Worker(run_id, "run", proc, os.devnull, None)
    sup.workers[run_id] = old
    old.task = asyncio.ensure_future(sup._watch(old))
    await asyncio.sleep(0.05)
    assert claim_resume(store, run_id)["previous"] == "cancelled"  # the resume is claimed: pending
    await old.task
    d = await api.get("runs", run_id)
    assert d["run"]["status"] == "pending", d["run"]["error"]
    assert "run_not_started" not in [e["kind"] for e in d["events"]]


async def test_a_worker_that_cannot_start_its_run_says_why(api, jp_root_dir):
    (jp_root_dir / "broken_import.yaml").write_text(
        "name: broken\nsteps:\n  - {id: one, python: no_such_module_here:fn}\n")
    code, started = await post(api, "runs", body={"pipeline": "broken_import.yaml"})
    assert code == 202  # loading does not import step code: the worker finds out
    d = await wait_for(api, started["run_id"], {"failed"})
    assert "cannot import module 'no_such_module_here'" in d["run"]["error"]
    assert "no_such_module_here" not in sys.modules


async def test_malformed_requests_get_400_naming_the_field(api, jp_root_dir, reviewed_yaml, store, waiting_run):
    (jp_root_dir / "notes.yaml").write_text(reviewed_yaml("notes"))
    (jp_root_dir / "folder").mkdir()
    outside = jp_root_dir.parent / "outside.yaml"
    outside.write_text(reviewed_yaml("outside"))
    ok = {"pipeline": "notes.yaml"}
    cases = [
        (b"{not json", "body"), (b"", "body"), ("[1]", "body"), ({}, "pipeline"),
        ({"pipeline": ""}, "pipeline"), ({"pipeline": 3}, "pipeline"),
        ({"pipeline": "nosuch"}, "pipeline"), ({"pipeline": "nosuch.yaml"}, "pipeline"),
        ({"pipeline": "../outside.yaml"}, "pipeline"), ({"pipeline": str(outside)}, "pipeline"),
        ({"pipeline": "folder"}, "pipeline"),
        ({**ok, "inputs": [1]}, "inputs"), ({**ok, "inputs": {"topik": "x"}}, "inputs.topik"),
        ({**ok, "inputs": {"topic": 3}}, "inputs.topic"),
        ({**ok, "files": {"topic": "nosuch.md"}}, "files.topic"),
        ({**ok, "files": {"topic": "../outside.yaml"}}, "files.topic"),
        ({**ok, "files": {"topic": "folder"}}, "files.topic"), ({**ok, "files": {"topic": 1}}, "files.topic"),
        ({**ok, "files": {"topic": "notes.yaml"}, "inputs": {"topic": "x"}}, "files.topic"),
        ({**ok, "approval": "maybe"}, "approval"), ({**ok, "model": "nosuch"}, "model"),
        ({**ok, "model": "nosuch:x"}, "model"), ({**ok, "model": 5}, "model"),
        ({**ok, "outdir": "../elsewhere"}, "outdir"), ({**ok, "when": "now"}, "when"),
        ({**ok, "isolate": "yes"}, "isolate"),
    ]
    for body, field in cases:
        code, data = await api.error("runs", method="POST", body=body)
        assert code == 400, (body, code, data)
        assert data["field"] == field and data["message"], (body, data)
    (jp_root_dir / "needs_input.yaml").write_text(
        "name: needs\ninputs:\n  text: {type: string}\nsteps:\n  - {id: one, code: 'output = inputs[\"text\"]'}\n")
    code, data = await api.error("runs", method="POST", body={"pipeline": "needs_input.yaml"})
    assert code == 400 and data["field"] == "inputs.text" and "missing input 'text'" in data["message"]
    (jp_root_dir / "bad.yaml").write_text("name: bad\nsteps:\n  - {id: one, promt: hi}\n")
    code, data = await api.error("runs", method="POST", body={"pipeline": "bad.yaml"})
    assert code == 400 and data["field"] == "pipeline" and "bad.yaml:3" in data["message"]
    run_id = await waiting_run()
    for verb, body, field in [("resume", {"approval": "maybe"}, "approval"), ("resume", {"when": 1}, "when"),
                              ("resume", "[]", "body"), ("cancel", {"force": True}, "force"),
                              ("cancel", b"{oops", "body")]:
        code, data = await api.error("runs", run_id, verb, method="POST", body=body)
        assert code == 400 and data["field"] == field, (verb, body, data)
    d = await api.get("runs")
    assert [r["run_id"] for r in d["runs"]] == [run_id] and d["runs"][0]["status"] == "waiting"  # nothing started


async def test_every_new_endpoint_needs_a_token(api, waiting_run, jp_root_dir, reviewed_yaml):
    (jp_root_dir / "notes.yaml").write_text(reviewed_yaml("notes"))
    run_id = await waiting_run()
    for headers in ({"Authorization": ""}, {"Authorization": "token wrong"}):
        for parts, method, body in [(("pipelines",), "GET", None), (("openapi.json",), "GET", None),
                                    (("runs",), "POST", {"pipeline": "notes.yaml"}),
                                    (("runs", run_id, "resume"), "POST", {}),
                                    (("runs", run_id, "cancel"), "POST", {})]:
            code, _ = await api.error(*parts, method=method, body=body, headers=dict(headers))
            assert code == 403, (parts, method, headers)
    d = await api.get("runs")
    assert [(r["run_id"], r["status"]) for r in d["runs"]] == [(run_id, "waiting")]  # nothing happened


async def test_too_many_runs_at_once_get_429(api, jp_root_dir, jp_serverapp):
    (jp_root_dir / "long.yaml").write_text(LONG_ASYNC)
    sup = supervisor(jp_serverapp)
    sup.max_runs = 1
    _, first = await post(api, "runs", body={"pipeline": "long.yaml"})
    code, data = await api.error("runs", method="POST", body={"pipeline": "long.yaml"})
    assert code == 429 and "max_runs" in data["message"]
    await wait_for(api, first["run_id"], {"running"})
    code, out = await post(api, "runs", first["run_id"], "cancel")
    assert out["status"] == "cancelled"


async def test_stopping_the_server_cancels_its_runs(api, jp_root_dir, jp_serverapp, store):
    (jp_root_dir / "long.yaml").write_text(LONG)
    _, started = await post(api, "runs", body={"pipeline": "long.yaml"})
    run_id = started["run_id"]
    await wait_for(api, run_id, {"running"})
    worker = supervisor(jp_serverapp).owned(run_id)
    t0 = time.monotonic()
    await jp_serverapp.cleanup_extensions()  # what the server awaits when it shuts down
    assert time.monotonic() - t0 < 3.0
    assert not pid_alive(worker.pid)
    from orchestrator_nb.store.queries import run_detail
    d = run_detail(store, run_id)
    assert d["run"]["status"] == "cancelled" and "the Jupyter server stopping" in d["run"]["error"]


def test_the_worker_is_not_the_server(jp_root_dir):
    """A worker imports no Jupyter server code (it runs headless, like `orc run`)."""
    import subprocess
    code = ("import sys, orchestrator_nb.server.worker; "
            "print(sorted(m for m in sys.modules if m.startswith(('jupyter_server', 'tornado', 'IPython'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.getcwd())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_decisions_with_edits_wait_for_approval_steps_that_take_them(api, waiting_run):
    from orchestrator_nb.server.handlers import decision_extras
    run_id = await waiting_run()
    body = {"run_id": run_id, "step_id": "review", "decision": "approve", "edited": "a better draft"}
    if decision_extras():  # the core's approval steps take edits: the decision stores them
        code, out = await api.decide(body)
        assert code == 201
        d = await api.get("runs", run_id)
        assert d["approvals"][0]["edited"] == "a better draft"
    else:  # not silently dropped
        code, data = await api.error("approvals", method="POST", body=body)
        assert code == 400 and data["field"] == "edited"
        typed = {"run_id": run_id, "step_id": "review", "decision": "approve", "input": {"n": 1}}
        code, data = await api.error("approvals", method="POST", body=typed)
        assert code == 400 and data["field"] == "input"

