"""What the sidebar needs to approve with edits and fill a gate's form over REST: GET approvals
says whether a gate is editable and gives its form's schema; POST approvals stores an edited
value and typed input, and a value that does not fit is a 400 naming the field (never a 500)."""
from __future__ import annotations

from orchestrator_nb.api.runner import resume_run, run_pipeline

GATED = """
name: gated
steps:
  - id: draft
    model: scripted:writer
    prompt: Write a note about tides
  - id: review
    approval: Is the draft good?
    show: "{{ steps.draft.output }}"
    revise: draft
  - id: signoff
    needs: [review]
    approval: Who owns it?
    input:
      schema:
        type: object
        required: [owner, priority]
        properties:
          owner: {type: string, minLength: 1}
          priority: {type: integer, minimum: 1, maximum: 5}
  - id: publish
    needs: [signoff]
    code: "output = steps['draft'] + ' / ' + steps['signoff']['input']['owner']"
"""


async def test_edit_then_typed_form_over_rest(api, tmp_path, store):
    result = await run_pipeline(GATED, None, approval="defer", outdir=str(tmp_path), source="test")
    run_id = result.run_id
    (a,) = (await api.get("approvals"))["approvals"]
    assert a["step_id"] == "review" and a["editable"] is True and a["input_schema"] is None
    code, out = await api.decide({"run_id": run_id, "step_id": "review", "decision": "approve",
                                  "edited": "Tides, edited by hand."})
    assert code == 201 and out["decision"] == "approved"
    result = await resume_run(run_id, approval="defer")
    assert result.status == "waiting"

    (a,) = (await api.get("approvals"))["approvals"]
    assert a["step_id"] == "signoff" and a["editable"] is False
    assert a["input_schema"]["required"] == ["owner", "priority"]
    (pending,) = (await api.get("runs", run_id))["pending"]  # the run view gets the same
    assert pending["input_schema"] == a["input_schema"]

    bad = [({"input": {"owner": "ada", "priority": 9}}, "input"),          # does not fit the schema
           ({"input": {"owner": "ada"}}, "input"),                         # a required field missing
           ({"input": ["ada"]}, "input"),                                  # not an object
           ({"input": {"owner": "ada", "priority": 2}, "edited": "x"}, "edited")]  # nothing to edit here
    for extra, field in bad:
        code, data = await api.error("approvals", method="POST", body={"run_id": run_id, "step_id": "signoff",
                                                                       "decision": "approve", **extra})
        assert (code, data["field"]) == (400, field), (extra, data)
        assert data["message"]
    code, out = await api.decide({"run_id": run_id, "step_id": "signoff", "decision": "approve",
                                  "input": {"owner": "ada", "priority": 2}})
    assert code == 201
    result = await resume_run(run_id, approval="defer")
    assert result.status == "succeeded"
    d = await api.get("runs", run_id)
    decided = {x["step_id"]: x for x in d["approvals"]}
    assert decided["review"]["edited"] == "Tides, edited by hand."
    assert decided["signoff"]["input"] == {"owner": "ada", "priority": 2}
    publish = next(s for s in d["timeline"] if s["id"] == "publish")
    assert publish["output"] == "Tides, edited by hand. / ada"


async def test_a_live_runs_gates_take_edits_and_forms_too(api, tmp_path, store):
    """A run still going on in a kernel records its waiting gate through the journal: the sidebar
    sees the same `editable` and `input_schema`, and the decision's edit and form reach the run."""
    import asyncio

    from test_approvals_api import StoreWatchingApprover
    approver = StoreWatchingApprover(store)
    task = asyncio.ensure_future(run_pipeline(GATED, None, approver=approver, outdir=str(tmp_path), sync="none",
                                              source="notebook"))

    async def pending(step: str) -> dict:
        for _ in range(200):
            found = [a for a in (await api.get("approvals"))["approvals"] if a["step_id"] == step]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{step} never waited")

    a = await pending("review")
    assert a["live"] is True and a["editable"] is True and a["input_schema"] is None
    code, _ = await api.decide({"run_id": a["run_id"], "step_id": "review", "decision": "approve",
                                "edited": "Edited live."})
    assert code == 201
    a = await pending("signoff")
    assert a["editable"] is False and a["input_schema"]["required"] == ["owner", "priority"]
    code, data = await api.error("approvals", method="POST", body={"run_id": a["run_id"], "step_id": "signoff",
                                                                   "decision": "approve", "input": {"owner": "ada"}})
    assert (code, data["field"]) == (400, "input")
    code, _ = await api.decide({"run_id": a["run_id"], "step_id": "signoff", "decision": "approve",
                                "input": {"owner": "ada", "priority": 3}})
    assert code == 201
    result = await asyncio.wait_for(task, 30)
    assert result.status == "succeeded"
    assert result.outputs["publish"] == "Edited live. / ada"
