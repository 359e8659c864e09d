"""A decision may carry the reviewer's edited output and typed form input: the store keeps both
beside the decision, whichever way it is recorded (a front-end's write, or a run's journal)."""
from __future__ import annotations

import asyncio

from orchestrator_nb.core.events import Event
from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.store import Store
from orchestrator_nb.store.queries import decide, run_detail

GATED = """
name: gated
steps:
  - id: plan
    code: 'output = {"steps": ["a", "b"]}'
  - id: review
    approval: Is the plan right?
    input:
      schema:
        type: object
        properties: {budget: {type: number}, owner: {type: string}}
"""


def test_decide_stores_edited_output_and_input(tmp_path):
    result = asyncio.run(run_pipeline(GATED, approval="defer", outdir=str(tmp_path)))
    assert result.status == "waiting"
    store = Store()
    decide(store, result.run_id, "review", "approve", decided_by="ada", mode="ui",
           edited={"steps": ["a", "b", "c"]}, input={"budget": 3, "owner": "ada"})
    (a,) = run_detail(store, result.run_id)["approvals"]
    assert a["decision"] == "approved" and a["edited"] == {"steps": ["a", "b", "c"]}
    assert a["input"] == {"budget": 3, "owner": "ada"}


def test_a_runs_journal_carries_them_too(tmp_path):
    result = asyncio.run(run_pipeline(GATED, approval="auto", outdir=str(tmp_path)))
    store = Store()
    recorder = store.recorder(result.run_id)
    recorder.handle(Event("approval", result.run_id, "review", -1, 2, {
        "round": 2, "decision": "approved", "decided_by": "ada", "mode": "interactive",
        "edited": "a shorter plan", "input": {"ok": True}}))
    recorder.w.close()
    rows = {a["round"]: a for a in run_detail(store, result.run_id)["approvals"]}
    assert rows[1]["edited"] is None and rows[1]["input"] is None          # the policy's decision
    assert rows[2]["edited"] == "a shorter plan" and rows[2]["input"] == {"ok": True}
