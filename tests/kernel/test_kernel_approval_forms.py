"""Approving with edits and filling a gate's form in the notebook card, in a real kernel (widget
state and clicks sent as comm messages, as JupyterLab sends them)."""
from __future__ import annotations

import json

import pytest

from kernelkit import store_rows

pytestmark = pytest.mark.kernel

CELL = '''%%orc release
name: release
steps:
  - id: notes
    model: scripted:echo
    prompt: Release notes for {{ version }}
  - id: review
    approval: Ship these notes?
    revise: notes
    input:
      schema:
        type: object
        required: [channel, reviewers]
        properties:
          channel: {enum: [stable, beta]}
          reviewers: {type: integer, minimum: 1}
          note: {type: string, maxLength: 80}
  - id: publish
    needs: [review]
    code: |
      form = steps['review']['input']
      output = f"{form['channel']}/{form['reviewers']}: {steps['notes']}"
'''


def _textarea(kernel, containing: str) -> str:
    return next(cid for cid, m in kernel.models.items() if m.get("_model_name") == "TextareaModel"
                and containing in str(m.get("value")))


def _field(kernel, model: str, label: str) -> str:
    return kernel.find(model, description=label)


def test_approve_with_an_edit_and_the_form(kernel, tmp_path):
    kernel.run("version = '2.1'")
    cell = kernel.execute(CELL)
    approve = kernel.find("ButtonModel", description="Approve")
    kernel.type_into(kernel.find("ToggleButtonModel", description="Edit before approving"), True)
    kernel.type_into(_textarea(kernel, "Release notes"), "Edited notes for 2.1")
    kernel.send_comm(_field(kernel, "DropdownModel", "channel *"),           # a dropdown syncs its index
                     {"method": "update", "state": {"index": 1}, "buffer_paths": []})
    reviewers = _field(kernel, "TextModel", "reviewers *")
    kernel.type_into(reviewers, "zero")                                      # not an integer: refused
    kernel.click(approve)
    kernel.wait(0.5)
    assert not kernel.done(cell)
    messages = " ".join(str(m.get("value")) for m in kernel.models.values() if m.get("_model_name") == "HTMLModel")
    assert "reviewers: not an integer" in messages
    kernel.type_into(reviewers, "2")
    kernel.click(approve)
    assert kernel.reply(cell)["status"] == "ok"
    out = kernel.run("print(release.status, '|', release['publish'], '|', json.dumps(release['review']['input']))"
                     .replace("json.dumps", "__import__('json').dumps"))
    assert "succeeded | beta/2: Edited notes for 2.1 |" in out
    assert json.loads(out.split("|")[2]) == {"channel": "beta", "reviewers": 2}
    # the store keeps both versions of the notes and the decision with its form values
    rows = store_rows(tmp_path, "SELECT attempt, status, output FROM steps WHERE step_id = 'notes' ORDER BY attempt")
    assert len(rows) == 2 and "Release notes" in rows[0][2] and "Edited notes for 2.1" in rows[1][2]
    [(decision, edited, form)] = store_rows(tmp_path, "SELECT decision, edited, input FROM approvals")
    assert decision == "approved" and "Edited notes" in edited and json.loads(form)["channel"] == "beta"
