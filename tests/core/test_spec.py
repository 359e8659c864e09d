"""Loading pipelines: validation errors are one line with file:line, caught before anything runs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main
from orchestrator_nb.errors import SpecError
from orchestrator_nb.core.loader import load_text

BROKEN = Path(__file__).parent / "broken"

# file -> (line, text the message must contain)
EXPECTED = {
    "cycle.yaml": (3, "dependency cycle: draft -> review -> draft"),
    "unknown_ref.yaml": (6, "steps[1].needs[0]: unknown step 'plann' (did you mean 'plan'?)"),
    "unknown_key.yaml": (4, "steps[0].promt: unknown key 'promt' (did you mean 'prompt'?)"),
    "bad_type.yaml": (5, "steps[0].timeout: expected a number, got 'soon'"),
    "bad_template.yaml": (6, "steps[0].prompt: template syntax error"),
    "duplicate_id.yaml": (5, "steps[1].id: duplicate step id 'ask'"),
    "empty_steps.yaml": (2, "steps: a pipeline needs at least one step"),
    "bad_for_each.yaml": (4, "steps[0].for_each: expected text or a list, got 3"),
    "non_mapping.yaml": (1, "a pipeline must be a mapping with `name` and `steps`, this is a list"),
    "ssti.yaml": (4, "template reads private attribute"),
}


def test_there_are_ten_broken_specs():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_spec_gives_one_line_and_exit_2(name, capsys):
    line, text = EXPECTED[name]
    path = BROKEN / name
    for command in (["validate", str(path)], ["run", str(path)]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.count("\n") == 1, err          # exactly one line
        assert "Traceback" not in err
        assert f"{path}:{line}: " in err, err
        assert text in err, err


def test_broken_spec_from_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "orchestrator_nb.cli.main", "validate", str(BROKEN / "cycle.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().endswith("(remove one of these dependencies)")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nothing_runs_when_the_spec_is_bad(tmp_path):
    marker = tmp_path / "ran"
    text = f"""
name: late-error
steps:
  - id: first
    code: open({str(marker)!r}, "w").write("x")
  - id: second
    needs: [frist]
    code: output = 1
"""
    with pytest.raises(SpecError, match="did you mean 'first'"):
        orc.load(text)
    assert not marker.exists()


def test_ssti_attempts_fail_at_load_and_in_the_sandbox():
    attempts = ["{{ ''.__class__ }}", "{{ x | attr('__class__') }}", "{{ cycler.__init__.__globals__ }}", "{{ steps.__dict__ }}",
                "{{ inputs['__class__'] }}", "{% for c in ''.__class__.__mro__ %}{% endfor %}"]
    for prompt in attempts:
        with pytest.raises(SpecError, match="private"):
            load_text(f"name: x\nsteps:\n  - id: a\n    prompt: {json.dumps(prompt)}\n")
    # getattr through a filter still hits the sandbox at run time
    from jinja2.exceptions import SecurityError
    from orchestrator_nb.spec.templates import Template
    name = "__class__"
    for src in ("{{ x | attr(name) }}", "text {{ x | attr(name) }}"):
        with pytest.raises(SecurityError):
            Template(src).render({"x": "", "name": name})


def test_implicit_dependencies_from_templates_and_code():
    p = orc.load("""
name: deps
steps:
  - id: a
    code: output = 1
  - id: b
    prompt: "use {{ steps.a.output }} and {{ steps['c'].output }}"
  - id: c
    code: output = 2
  - id: d
    code: output = steps["b"] + str(steps.get("c"))
""")
    assert p.steps["b"].deps == {"a", "c"}
    assert p.steps["d"].deps == {"b", "c"}
    assert p.order.index("a") < p.order.index("b") < p.order.index("d")


def test_template_names_are_checked_unless_given():
    text = "name: x\nsteps:\n  - id: a\n    prompt: 'hi {{ topic }}'\n"
    with pytest.raises(SpecError, match="unknown name 'topic'"):
        orc.load(text)
    assert orc.load(text, names=["topic"]).steps["a"].deps == frozenset()


def test_inputs_are_checked_typed_and_defaulted():
    from orchestrator_nb.core.runner import coerce_inputs
    from orchestrator_nb.errors import UsageError
    p = orc.load("""
name: typed
inputs:
  n: {type: integer, default: 3}
  flag: {type: boolean, default: false}
  topic: {type: string, description: what to write about}
  tags: {type: array, default: []}
steps:
  - id: a
    prompt: "{{ inputs.topic }} {{ inputs.n }}"
""")
    assert coerce_inputs(p, {"topic": "tides", "n": "7", "flag": "yes", "tags": "[1, 2]"}) == \
        {"topic": "tides", "n": 7, "flag": True, "tags": [1, 2]}
    with pytest.raises(UsageError, match="missing input 'topic'.*-p topic=VALUE"):
        coerce_inputs(p, {})
    with pytest.raises(UsageError, match="unknown input 'topc'.*did you mean 'topic'"):
        coerce_inputs(p, {"topc": "x"})
    with pytest.raises(UsageError, match="input 'n': expected integer"):
        coerce_inputs(p, {"topic": "x", "n": "many"})
    with pytest.raises(SpecError, match="unknown input 'topik'"):
        orc.load("name: x\ninputs: {topic: {type: string}}\nsteps:\n  - id: a\n    prompt: '{{ inputs.topik }}'\n")


def test_schema_command_prints_a_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    step = schema["$defs"]["StepSpec"]["properties"]
    for key in ("prompt", "python", "code", "sql", "approval", "write", "pipeline", "for_each", "retry", "check"):
        assert key in step
    assert schema["required"] == ["name", "steps"]


def test_python_api_builds_the_same_pipeline():
    p = orc.Pipeline("api", [orc.step("a", code="output = 1"), orc.step("b", prompt="x {{ steps.a.output }}",
                                                                          model="scripted:echo")])
    assert p.steps["b"].deps == {"a"}
    with pytest.raises(SpecError, match="unknown key 'promt'"):
        orc.step("c", promt="x")
    with pytest.raises(SpecError, match="has several actions: prompt, code"):
        orc.step("c", prompt="x", code="y")
    with pytest.raises(SpecError, match="retry.attempts: must be an integer >= 1"):
        orc.step("c", prompt="x", retry={"attempts": 0})


def test_yaml_errors_point_at_the_line(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("name: x\nsteps:\n  - id: a\n    prompt: [unclosed\n")
    with pytest.raises(SpecError) as e:
        orc.load(f)
    assert str(e.value).startswith(f"{f}:5: invalid YAML") or str(e.value).startswith(f"{f}:4: invalid YAML")
    f.write_text("name: x\nsteps:\n  - id: a\n    prompt: one\n    prompt: two\n")
    with pytest.raises(SpecError, match=r":5: steps\[0\]: duplicate key 'prompt'"):
        orc.load(f)


def test_write_paths_that_escape_are_refused_at_load():
    for path in ("../outside.md", "/etc/passwd", "a/../../b.md"):
        with pytest.raises(SpecError, match="write.path"):
            orc.load(f"name: x\nsteps:\n  - id: w\n    write: {{path: {json.dumps(path)}, content: hi}}\n")
