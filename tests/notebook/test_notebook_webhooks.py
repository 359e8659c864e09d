"""Runs made in a notebook notify webhooks too, and `%orc show` prints what a waiting run asks."""
from __future__ import annotations

from orchestrator_nb.api import notify
from orchestrator_nb.testing.webhook_receiver import WebhookReceiver

CELL = """%%orc --approval {policy}
name: memo
steps:
  - id: draft
    model: scripted:echo
    prompt: Draft a memo about the harbour
  - id: review
    approval: Is the memo ready to send?
    show: "{{{{ steps.draft.output }}}}"
"""


def test_a_notebook_run_notifies_and_show_prints_the_pending_question(ip, monkeypatch):
    with WebhookReceiver() as hook:
        monkeypatch.setenv("ORC_WEBHOOKS", hook.url)
        ip.cell(CELL.format(policy="defer"))
        result = ip.ns["memo"]
        assert result.status == "waiting"
        (body,) = hook.wait_for(1)
        assert body["status"] == "waiting" and body["source"] == "notebook"
        assert body["question"] == "Is the memo ready to send?"
        assert body["command"] == f"orc approve {result.run_id} review && orc resume {result.run_id}"

        shown, _, _ = ip.cell(f"%orc show {result.run_id}")
        text, html = repr(shown), shown._repr_html_()
        assert "waiting for approval: step review (round 1)" in text and "Is the memo ready to send?" in text
        assert "│ [echo] Draft a memo about the harbour" in text
        assert f"%orc approve {result.run_id} review" in text and f"%orc resume {result.run_id}" in text
        assert "<pre" in html and "[echo] Draft a memo about the harbour" in html
        assert shown.data["pending"][0]["show"] == "[echo] Draft a memo about the harbour"

        ip.cell(CELL.format(policy="auto"))
        assert notify.drain(5)
        assert [p["status"] for p in hook.payloads] == ["waiting", "succeeded"]
