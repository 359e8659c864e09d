"""Richer approvals: approve with edits (later steps see the edit, the store keeps both), a typed
form at the gate (validated, stored, the step's output), and a timeout with a default decision."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

import orchestrator_nb as orc
from orchestrator_nb.api.runner import resume_run, run_pipeline
from orchestrator_nb.cli.main import main as orc_main
from orchestrator_nb.core.approvals import Decision
from orchestrator_nb.errors import SpecError, UsageError
from orchestrator_nb.store.queries import decide

GATED = {"name": "gated", "steps": [
    {"id": "plan", "code": "output = 'the draft plan'"},
    {"id": "review", "approval": "Is the plan right?", "revise": "plan",
     "input": {"schema": {"type": "object", "properties": {"budget": {"type": "number", "minimum": 0}},
                          "required": ["budget"]}}},
    {"id": "final", "code": "output = steps['plan'] + ' / budget ' + str(steps['review']['input']['budget'])"}]}


def sql(query, db):
    return orc.sql(query, db=db)[1]


def test_approve_with_edits_and_a_form_from_the_command_line(tmp_path, capsys):
    db = str(tmp_path / "s.duckdb")
    first = asyncio.run(run_pipeline(orc.load(GATED), db=db))
    assert first.status == "waiting"
    detail = orc.show(first.run_id, db=db)
    [pending] = detail["pending"]
    edit = tmp_path / "plan.txt"
    edit.write_text("the plan, as the reviewer wants it")
    base = ["approve", first.run_id, "review", "--db", db]
    assert orc_main(base + ["--input", '{"budget": -3}']) == 2
    assert "input: $.budget: -3 is less than the minimum of 0" in capsys.readouterr().err
    assert orc_main(base + ["--edit", str(edit)]) == 2
    assert "'budget' is a required property" in capsys.readouterr().err
    assert orc_main(base + ["--edit", str(edit), "--input", '{"budget": 12.5}']) == 0
    done = asyncio.run(resume_run(first.run_id, db=db))
    assert done.status == "succeeded", done.error
    assert done["final"] == "the plan, as the reviewer wants it / budget 12.5"
    assert done["review"]["input"] == {"budget": 12.5} and done["review"]["edited"] == "plan"
    # both versions of the plan are kept, and the decision carries the edit and the form
    plans = sql(f"SELECT attempt, output FROM steps WHERE run_id = '{first.run_id}' AND step_id = 'plan' "
                "ORDER BY attempt", db)
    assert [p[1] for p in plans] == ['"the draft plan"', '"the plan, as the reviewer wants it"']
    [(edited, form)] = sql(f"SELECT edited, input FROM approvals WHERE run_id = '{first.run_id}'", db)
    assert (json.loads(edited), json.loads(form)) == ("the plan, as the reviewer wants it", {"budget": 12.5})


def test_a_live_approver_edit_reaches_the_next_step(tmp_path):
    class Editor:
        waits = True

        async def decide(self, req):
            assert req.editable and req.input_schema["required"] == ["budget"]
            return Decision("approved", decided_by="ann", mode="interactive", edited="edited live",
                            input={"budget": 3})

    r = asyncio.run(run_pipeline(orc.load(GATED), db=False, approver=Editor()))
    assert r.status == "succeeded" and r["final"] == "edited live / budget 3"


def test_a_form_that_does_not_fit_fails_the_gate(tmp_path):
    class Sloppy:
        waits = True

        async def decide(self, req):
            return Decision("approved", input={"budget": "lots"})

    r = asyncio.run(run_pipeline(orc.load(GATED), db=False, approver=Sloppy()))
    assert r.status == "failed" and "does not fit the gate's form: $.budget: 'lots' is not of type 'number'" in r.error


def test_a_timeout_decides_by_default_live_and_after_a_resume(tmp_path):
    spec = {"name": "t", "steps": [{"id": "a", "code": "output = 1"},
                                   {"id": "ok", "approval": "Fine?", "timeout": 0.3, "on_timeout": "approve"},
                                   {"id": "b", "code": "output = steps['ok']['decided_by']"}]}

    class Silent:
        waits = True

        async def decide(self, req):
            await asyncio.sleep(30)

    t = time.monotonic()
    r = asyncio.run(run_pipeline(orc.load(spec), db=False, approver=Silent()))
    assert r.status == "succeeded" and r["b"] == "timeout" and time.monotonic() - t < 5
    # deferred headless: the time counts while the run waits; a later resume decides by default
    db = str(tmp_path / "s.duckdb")
    first = asyncio.run(run_pipeline(orc.load(spec), db=db))
    assert first.status == "waiting"
    time.sleep(0.4)
    again = asyncio.run(resume_run(first.run_id, db=db))
    assert again.status == "succeeded" and again["b"] == "timeout"


def test_no_default_decision_means_the_gate_fails_when_the_time_is_up():
    spec = {"name": "t", "steps": [{"id": "a", "code": "output = 1"},
                                   {"id": "ok", "approval": "Fine?", "timeout": 0.2}]}

    class Silent:
        waits = True

        async def decide(self, req):
            await asyncio.sleep(30)

    r = asyncio.run(run_pipeline(orc.load(spec), db=False, approver=Silent()))
    assert r.status == "failed" and "no decision within 0.2 s" in r.error


def test_bad_gate_definitions_are_one_line():
    with pytest.raises(SpecError, match="'on_timeout' needs `timeout:`"):
        orc.step("g", approval="ok?", on_timeout="approve")
    with pytest.raises(SpecError, match="input.schema: the form's schema must be an object"):
        orc.step("g", approval="ok?", input={"schema": {"type": "string"}})
    with pytest.raises(SpecError, match="'input' only applies to approval steps"):
        orc.step("g", prompt="hi", input={"schema": {"type": "object"}})


def test_edits_where_nothing_is_reviewed_are_refused(tmp_path):
    db = str(tmp_path / "s.duckdb")
    r = asyncio.run(run_pipeline(orc.load({"name": "n", "steps": [{"id": "g", "approval": "Go?"}]}), db=db))
    with pytest.raises(UsageError, match="nothing to edit"):
        decide(orc.Store(db), r.run_id, "g", "approve", edited="x")
    with pytest.raises(UsageError, match="this gate has no form"):
        decide(orc.Store(db), r.run_id, "g", "approve", input={"a": 1})


KEYWORDS = {"name": "kw", "steps": [
    {"id": "draft", "prompt": "Write a line", "model": "scripted:echo"},
    {"id": "kw", "code": "output = {'keywords': ['a', 'b']}",
     "output": {"schema": {"type": "object", "properties": {"keywords": {"type": "array", "maxItems": 3,
                                                                          "items": {"type": "string"}}},
                           "required": ["keywords"]}}},
    {"id": "check_kw", "approval": "Keywords right?", "revise": "kw"},
    {"id": "check_draft", "approval": "Line right?", "revise": "draft"},
    {"id": "n", "code": "output = len(steps['kw']['keywords'])", "needs": ["check_kw", "check_draft"]}]}


def test_an_edit_must_fit_the_reviewed_steps_output(tmp_path, capsys):
    """An edit was stored whatever it was: a string for an object with a schema, an object for a
    model's text; later steps then failed far away, or used a repr."""
    db = str(tmp_path / "s.duckdb")
    first = asyncio.run(run_pipeline(orc.load(KEYWORDS), db=db))
    assert first.status == "waiting"
    bad = tmp_path / "bad.json"
    for text, words in [('"just a string"', "$: 'just a string' is not of type 'object'"),
                        ('{"keywords": "notalist"}', "$.keywords: 'notalist' is not of type 'array'"),
                        ('{"keywords": ["a", "b", "c", "d", "e"]}', "is too long")]:
        bad.write_text(text)
        assert orc_main(["approve", first.run_id, "check_kw", "--db", db, "--edit", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("orc: error: edited: ") and words in err and "the output of 'kw'" in err, err
    good = tmp_path / "good.json"
    good.write_text('{"keywords": ["x"]}')
    assert orc_main(["approve", first.run_id, "check_kw", "--db", db, "--edit", str(good)]) == 0
    assert asyncio.run(resume_run(first.run_id, db=db)).status == "waiting"  # at the next gate
    with pytest.raises(UsageError, match="edited: .* is not of type 'string'.*give text"):
        decide(orc.Store(db), first.run_id, "check_draft", "approve", edited={"an": "object"})
    line = tmp_path / "line.txt"
    line.write_text("42")  # a text output's edit is the file's text, even when it reads as JSON
    assert orc_main(["approve", first.run_id, "check_draft", "--db", db, "--edit", str(line)]) == 0
    done = asyncio.run(resume_run(first.run_id, db=db))
    assert done.status == "succeeded", done.error
    assert done["n"] == 1 and done["draft"] == "42"


def test_a_live_edit_that_does_not_fit_fails_the_gate():
    class Sloppy:
        waits = True

        async def decide(self, req):
            return Decision("approved", edited="just a string")
    r = asyncio.run(run_pipeline(orc.load(KEYWORDS), db=False, approver=Sloppy()))
    assert r.status == "failed"
    assert "the reviewer's edit of 'kw' does not fit its output: $: 'just a string' is not of type 'object'" in r.error
