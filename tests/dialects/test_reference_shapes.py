"""Shapes the reference project's own example files use: the top-level blocks its upgrade tool
writes (`enhanced_outputs`, `metadata`, parameters repeated under `inputs`), and AUTO tags with a
`task` attribute. Fixtures are written here, in those shapes."""
from __future__ import annotations

import json

import pytest

from orchestrator_nb.cli.main import main
from orchestrator_nb.core.loader import load_text
from orchestrator_nb.errors import SpecError

UPGRADED = """\
id: upgraded
name: An upgraded file
version: 1.0.0
parameters:
  topic: &p1
    type: string
    default: tea
    description: What to write about
  folder: &p2
    type: string
    default: out
steps:
- id: save
  tool: filesystem
  action: write
  parameters:
    path: '{{ folder }}/{{ topic }}.md'
    content: 'About {{ topic }}'
outputs:
  file: '{{ folder }}/{{ topic }}.md'
metadata:
  version: 2.0.0
  migration_notes: Enhanced with new architecture features
inputs:
  topic:
    type: string
    default: *p1
    description: 'Parameter: topic'
    required: false
  folder:
    type: string
    default: *p2
enhanced_outputs:
  file:
    description: 'Enhanced output: file'
    value: '{{ folder }}/{{ topic }}.md'
    type: auto-detect
  words:
    description: 'Enhanced output: words'
    value: '{{ topic | length }}'
    type: auto-detect
"""


def test_an_upgraded_file_loads_and_its_enhanced_outputs_are_rendered(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text(UPGRADED, encoding="utf-8")
    assert main(["validate", str(tmp_path / "p.yaml")]) == 0
    p = load_text(UPGRADED, file="p.yaml")
    assert set(p.inputs) == {"topic", "folder"}                      # declared once, by `parameters`
    assert p.inputs["topic"].default == "tea"
    capsys.readouterr()
    assert main(["run", str(tmp_path / "p.yaml"), "-p", "topic=mint", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outputs"]["outputs"] == {"file": "out/mint.md", "words": 4}
    assert (tmp_path / "out" / "mint.md").read_text() == "About mint"


def test_enhanced_outputs_alone_make_the_outputs_step():
    text = UPGRADED.replace("outputs:\n  file: '{{ folder }}/{{ topic }}.md'\n", "")
    p = load_text(text, file="p.yaml")
    assert set(p.steps["outputs"].params) == {"file", "words"}


def test_a_parameter_declared_twice_differently_is_still_an_error():
    text = UPGRADED.replace("    default: *p2\n", "    default: elsewhere\n")
    with pytest.raises(SpecError) as e:
        load_text(text, file="p.yaml")
    assert e.value.line == 30 and "parameter 'folder' is declared twice" in str(e.value)


def test_enhanced_outputs_must_be_a_mapping():
    with pytest.raises(SpecError) as e:
        load_text(UPGRADED.replace("enhanced_outputs:\n  file:", "enhanced_outputs: [1]\nx:\n  file:"), file="p.yaml")
    assert "unknown key 'x'" in str(e.value) or "enhanced_outputs" in str(e.value)


TAGGED = """\
id: tagged
parameters:
  topic: {type: string, default: tea}
steps:
  - id: summary
    action: generate_text
    parameters:
      prompt: Summarise {{ topic }}
      model: <AUTO task="summarize">Select appropriate model for summarization</AUTO>
  - id: draft
    action: generate_text
    parameters:
      prompt: Write about {{ topic }}
      model: <AUTO task="generate">Select a model for formatting</AUTO>
  - id: style
    action: generate_text
    parameters:
      prompt: "Use a <AUTO task='analyze'>Which tone suits {{ topic }}: 'formal' or 'casual'?</AUTO> tone"
"""


def test_auto_tags_with_a_task_route_by_it():
    p = load_text(TAGGED, file="t.yaml")
    assert p.steps["summary"].task == "summarize" and p.steps["summary"].model is None
    assert p.steps["draft"].task == "writing"                       # py-orc's "generate"
    auto = p.steps["style_auto_prompt"]
    assert auto.task == "analysis"                                  # the value's question is routed too
    assert auto.output["schema"]["properties"]["value"] == {"type": "string", "enum": ["formal", "casual"]}
    assert "{{ steps.style_auto_prompt.output.value }}" in p.steps["style"].action.source


def test_an_unknown_auto_attribute_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(TAGGED.replace('task="summarize"', 'tsk="summarize"'), encoding="utf-8")
    assert main(["validate", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "t.yaml:9: steps[0].parameters.model: <AUTO> tags take no 'tsk' attribute (did you mean 'task'?)" in err


MEMORY = """\
id: remember
parameters:
  user: {type: string, default: Ada}
steps:
  - id: keep
    tool: mcp-memory
    action: execute
    parameters:
      action: store
      namespace: chat
      key: profile
      value: {name: "{{ user }}", steps: [read, write]}
  - id: keep_briefly
    tool: mcp-memory
    action: store
    parameters: {namespace: chat, key: flash, value: gone soon, ttl: 0.2}
  - id: wait
    tool: terminal
    action: execute
    parameters: {command: "sleep 0.4"}
    dependencies: [keep_briefly]
  - id: recall
    tool: mcp-memory
    action: retrieve
    parameters: {namespace: chat, key: profile}
    dependencies: [keep, wait]
  - id: listing
    tool: mcp-memory
    action: list
    parameters: {namespace: chat}
    dependencies: [recall]
  - id: wipe
    tool: mcp-memory
    action: clear
    parameters: {namespace: chat}
    dependencies: [listing]
  - id: after_wipe
    tool: mcp-memory
    action: retrieve
    parameters: {namespace: chat, key: profile}
    dependencies: [wipe]
outputs:
  name: "{{ recall.value.name }}"
  keys: "{{ listing['keys'] | join(',') }}"
  found_after_wipe: "{{ after_wipe.found }}"
"""


def test_mcp_memory_keeps_values_for_the_run_with_a_time_to_live(tmp_path, capsys):
    (tmp_path / "m.yaml").write_text(MEMORY, encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(tmp_path / "m.yaml"), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)["outputs"]
    assert out["keep"] == {"success": True, "namespace": "chat", "key": "profile", "stored": True, "ttl": 0}
    assert out["recall"]["found"] is True and out["recall"]["value"] == {"name": "Ada", "steps": ["read", "write"]}
    assert out["listing"]["keys"] == ["profile"]                   # the 0.2 s value has expired
    assert out["after_wipe"] == {"success": True, "namespace": "chat", "key": "profile", "found": False}
    assert out["outputs"] == {"name": "Ada", "keys": "profile", "found_after_wipe": False}


def test_mcp_memory_actions_are_checked_at_load():
    bad = MEMORY.replace("      action: store\n      namespace: chat", "      action: stroe\n      namespace: chat")
    with pytest.raises(SpecError) as e:
        load_text(bad, file="m.yaml")
    assert e.value.line == 9 and "mcp-memory action 'stroe' is not supported (did you mean 'store'?)" in str(e.value)


def test_the_date_filter_formats_timestamps(tmp_path, capsys):
    from orchestrator_nb.spec.templates import Template
    t = Template("{{ ts | date('%Y-%m-%d %H:%M') }}|{{ ts | strftime('%d/%m') }}|{{ 0 | date }}")
    assert t.render({"ts": "2026-03-04T05:06:07Z"}) == "2026-03-04 05:06|04/03|1970-01-01"
    with pytest.raises(ValueError, match="date: 'soon' is not an ISO date or time"):
        Template("{{ 'soon' | date }}").render({})
    (tmp_path / "d.yaml").write_text("""\
id: dated
steps:
  - id: save
    tool: filesystem
    action: write
    parameters:
      path: stamp.txt
      content: "{{ execution.timestamp | date('%Y') }}"
""", encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(tmp_path / "d.yaml"), "--json", "--quiet"]) == 0
    assert (tmp_path / "stamp.txt").read_text().isdigit()
