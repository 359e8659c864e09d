"""The progress view, approval cards and the approver, driven by real runs (widgets without a
frontend: ipywidgets works, messages go nowhere; clicks are Button.click())."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.notebook.approval import NotebookApprover
from orchestrator_nb.notebook.frontend import ViewProbe
from orchestrator_nb.notebook.launch import ProgressRouter
from orchestrator_nb.notebook.progress import MAX_ROWS, RunView
from orchestrator_nb.providers.scripted import script
from orchestrator_nb.core.loader import load_text
from orchestrator_nb.store import Store

FANOUT = """name: fan
steps:
  - id: topics
    code: output = ["moon", "sun", "wind"]
  - id: write
    for_each: "{{ steps.topics.output }}"
    model: scripted:echo
    prompt: Write about {{ item }}
  - id: review
    approval: Good?
    needs: [write]
  - id: final
    needs: [review]
    code: output = len(steps["write"])
"""


def run(coro):
    return asyncio.run(coro)


async def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_progress_rows_fanout_counter_streaming_and_final_state():
    script([{"match": "Write about", "reply": "A long streamed answer about the topic", "delay": 0.05}])
    pipeline = load_text(FANOUT)

    async def main():
        view = RunView(pipeline, interval=0.05)
        result = await run_pipeline(pipeline, db=Store(), approval="auto", subscribers=[view])
        return view, result

    view, result = run(main())
    assert result.status == "succeeded"
    row = view.rows["write"]
    assert row.items == 3 and row.counts() == (3, 0, 0)
    table = view.table.value
    assert table.count("<tr data-step=") == 4                     # one row per step, the fan-out collapsed
    assert "3/3" in table and "scripted:echo" in table
    assert 'data-status="succeeded"' in view.header.value or "data-status='succeeded'" in view.header.value
    assert view.bar.value == view.bar.max and view.bar.bar_style == "success"
    assert view.stop_button.layout.display == "none"


def test_the_streaming_text_of_the_active_step():
    from orchestrator_nb.core.events import Event
    view = RunView(load_text(FANOUT))
    view.handle(Event("run_started", "r1", data={"pipeline": "fan"}))
    view.handle(Event("step_started", "r1", "write", -1, 1, {"items": 2}))
    for word in ("Tides ", "rise ", "and <fall>"):
        view.handle(Event("token", "r1", "write", 0, 1, {"text": word}))
    view.flush()
    assert "write</b> streaming" in view.stream.value and "Tides rise and &lt;fall&gt;" in view.stream.value
    view.handle(Event("step_finished", "r1", "write", -1, 1, {"status": "succeeded"}))
    view.flush()
    assert view.stream.value == ""                                  # hidden once the step is done
    view.handle(Event("token", "r1", "write", 1, 2, {"text": "again"}))
    view.flush()
    assert "again" in view.stream.value and "Tides" not in view.stream.value


def test_a_thousand_step_run_does_not_flood_the_frontend():
    steps = "\n".join(f"  - id: s{i}\n    code: output = {i}" for i in range(1000))
    big = load_text(f"name: big\nsteps:\n{steps}\n  - id: many\n    for_each: \"{{{{ range(1000) | list }}}}\"\n"
                    f"    model: scripted:echo\n    prompt: item {{{{ item }}}}\n")
    script([{"match": "item", "reply": "ok", "delay": 0.001}])

    async def main():
        view = RunView(big, interval=0.25)
        sent = []
        for w in (view.header, view.bar, view.table, view.stream):
            w.observe(lambda ch: sent.append(ch["name"]), names=["value"])
        t0 = time.monotonic()
        result = await run_pipeline(big, db=False, subscribers=[view])
        return view, result, sent, time.monotonic() - t0

    view, result, sent, took = run(main())
    assert result.status == "succeeded"
    assert len(view.rows) == 1001
    assert len(sent) <= 4 * (took / 0.25 + 3), (len(sent), took)  # at most one redraw per interval
    assert view.table.value.count("<tr data-step=") <= MAX_ROWS
    assert "more steps" in view.table.value
    assert len(view.table.value) < 20_000
    print(f"1,001 steps + 1,000 items in {took:.1f}s: {len(sent)} widget updates, {view.draws} draws")


def _approval_run(approver, view, pipeline_text=FANOUT, **kw):
    pipeline = load_text(pipeline_text)
    return run_pipeline(pipeline, db=Store(), approver=approver, subscribers=[view], approval="ask", **kw)


async def _watched():
    return True


def test_approve_click_records_an_interactive_decision():
    async def main():
        view = RunView(load_text(FANOUT))
        approver = NotebookApprover(store=Store(), view=view, watched=_watched)
        task = asyncio.ensure_future(_approval_run(approver, view))
        await wait_for(lambda: approver.cards)
        card = approver.cards[0]
        assert "Good?" in card.title.value and card.widget in view.cards.children
        card.approve.click()
        return await task, card

    result, card = run(main())
    assert result.status == "succeeded" and result["final"] == 3
    assert result["review"]["decision"] == "approved"
    assert card.approve.disabled and "approved" in card.message.value
    with Store().connect() as con:
        assert con.execute("SELECT decision, mode FROM approvals").fetchall() == [("approved", "interactive")]


def test_request_changes_needs_a_comment_then_regenerates_and_asks_again():
    text = ("name: rc\nsteps:\n  - id: draft\n    model: scripted:echo\n    prompt: Draft it\n"
            "  - id: check\n    approval: Ship it?\n    show: \"{{ steps.draft.output }}\"\n")

    async def main():
        view = RunView(load_text(text))
        approver = NotebookApprover(store=Store(), view=view, watched=_watched)
        task = asyncio.ensure_future(_approval_run(approver, view, text))
        await wait_for(lambda: approver.cards)
        first = approver.cards[0]
        first.changes.click()
        assert "Write what to change" in first.message.value and not first.future.done()
        first.comment.value = "add a title"
        first.changes.click()
        await wait_for(lambda: len(approver.cards) == 2)
        second = approver.cards[1]
        assert "round 2" in second.title.value and "add a title" in second.shown.value
        assert "changes requested" in first.message.value and "regenerating <b>draft</b>" in first.message.value
        second.approve.click()
        return await task

    result = run(main())
    assert result.status == "succeeded" and "add a title" in result["draft"]
    with Store().connect() as con:
        rows = con.execute("SELECT round, decision, comment, mode FROM approvals ORDER BY round").fetchall()
    assert rows == [(1, "changes_requested", "add a title", "interactive"), (2, "approved", None, "interactive")]


def test_reject_click_fails_the_run():
    async def main():
        view = RunView(load_text(FANOUT))
        approver = NotebookApprover(store=Store(), view=view, watched=_watched)
        task = asyncio.ensure_future(_approval_run(approver, view))
        await wait_for(lambda: approver.cards)
        approver.cards[0].comment.value = "too short"
        approver.cards[0].reject.click()
        return await task

    result = run(main())
    assert result.status == "failed" and "too short" in result.error


def test_a_decision_made_elsewhere_releases_the_card():
    from orchestrator_nb.store.queries import decide, pending_approvals

    async def main():
        view = RunView(load_text(FANOUT))
        approver = NotebookApprover(store=Store(), view=view, watched=_watched, poll=0.05)
        task = asyncio.ensure_future(_approval_run(approver, view))
        await wait_for(lambda: approver.cards)

        def shell_user():
            store = Store()
            deadline = time.monotonic() + 10
            while not pending_approvals(store) and time.monotonic() < deadline:
                time.sleep(0.05)
            pending = pending_approvals(store)
            decide(store, pending[0]["run_id"], "review", "approve", "from a shell", "ops", "cli")
        thread = threading.Thread(target=shell_user)
        thread.start()
        result = await task
        thread.join()
        return result, approver.cards[0]

    result, card = run(main())
    assert result.status == "succeeded"
    assert "from the command line" in card.message.value and "ops" in card.message.value
    with Store().connect() as con:
        assert con.execute("SELECT decision, mode FROM approvals").fetchall() == [("approved", "cli")]


@pytest.mark.parametrize("env, expected", [(None, "waiting"), ("auto", "succeeded"), ("ask", "waiting")])
def test_nobody_watching_follows_the_policy(monkeypatch, env, expected):
    if env:
        monkeypatch.setenv("ORC_APPROVAL", env)

    async def nobody():
        return False

    async def main():
        view = RunView(load_text(FANOUT))
        approver = NotebookApprover(store=Store(), view=view, watched=nobody)
        return await _approval_run(approver, view), approver

    result, approver = run(main())
    assert result.status == expected and approver.cards == []


def test_explicit_policies_never_show_a_card():
    async def main():
        view = RunView(load_text(FANOUT))
        approver = NotebookApprover(store=Store(), view=view, watched=_watched)
        return await run_pipeline(load_text(FANOUT), db=Store(), approver=approver, subscribers=[view],
                                  approval="reject"), approver

    result, approver = run(main())
    assert result.status == "failed" and approver.cards == []


def test_view_probe_and_the_switch_to_text(capsys):
    async def main():
        import ipywidgets as w
        seen = w.HTML()
        probe = ViewProbe(seen, timeout=5)
        seen._view_count = 1                          # what JupyterLab reports for a rendered view
        watched = await probe.result
        lonely = RunView(load_text(FANOUT))
        probe2 = ViewProbe(lonely.widget, timeout=0.2)
        router = ProgressRouter("probe", lonely)
        switched = []
        router.follow(probe2, on_text=lambda: switched.append(True))
        result = await run_pipeline(load_text(FANOUT), db=False, subscribers=[router], approval="auto")
        late = ViewProbe(w.HTML(), timeout=0)
        await asyncio.sleep(0.01)
        late.widget._view_count = 1
        return watched, await router.watched(), switched, result, late.late_view

    watched, router_watched, switched, result, late = run(main())
    out = capsys.readouterr().out
    assert watched is True and router_watched is False and switched == [True] and late is True
    assert result.status == "succeeded"
    assert "run " in out and "topics" in out and "succeeded" in out    # the buffered events, as text
