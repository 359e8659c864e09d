"""The two small native additions the dialect needs, tested on native YAML: `while:` steps
(+ `max_iterations`) and inline `pipeline:` mappings (a child pipeline defined in place)."""
from __future__ import annotations

import json

import pytest

from orchestrator_nb.cli.main import main
from orchestrator_nb.errors import SpecError
from orchestrator_nb.core.loader import load_text

COUNTER = """
name: counter
inputs:
  limit: {type: integer, default: 3}
steps:
  - id: loop
    while: "{{ iteration < inputs.limit and (previous is none or previous.double < 100) }}"
    max_iterations: 5
    params: {n: "{{ iteration }}", last: "{{ previous }}"}
    pipeline:
      inputs:
        n: {type: integer}
        last: {type: any, required: false}
      steps:
        - id: double
          code: "output = (inputs['n'] + 1) * 2"
        - id: note
          when: "{{ inputs.n > 0 }}"
          code: "output = 'after ' + str(inputs['last']['double'])"
  - id: total
    code: "output = sum(i['double'] for i in steps['loop'])"
"""


def _run(capsys, *args) -> dict:
    capsys.readouterr()
    code = main(["run", *args, "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    out["code"] = code
    return out


def test_while_repeats_an_inline_pipeline_with_iteration_and_previous(tmp_path, capsys):
    (tmp_path / "counter.yaml").write_text(COUNTER)
    r = _run(capsys, str(tmp_path / "counter.yaml"))
    assert r["code"] == 0 and r["status"] == "succeeded"
    assert r["outputs"]["loop"] == [{"double": 2}, {"double": 4, "note": "after 2"}, {"double": 6, "note": "after 4"}]
    assert r["outputs"]["total"] == 12
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import run_detail
    d = run_detail(Store(None), r["run_id"])
    assert sorted(s["item_index"] for s in d["steps"] if s["step_id"] == "loop") == [-1, 0, 1, 2]
    assert len(d["children"]) == 3 and {c["pipeline"] for c in d["children"]} == {"counter-loop"}


def test_while_stops_at_max_iterations_and_on_a_template_cap(tmp_path, capsys):
    (tmp_path / "counter.yaml").write_text(COUNTER)
    assert len(_run(capsys, str(tmp_path / "counter.yaml"), "-p", "limit=50")["outputs"]["loop"]) == 5
    (tmp_path / "cap.yaml").write_text(COUNTER.replace("max_iterations: 5", 'max_iterations: "{{ inputs.limit - 1 }}"'))
    assert len(_run(capsys, str(tmp_path / "cap.yaml"))["outputs"]["loop"]) == 2


def test_while_on_a_single_step_sees_its_previous_output(tmp_path, capsys):
    (tmp_path / "w.yaml").write_text("""
name: grow
steps:
  - id: grow
    while: "{{ previous is none or previous | length < 4 }}"
    params: {prev: "{{ previous }}"}
    code: "output = (params['prev'] or '') + 'ab'"
  - id: never
    while: "false"
    code: "output = 1"
""")
    r = _run(capsys, str(tmp_path / "w.yaml"))
    assert r["outputs"]["grow"] == ["ab", "abab"]
    assert r["outputs"]["never"] == []


def test_while_failure_fails_the_step_and_resume_continues_after_done_iterations(tmp_path, capsys):
    marker = tmp_path / "ok"
    (tmp_path / "f.yaml").write_text(f"""
name: flaky
steps:
  - id: loop
    while: "{{{{ iteration < 3 }}}}"
    params: {{i: "{{{{ iteration }}}}"}}
    code: |
      import os
      if params['i'] == 1 and not os.path.exists({str(marker)!r}):
          raise RuntimeError("not yet")
      output = params['i']
""")
    r = _run(capsys, str(tmp_path / "f.yaml"))
    assert r["code"] == 1 and "not yet" in r["error"]
    marker.write_text("")
    capsys.readouterr()
    assert main(["resume", r["run_id"], "--json", "--quiet"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["outputs"]["loop"] == [0, 1, 2]
    from orchestrator_nb.store import Store
    from orchestrator_nb.store.queries import run_detail
    rows = [(s["item_index"], s["attempt"], s["status"]) for s in run_detail(Store(None), r["run_id"])["steps"]
            if s["step_id"] == "loop" and s["item_index"] >= 0]
    assert sorted(rows) == [(0, 1, "succeeded"), (1, 1, "failed"), (1, 2, "succeeded"), (2, 1, "succeeded")]


@pytest.mark.parametrize("step, message", [
    ('{id: a, code: "output = 1", while: "true", for_each: [1]}', "steps[0].while: a step takes `for_each` or"),
    ('{id: a, code: "output = 1", max_iterations: 3}', "steps[0].max_iterations: 'max_iterations' only applies"),
    ('{id: a, code: "output = 1", while: "{{ items }}"}', "steps[0].while: unknown name 'items'"),
])
def test_while_mistakes_are_located(step, message):
    with pytest.raises(SpecError) as info:
        load_text(f"name: x\nsteps:\n  - {step}\n", file="x.yaml")
    assert str(info.value).startswith(f"x.yaml:3: {message}"), str(info.value)


def test_inline_pipeline_errors_keep_the_parent_file_and_line():
    text = """name: outer
steps:
  - id: sub
    pipeline:
      steps:
        - id: inner
          prompt: "{{ inputs.nothing }}"
          model: scripted:x
        - id: broken
          promt: hi
"""
    with pytest.raises(SpecError) as info:
        load_text(text, file="outer.yaml")
    assert str(info.value).startswith("outer.yaml:10: steps[0].pipeline.steps[1].promt: unknown key 'promt'")


def test_inline_pipeline_round_trips_through_to_dict():
    p = load_text(COUNTER, file="c.yaml")
    child = p.steps["loop"].to_dict()["pipeline"]
    assert child["name"] == "counter-loop" and [s["id"] for s in child["steps"]] == ["double", "note"]
    from orchestrator_nb.spec.yamlio import dump_yaml
    again = load_text(dump_yaml(p.to_dict()), file="again.yaml")
    assert getattr(again.steps["loop"], "while").source == getattr(p.steps["loop"], "while").source
