"""Acceptance 2: a mistake in a py-orc file is one line naming the original file, line and
py-orc path (not the translated one), with a hint; nothing runs."""
from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator_nb.cli.main import main
from orchestrator_nb.errors import SpecError
from orchestrator_nb.core.loader import load

HEAD = "id: broken\nparameters:\n  topic: tea\nsteps:\n"   # 4 lines; the steps below start on line 5

CASES = [
    ("unknown step key", """
  - id: a
    action: generate_text
    dependson: [b]
    parameters: {prompt: hi}
""", 7, "steps[0].dependson: unknown key 'dependson' (did you mean 'depends_on'?)"),
    ("unknown dependency", """
  - id: draft
    action: generate_text
    parameters: {prompt: hi}
  - id: save
    action: generate_text
    parameters: {prompt: "{{ draft }}"}
    dependencies:
      - draft
      - drafts
""", 13, "steps[1].dependencies[1]: unknown step 'drafts' (did you mean 'draft'?)"),
    ("unsupported tool", """
  - id: search
    tool: web-search
    action: search
    parameters: {query: "{{ topic }}"}
""", 6, "steps[0].tool: tool 'web-search' is not supported (web search is not supported"),
    ("template syntax error inside a block", """
  - id: a
    action: generate_text
    parameters:
      prompt: |
        First line about {{ topic }}
        Second line {{ topic
        Third line
""", 11, "steps[0].parameters.prompt: template syntax error:"),
    ("unknown filter", """
  - id: a
    action: generate_text
    parameters:
      prompt: |
        One {{ topic }}
        Two {{ topic | shout }}
""", 10, "steps[0].parameters.prompt: template syntax error: no filter named 'shout'"),
    ("unknown name inside a loop body", """
  - id: each
    for_each: "{{ [1, 2] }}"
    steps:
      - id: inner
        action: generate_text
        parameters:
          prompt: "Item {{ $item }} of {{ mystery }}"
""", 11, "steps[0].steps[0].parameters.prompt: unknown name 'mystery' in template (declare it under parameters"),
    ("unknown name deep in a block", """
  - id: a
    action: generate_text
    parameters:
      prompt: |
        About {{ topic }}
        and {{ topics }}
""", 10, "steps[0].parameters.prompt: unknown name 'topics' in template"),
    ("dependency cycle", """
  - id: a
    action: generate_text
    parameters: {prompt: "{{ b }}"}
  - id: b
    action: generate_text
    parameters: {prompt: "{{ a }}"}
""", 5, "steps[0]: dependency cycle: a -> b -> a"),
    ("jump backwards", """
  - id: a
    action: generate_text
    parameters: {prompt: hi}
  - id: b
    action: generate_text
    parameters: {prompt: hi}
    on_success: a
""", 11, "steps[1].on_success: 'a' is not after 'b' (jumps only go forward"),
    ("jump to nowhere", """
  - id: a
    action: generate_text
    parameters: {prompt: hi}
    on_failure: recovery
""", 8, "steps[0].on_failure: unknown step 'recovery'"),
    ("AUTO tag left open", """
  - id: a
    action: generate_text
    parameters:
      prompt: hi
      model: <AUTO>pick one
""", 9, "steps[0].parameters.model"),
    ("timeout is not a number", """
  - id: a
    tool: terminal
    action: execute
    timeout: soon
    parameters: {command: ls}
""", 8, "steps[0].timeout: must be a number of seconds > 0, not 'soon'"),
    ("unknown model", """
  - id: a
    action: generate_text
    parameters:
      prompt: hi
      model: my-private-model
""", 9, "steps[0].parameters.model: unknown model 'my-private-model' (write provider:model"),
    ("bad YAML after AUTO tags", """
  - id: a
    action: generate_text
    parameters:
      prompt: <AUTO>Choose: one</AUTO>
     bad: indentation
""", 9, "invalid YAML"),
    ("duplicate id in a loop body", """
  - id: loop
    while: "{{ $iteration < 2 }}"
    steps:
      - id: x
        action: generate_text
        parameters: {prompt: hi}
      - id: x
        action: generate_text
        parameters: {prompt: again}
""", 11, "steps[0].steps[1].id: duplicate step id 'x'"),
    ("step without an action", """
  - id: a
    parameters: {prompt: hi}
""", 5, "steps[0]: a step needs an `action`"),
    ("on_false without a condition", """
  - id: a
    action: generate_text
    parameters: {prompt: hi}
    on_false: b
  - id: b
    action: generate_text
    parameters: {prompt: hi}
""", 8, "steps[0].on_false: on_false needs a `condition`/`if`"),
    ("structured output without schema", """
  - id: a
    action: generate_structured
    parameters:
      prompt: hi
""", 7, "steps[0].parameters: generate_structured needs parameters.schema"),
    ("unknown action parameter", """
  - id: a
    action: generate_text
    parameters:
      prompt: hi
      temprature: 0.2
""", 9, "steps[0].parameters.temprature: unknown parameter 'temprature' for action generate_text "
        "(did you mean 'temperature'?)"),
    ("ids that collide once made native", """
  - id: fetch-data
    action: generate_text
    parameters: {prompt: hi}
  - id: fetch_data
    action: generate_text
    parameters: {prompt: hi}
""", 8, "steps[1].id: step id collides with 'fetch_data'"),
    ("undeclared parameter", """
  - id: a
    action: generate_text
    parameters:
      prompt: "About {{ parameters.topics }}"
""", 8, "steps[0].parameters.prompt: unknown input 'topics'"),
    ("a py-orc key we do not support", """
  - id: a
    action: generate_text
    parameters: {prompt: hi}
    on_error: Use cached data when the API fails
""", 8, "steps[0].on_error: 'on_error' is not supported (error handlers are not supported: use on_failure"),
    ("free-text action", """
  - id: a
    action: Summarise the document
""", 6, "steps[0].action: action 'Summarise the document' is not supported (write it as action: generate_text"),
]


@pytest.mark.parametrize("what, body, line, message", CASES, ids=[c[0] for c in CASES])
def test_error_names_original_file_line_and_path(tmp_path, what, body, line, message):
    path = tmp_path / "broken.yaml"
    path.write_text(HEAD + body.lstrip("\n"), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load(path)
    err = info.value
    text = str(err)
    assert "\n" not in text
    assert err.file == str(path) and err.line == line, text
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text, text


def test_orc_validate_prints_the_location_and_exits_2(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(HEAD + CASES[1][1].lstrip("\n"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"orc: error: {path}:13: steps[1].dependencies[1]: unknown step 'drafts' "
                   "(did you mean 'draft'?)")


@pytest.mark.slow
def test_orc_run_subprocess_reports_the_location_before_running_anything(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(HEAD + CASES[5][1].lstrip("\n"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "orchestrator_nb", "run", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"orc: error: {path}:11: steps[0].steps[0].parameters.prompt: unknown name")
    assert not (tmp_path / ".orc").exists() or "runs" not in proc.stdout
