"""GET/POST /orc/api/approvals: a decision made in the UI is picked up by the waiting run,
deferred (`orc resume`, another process) or live (its approver watches the store)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from orchestrator_nb.api.runner import resume_run, run_pipeline
from orchestrator_nb.providers.scripted import ScriptedProvider


def orc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "orchestrator_nb", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())


async def test_pending_approval_of_a_deferred_run(api, waiting_run):
    run_id = await waiting_run("notes", topic="reefs")
    (a,) = (await api.get("approvals"))["approvals"]
    assert (a["run_id"], a["step_id"], a["round"], a["pipeline"]) == (run_id, "review", 1, "notes")
    assert a["question"] == "Is the draft good?" and "reefs" in a["show"]
    assert a["live"] is False and a["run_status"] == "waiting" and a["started_at"].endswith("Z")
    assert (await api.get("approvals", run_id=run_id))["approvals"] == [a]
    code, data = await api.error("approvals", params={"run_id": "other"})  # no such run: 404, not []
    assert (code, data["field"]) == (404, "run_id"), data


@pytest.mark.slow  # two `orc` processes
async def test_approve_in_the_ui_then_orc_resume_finishes_the_run(api, reviewed_yaml, tmp_path, store):
    (tmp_path / "notes.yaml").write_text(reviewed_yaml("notes"))
    done = orc("run", "notes.yaml", "--approval", "defer", cwd=tmp_path)  # headless, another process
    assert done.returncode == 3, done.stderr
    (a,) = (await api.get("approvals"))["approvals"]
    code, out = await api.decide({"run_id": a["run_id"], "step_id": "review", "decision": "approve"})
    assert code == 201
    assert out == {"run_id": a["run_id"], "step_id": "review", "round": 1, "decision": "approved",
                   "resume": a["run_id"], "live": False, "next": f"orc resume {a['run_id']}"}
    assert (await api.get("approvals"))["approvals"] == []
    resumed = orc("resume", a["run_id"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    d = await api.get("runs", a["run_id"])
    assert d["run"]["status"] == "succeeded"
    assert [s["status"] for s in d["timeline"]] == ["succeeded", "succeeded", "succeeded"]
    (decision,) = d["approvals"]
    assert decision["decision"] == "approved" and decision["mode"] == "ui"
    assert decision["decided_by"].startswith("ui:")
    assert (tmp_path / "out" / a["run_id"] / "note.md").exists()


async def test_request_changes_regenerates_the_draft_with_the_comment(api, waiting_run, store):
    run_id = await waiting_run()
    code, data = await api.error("approvals", method="POST",
                                 body={"run_id": run_id, "step_id": "review", "decision": "request_changes"})
    assert code == 400 and data["field"] == "comment"
    code, out = await api.decide({"run_id": run_id, "step_id": "review", "decision": "request_changes",
                                  "comment": "Mention the moon."})
    assert code == 201 and out["decision"] == "changes_requested"
    ScriptedProvider.calls.clear()
    result = await resume_run(run_id, db=store)
    assert result.status == "waiting"  # asked again, round 2
    assert any("Mention the moon." in c["prompt"] for c in ScriptedProvider.calls)
    (again,) = (await api.get("approvals"))["approvals"]
    assert (again["run_id"], again["round"]) == (run_id, 2)


async def test_reject_ends_the_run_on_resume(api, waiting_run, store):
    run_id = await waiting_run()
    code, out = await api.decide({"run_id": run_id, "step_id": "review", "decision": "reject",
                                  "comment": "Off topic."})
    assert code == 201 and out["decision"] == "rejected"
    result = await resume_run(run_id, db=store)
    assert result.status == "failed"
    d = await api.get("runs", run_id)
    assert d["run"]["status"] == "failed" and "Off topic." in d["run"]["error"]


async def test_decisions_that_conflict_with_the_run(api, waiting_run, tmp_path):
    run_id = await waiting_run()
    code, data = await api.error("approvals", method="POST",
                                 body={"run_id": "nosuchrun", "step_id": "review", "decision": "approve"})
    assert code == 404 and data["field"] == "run_id"
    code, data = await api.error("approvals", method="POST",
                                 body={"run_id": run_id, "step_id": "nosuchstep", "decision": "approve"})
    assert code == 400 and data["field"] == "step_id" and "review" in data["message"]
    code, data = await api.error("approvals", method="POST",
                                 body={"run_id": run_id, "step_id": "draft", "decision": "approve"})
    assert code == 409 and "not waiting" in data["message"]
    assert (await api.decide({"run_id": run_id, "step_id": "review", "decision": "approve"}))[0] == 201
    code, data = await api.error("approvals", method="POST",
                                 body={"run_id": run_id, "step_id": "review", "decision": "reject"})
    assert code == 409 and "already decided" in data["message"]


async def test_malformed_decisions_get_400_naming_the_field(api, waiting_run):
    run_id = await waiting_run()
    cases = [
        (b"{not json", "body"),
        (b"", "body"),
        ("[1, 2]", "body"),
        ({"step_id": "review", "decision": "approve"}, "run_id"),
        ({"run_id": "", "step_id": "review", "decision": "approve"}, "run_id"),
        ({"run_id": run_id, "step_id": 3, "decision": "approve"}, "step_id"),
        ({"run_id": run_id, "step_id": "review"}, "decision"),
        ({"run_id": run_id, "step_id": "review", "decision": "maybe"}, "decision"),
        ({"run_id": run_id, "step_id": "review", "decision": "approve", "comment": ["x"]}, "comment"),
        ({"run_id": run_id, "step_id": "review", "decision": "approve", "by": "me"}, "by"),
    ]
    for body, field in cases:
        code, data = await api.error("approvals", method="POST", body=body)
        assert code == 400, body
        assert data["field"] == field and data["message"], (body, data)
    assert (await api.get("approvals"))["approvals"][0]["run_id"] == run_id  # nothing was recorded


async def test_every_endpoint_needs_a_token(api, waiting_run):
    run_id = await waiting_run()
    for headers in ({"Authorization": ""}, {"Authorization": "token wrong"}):
        for parts, method, body in [(("runs",), "GET", None), (("runs", run_id), "GET", None),
                                    (("approvals",), "GET", None), (("info",), "GET", None),
                                    (("approvals",), "POST", {"run_id": run_id, "step_id": "review",
                                                              "decision": "approve"})]:
            code, _ = await api.error(*parts, method=method, body=body, headers=dict(headers))
            assert code == 403, (parts, method, headers)
    assert (await api.get("approvals"))["approvals"][0]["run_id"] == run_id  # the POSTs changed nothing


class StoreWatchingApprover:
    """A live run's approver (as a notebook's would be, besides its buttons): it waits until a
    decision for this round shows up in the store, checking when the run's inbox is touched."""

    def __init__(self, store):
        self.store = store
        self.asked = asyncio.Event()

    async def decide(self, req):
        self.asked.set()
        seen = None
        while True:
            mtime = self.store.inbox_mtime(req.run_id)
            if mtime != seen:
                seen = mtime
                decision = await asyncio.to_thread(self.store.find_decision, req.run_id, req.step_id, req.round)
                if decision is not None:
                    return decision
            await asyncio.sleep(0.05)


async def test_a_live_run_picks_up_the_decision_at_once(api, reviewed_yaml, tmp_path, store, jp_root_dir):
    approver = StoreWatchingApprover(store)
    notebook = jp_root_dir / "work" / "live.ipynb"  # a notebook under the server root: openable from the run view
    task = asyncio.ensure_future(run_pipeline(reviewed_yaml("live"), approver=approver, outdir=str(tmp_path),
                                              sync="none", source="notebook", notebook_path=str(notebook)))
    await asyncio.wait_for(approver.asked.wait(), 30)
    pending = []
    for _ in range(100):
        pending = (await api.get("approvals"))["approvals"]
        if pending:
            break
        await asyncio.sleep(0.05)
    (a,) = pending
    assert a["live"] is True and a["run_status"] == "running" and a["question"] == "Is the draft good?"
    runs = (await api.get("runs"))["runs"]
    assert [(s["id"], s["status"]) for s in runs[0]["steps"]] == [
        ("draft", "succeeded"), ("review", "waiting"), ("publish", "pending")]
    code, out = await api.decide({"run_id": a["run_id"], "step_id": "review", "decision": "approve"})
    assert code == 201 and out["live"] is True and out["round"] == 1 and "orc resume" not in out["next"]
    result = await asyncio.wait_for(task, 30)
    assert result.status == "succeeded"
    d = await api.get("runs", a["run_id"])
    assert d["run"]["status"] == "succeeded" and d["run"]["notebook_open_path"] == "work/live.ipynb"
    assert [(x["decision"], x["mode"]) for x in d["approvals"]] == [("approved", "ui")]
    assert (await api.get("approvals"))["approvals"] == []
    assert any(e["kind"] == "approval" and e["step_id"] == "review" for e in d["events"])


async def test_approvals_of_one_run_take_a_prefix_and_an_unknown_run_is_404(api, waiting_run):
    run_id = await waiting_run()
    other = await waiting_run("other")
    (mine,) = (await api.get("approvals", run_id=run_id[:6]))["approvals"]  # a unique prefix, as /runs/<prefix>
    assert (mine["run_id"], mine["step_id"]) == (run_id, "review")
    assert len((await api.get("approvals"))["approvals"]) == 2 and other != run_id
    code, data = await api.error("approvals", params={"run_id": "zzzz"})
    assert (code, data["field"]) == (404, "run_id") and "no run 'zzzz'" in data["message"], data
