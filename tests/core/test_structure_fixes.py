"""Bugs found reading the code as a reviewer (issue 11), each pinned by a test that failed before."""
from __future__ import annotations

import asyncio
import shutil

import pytest

import orchestrator_nb as orc
from orchestrator_nb.api.runner import run_pipeline
from orchestrator_nb.cli.main import main as orc_main
from orchestrator_nb.errors import SpecError, UsageError
from orchestrator_nb.spec.format import json_schema
from orchestrator_nb.store import Store


def test_a_retried_sync_step_raising_timeout_error_is_retried():
    """It failed with UnboundLocalError (the step's `timeout` was read before it was assigned)."""
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("the service did not answer")
        return "done"

    p = orc.Pipeline("flaky", [orc.step("s", python=flaky, retry={"attempts": 3, "backoff": "none"})])
    r = p.run(db=False)
    assert (r.status, r["s"], len(calls)) == ("succeeded", "done", 3)


def test_a_sync_step_raising_timeout_error_without_retry_names_it():
    def slow():
        raise TimeoutError("upstream timed out")

    r = orc.Pipeline("once", [orc.step("s", python=slow)]).run(db=False)
    assert r.status == "failed" and r.error == "step 's': TimeoutError: upstream timed out"


def test_deleting_the_store_folder_in_a_live_process_starts_a_fresh_store(tmp_path):
    """Every later run failed with a raw CatalogException: the schema was 'migrated' in memory only."""
    db = tmp_path / ".orc" / "orc.duckdb"
    p = orc.Pipeline("again", [orc.step("s", python=lambda: 1)])
    assert p.run(db=str(db)).status == "succeeded"
    shutil.rmtree(tmp_path / ".orc")
    r = p.run(db=str(db))
    assert r.status == "succeeded"
    assert [x["run_id"] for x in orc.runs(db=str(db))] == [r.run_id]


@pytest.mark.parametrize("bad", ['run"1', "a b", "", "../x", "x" * 65, "ü", "-x", "a.b"])
def test_a_run_id_must_be_safe(bad):
    """`run_id='run"1'` was accepted and the run 'succeeded' with 0 step rows (hand-built JSON)."""
    p = orc.Pipeline("ids", [orc.step("s", python=lambda: 1)])
    with pytest.raises(UsageError, match="invalid run id"):
        asyncio.run(run_pipeline(p, run_id=bad))


def test_a_chosen_run_id_is_recorded_with_its_steps():
    p = orc.Pipeline("ids", [orc.step("s", python=lambda: 1)])
    r = asyncio.run(run_pipeline(p, run_id="nightly-2026-12-06_a"))
    assert r.run_id == "nightly-2026-12-06_a"
    assert [s["step_id"] for s in orc.show("nightly-2026-12-06_a")["steps"]] == ["s"]


def test_a_chosen_run_id_that_names_a_stored_run_is_refused_and_the_stored_run_kept(tmp_path):
    """A second run given the same id overwrote the first one's row and steps."""
    db = str(tmp_path / "orc.duckdb")
    first = orc.Pipeline("first", [orc.step("a", python=lambda: 1), orc.step("b", python=lambda: 2)])
    assert orc.run(first, db=db, run_id="nightly").status == "succeeded"
    other = orc.Pipeline("other", [orc.step("c", python=lambda: 3)])
    with pytest.raises(UsageError, match=r"run id 'nightly' is taken: .* holds a succeeded run with it; pick another"):
        orc.run(other, db=db, run_id="nightly")
    kept = orc.show("nightly", db=db)
    assert kept["run"]["pipeline"] == "first" and [s["step_id"] for s in kept["steps"]] == ["a", "b"]
    assert orc.run(other, db=db, run_id="nightly-2").status == "succeeded"  # another id runs
    assert orc.run(other, db=False, run_id="nightly").status == "succeeded"  # no store: nothing to overwrite


def test_the_python_api_and_yaml_accept_the_same_retry_policy(tmp_path):
    """`retry.jitter=5` was accepted by orc.step and refused in YAML: one definition now."""
    with pytest.raises(SpecError, match=r"retry.jitter: must be a number <= 1, not 5"):
        orc.step("s", prompt="hi", retry={"attempts": 2, "jitter": 5})
    with pytest.raises(SpecError, match=r"jitter: must be a number <= 1, not 5"):
        orc.RetryPolicy(attempts=2, jitter=5)
    f = tmp_path / "p.yaml"
    f.write_text("name: p\nsteps:\n  - id: s\n    prompt: hi\n    retry: {attempts: 2, jitter: 5}\n")
    with pytest.raises(SpecError, match=r"p.yaml:5: steps\[0\].retry.jitter: must be a number <= 1, not 5"):
        orc.load(str(f))


@pytest.mark.parametrize("fields, message", [
    ({"prompt": "hi", "timeout": "soon"}, "timeout: expected a number, got 'soon'"),
    ({"prompt": "hi", "promt": "x"}, "unknown key 'promt' (did you mean 'prompt'?)"),
    ({"prompt": "hi", "sql": "SELECT 1"}, "has several actions: prompt, sql"),
    ({"model": "local"}, "has no action"),
    ({"prompt": "hi", "check": {"max_attempts": 0, "expr": "True"}}, "check.max_attempts: must be an integer >= 1"),
    ({"prompt": "hi", "output": "yaml"}, "output: expected one of text, json, markdown"),
])
def test_python_and_yaml_give_the_same_error(tmp_path, fields, message):
    with pytest.raises(SpecError) as in_python:
        orc.step("s", **fields)
    with pytest.raises(SpecError) as in_yaml:
        orc.load({"name": "p", "steps": [{"id": "s", **fields}]})
    assert message in str(in_python.value)
    assert message in str(in_yaml.value)


def test_code_written_as_a_template_says_code_is_python():
    """`{{ n }}` inside `code:` gave a bare NameError at run time."""
    with pytest.raises(SpecError, match=r"`code:` is Python, not a template.*params"):
        orc.step("s", code="output = {{ n }} + 1")


def test_a_name_error_in_code_says_what_code_can_see():
    r = orc.Pipeline("c", [orc.step("s", code="output = n + 1")]).run(db=False)
    assert r.status == "failed"
    assert "name 'n' is not defined: `code:` is Python, not a template" in r.error
    assert "pass other values with params:" in r.error


def test_the_json_schema_accepts_every_example_and_refuses_what_the_loader_refuses(tmp_path):
    """`orc schema` and the loader come from one definition: the jsonschema library agrees."""
    import jsonschema
    import yaml
    from pathlib import Path
    validator = jsonschema.Draft202012Validator(json_schema())
    examples = Path(__file__).resolve().parents[2] / "examples"
    for f in list(examples.glob("*.yaml")) + [Path(orc.__file__).parent / "pipelines" / "project.yaml"]:
        data = yaml.safe_load(f.read_text())
        if "steps" in data and isinstance(data["steps"], list) and all("id" in s for s in data["steps"]):
            assert not list(validator.iter_errors(data)), f
    for bad in ({"name": "p", "steps": [{"id": "s", "prompt": "hi", "timeout": "soon"}]},
                {"name": "p", "steps": [{"id": "s", "prompt": "hi", "retry": {"jitter": 5}}]},
                {"name": "p", "steps": [{"id": "s", "prompt": "hi", "promt": 1}]},
                {"name": "p", "steps": []}):
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(SpecError):
            orc.load(bad)


def test_an_unknown_model_given_on_the_command_line_is_blamed_on_the_option(tmp_path, capsys):
    """`--model nosuch:model` was blamed on a line of the file."""
    f = tmp_path / "p.yaml"
    f.write_text("name: p\nsteps:\n  - id: s\n    prompt: hi\n")
    assert orc_main(["run", str(f), "--model", "nosuch:model", "--db", str(tmp_path / "o.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("orc: error: --model nosuch:model: unknown provider 'nosuch'"), err
    assert "p.yaml:" not in err


def test_a_sql_step_reading_steps_tables_waits_for_those_steps_without_needs():
    """It failed with a raw DuckDB CatalogException when `needs` was left out."""
    p = orc.load({"name": "q", "steps": [
        {"id": "q", "sql": "SELECT count(*) AS n FROM steps_rows"},
        {"id": "rows", "code": "output = [{'a': 1}, {'a': 2}]"}]})
    assert p.steps["q"].deps == {"rows"}
    r = p.run(db=False)
    assert r.status == "succeeded" and r["q"] == [{"n": 2}]


def test_a_code_step_in_a_while_loop_sees_iteration_and_previous():
    p = orc.load({"name": "w", "steps": [
        {"id": "w", "while": "iteration < 3", "code": "output = (previous or 0) + iteration + 1"}]})
    r = p.run(db=False)
    assert r.status == "succeeded" and r["w"] == [1, 3, 6]


def test_cache_export_makes_the_folder_it_writes_into(tmp_path, capsys):
    target = tmp_path / "new" / "dir" / "c.jsonl"
    assert orc_main(["cache", "export", str(target), "--db", str(tmp_path / "s.duckdb")]) == 0, capsys.readouterr()
    assert target.exists()


def test_braces_in_one_line_code_are_a_spec_error_at_its_line():
    """Found by the fuzz test: the hint's own text was read as the line number (ValueError)."""
    from orchestrator_nb.core.loader import load_text
    from orchestrator_nb.errors import SpecError
    with pytest.raises(SpecError) as e:
        load_text("name: a\nsteps:\n- id: a\n  code: '{{ steps.a.output }}'\n")
    assert e.value.line == 4 and "is Python, not a template" in str(e.value)


@pytest.mark.parametrize("decl, message", [
    ("{type: string, description: What to write about, in short}",
     "inputs.topic.in short: unknown key 'in short' (inside {...} a comma ends an unquoted value"),
    ("{type: string, desciption: x}", "unknown key 'desciption' (did you mean 'description'?)"),
])
def test_an_input_declaration_with_a_stray_key_is_an_error_at_its_line(decl, message):
    """A comma in an unquoted flow-mapping value made a key: the input silently became `any`."""
    from orchestrator_nb.core.loader import load_text
    with pytest.raises(SpecError) as e:
        load_text(f"name: a\ninputs:\n  topic: {decl}\nsteps:\n- id: a\n  code: output = 1\n")
    assert e.value.line == 3 and message in str(e.value)


def test_an_object_default_in_the_short_form_is_still_a_default():
    p = orc.load({"name": "a", "inputs": {"opts": {"a": 1, "kind": "x"}}, "steps": [{"id": "a", "code": "output = 1"}]})
    assert p.run(db=False).status == "succeeded"
