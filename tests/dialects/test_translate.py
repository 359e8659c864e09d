"""The pieces of the py-orc translation: detection by shape, the line-preserving AUTO quoting,
AUTO value typing, model names, template rewriting, skip semantics; resume and notebooks."""
from __future__ import annotations

import json

import pytest
import yaml
from pyorc_harness import EXAMPLES, MODEL, prepare

from orchestrator_nb.cli.main import main
from orchestrator_nb.dialects import preprocess, translate_if_foreign
from orchestrator_nb.dialects.pyorc.autotext import infer_task, quote_plain_templates, split_auto, value_schema
from orchestrator_nb.dialects.pyorc.detect import is_pyorc
from orchestrator_nb.dialects.pyorc.models import native_model
from orchestrator_nb.errors import SpecError
from orchestrator_nb.core.loader import load, load_text
from orchestrator_nb.spec.yamlio import load_yaml


# detection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    ({"name": "n", "steps": [{"id": "a", "prompt": "hi"}]}, False),
    ({"name": "n", "steps": [{"id": "a", "action": "generate_text"}]}, True),
    ({"id": "x", "steps": [{"id": "a"}]}, True),
    ({"name": "n", "parameters": {}, "steps": [{"id": "a"}]}, True),
    ({"name": "n", "tasks": [{"id": "a", "action": "generate"}]}, True),
    ({"name": "n", "steps": [{"id": "a", "prompt": "hi", "depends_on": ["b"]}]}, False),   # mixed: native says why
    ({"name": "n", "steps": []}, False),
    (["not", "a", "pipeline"], False),
])
def test_detection_by_shape(data, expected):
    assert is_pyorc(data) is expected


def test_native_files_pass_through_untouched():
    text = "name: plain\nsteps:\n  - id: a\n    prompt: 'Say {{ inputs.x }}'\n"
    assert preprocess(text, "f.yaml") == (text, None)
    data, lines = load_yaml(text)
    assert translate_if_foreign(data, lines, "f.yaml") == (data, lines)


# AUTO quoting before YAML --------------------------------------------------------------------
def test_quoting_keeps_every_line_and_is_idempotent():
    src = (EXAMPLES / "10_campaign_planner.yaml").read_text()
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(src)                 # as py-orc users write it, this is not valid YAML
    out, shift = preprocess(src, "x.yaml")
    assert shift is None and out.count("\n") == src.count("\n")
    assert quote_plain_templates(out) == out
    data = yaml.safe_load(out)
    assert data["model"] == "<AUTO>Pick a model that is good at marketing analysis</AUTO>"
    assert data["steps"][3]["if"].startswith("<AUTO>Should {{ product }} get")
    for i, (a, b) in enumerate(zip(src.splitlines(), out.splitlines())):
        if "<AUTO>" not in a:
            assert a == b, i


def test_quoting_handles_comments_quotes_blocks_and_multiline_tags():
    src = ('steps:\n  - id: a\n    action: generate_text\n'
           '    if: <AUTO>yes: or no?</AUTO>  # a comment\n'
           '    max_iterations: {{ parameters.n }}\n'
           '    parameters:\n      prompt: |\n        keep <AUTO>as: is</AUTO>\n'
           '      say: <AUTO>a "quoted" word: and\n        more</AUTO>\n'
           "      ok: '<AUTO>already: quoted</AUTO>'\n")
    data = yaml.safe_load(quote_plain_templates(src))["steps"][0]
    assert data["if"] == "<AUTO>yes: or no?</AUTO>" and data["max_iterations"] == "{{ parameters.n }}"
    assert data["parameters"] == {"prompt": "keep <AUTO>as: is</AUTO>\n",
                                  "say": '<AUTO>a "quoted" word: and more</AUTO>',
                                  "ok": "<AUTO>already: quoted</AUTO>"}


@pytest.mark.parametrize("text, context, schema", [
    ("Which channel: 'email', 'social' or 'print'?", "value", {"type": "string", "enum": ["email", "social", "print"]}),
    ("Choose one: research, implement, validate", "value",
     {"type": "string", "enum": ["research", "implement", "validate"]}),
    ("Rate the importance (1-10)", "value", {"type": "integer", "minimum": 1, "maximum": 10}),
    ("What confidence threshold (0.0-1.0) fits?", "value", {"type": "number", "minimum": 0.0, "maximum": 1.0}),
    ("List 3-5 key metrics", "value", {"type": "array", "items": {"type": "string"}}),
    ("List up to 3 chart types from: 'line', 'bar', 'pie'", "value",
     {"type": "array", "items": {"type": "string", "enum": ["line", "bar", "pie"]}}),
    ("Should we use advanced processing? (true/false)", "value", {"type": "boolean"}),
    ("Would visualizations help? Answer 'yes' or 'no'", "value", {"type": "string", "enum": ["yes", "no"]}),
    ("Describe the tone", "value", {"type": "string"}),
    ("anything at all", "condition", {"type": "boolean"}),
    ("subtopics of X", "list", {"type": "array", "items": {"type": "string"}}),
])
def test_auto_values_are_typed_by_wording_and_place(text, context, schema):
    assert value_schema(text, context)[0] == schema


def test_auto_tags_split_and_route():
    assert split_auto("a <AUTO>b</AUTO> c") == [("text", "a "), ("auto", "b"), ("text", " c")]
    assert split_auto("<AUTO>") == [("auto", "")]
    with pytest.raises(SpecError):
        split_auto("<AUTO>never closed")
    assert infer_task("a model for code review") == "codegen" and infer_task("summarize") == "summarize"
    assert infer_task("whatever") is None


# model names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, native", [
    ("gpt-5-mini", "openai:gpt-5-mini"), ("o3-mini", "openai:o3-mini"),
    ("claude-sonnet-4-20250514", "anthropic:claude-sonnet-4-20250514"),
    ("ollama:llama3.2:1b", "ollama:llama3.2:1b"), ("llama3.2:1b", "ollama:llama3.2:1b"),
    ("google:gemini-2.5-flash", "gemini:gemini-2.5-flash"), ("gemini-2.5-pro", "gemini:gemini-2.5-pro"),
    ("openrouter/meta-llama/llama-3-70b", "openrouter:meta-llama/llama-3-70b"),
])
def test_model_names_map_to_provider_ids(name, native):
    assert native_model(name) == native


def test_model_aliases_and_overrides(tmp_path, monkeypatch):
    p = load(EXAMPLES / "12_research_brief.yaml")
    assert p.models == {"gpt-5-mini": "openai:gpt-5-mini"} and p.defaults["model"] == "gpt-5-mini"
    assert p.steps["answers"].model == "ollama:llama3.2:1b"
    monkeypatch.setenv("ORC_PYORC_MODELS", "gpt-5-mini=ollama:qwen3, *=scripted:x")
    p = load(EXAMPLES / "12_research_brief.yaml")
    assert p.models == {"gpt-5-mini": "ollama:qwen3", "ollama:llama3.2:1b": "scripted:x"}
    body = p.steps["revise"].action
    assert body.models == p.models and body.defaults == {"model": "gpt-5-mini"}   # loop bodies share them
    monkeypatch.setenv("ORC_PYORC_MODELS", "gpt-5-mini")
    with pytest.raises(SpecError, match="ORC_PYORC_MODELS"):
        load(EXAMPLES / "12_research_brief.yaml")


def test_auto_model_becomes_a_task_for_the_router():
    p = load(EXAMPLES / "10_campaign_planner.yaml")
    assert p.steps["audience"].task == "analysis" and p.steps["audience"].model is None


# templates -----------------------------------------------------------------------------------
def test_names_become_native_references():
    p = load(EXAMPLES / "01_hello_report.yaml")
    assert p.steps["draft"].action.source == (
        "Write a three-sentence briefing about {{ inputs.topic }} for {{ inputs.audience }}.\n")
    assert p.steps["save"].action["content"].source.startswith("# {{ steps.title.output }}\n\n{{ steps.draft.output }}")
    assert "{{ steps.execution.output.timestamp }}" in p.steps["save"].action["content"].source
    p = load(EXAMPLES / "02_feedback_triage.yaml")
    assert "{{ steps.read_feedback.output.content }}" in p.steps["extract"].action.source


def test_template_locals_filters_and_keywords_are_left_alone():
    p = load_text("""id: t
parameters: {item: 1}
steps:
  - id: a
    action: generate_text
    parameters:
      prompt: "{% for item in [1] %}{{ item }}{{ loop.index }}{% endfor %}{{ 'x' | truncate(length=2) }}"
  - id: b
    action: generate_text
    parameters:
      prompt: "{{ a is defined }} {{ item is number }} {{ $item }}"
""", file="t.yaml")
    assert p.steps["a"].action.source == ("{% for item in [1] %}{{ item }}{{ loop.index }}{% endfor %}"
                                          "{{ 'x' | truncate(length=2) }}")
    assert p.steps["b"].action.source == ("{{ steps.a.output is defined }} {{ inputs.item is number }} "
                                          "{{ inputs.item }}")


def test_skipped_dependencies_do_not_skip_the_join():
    p = load(EXAMPLES / "04_support_router.yaml")
    assert p.steps["reply"].when.source == "{{ true }}"            # both answers may be skipped
    assert p.steps["is_urgent"].when is None                        # classify is never skipped


# resume and notebooks ------------------------------------------------------------------------
def test_a_failed_pyorc_run_resumes_from_its_stored_spec(tmp_path, monkeypatch, capsys):
    src = tmp_path / "resume.yaml"
    src.write_text("""id: resumable
steps:
  - id: first
    action: generate_text
    parameters:
      prompt: <AUTO>Pick one: 'a' or 'b'</AUTO> first
  - id: gate
    tool: terminal
    action: execute
    parameters: {command: "test -f go"}
    dependencies: [first]
  - id: last
    tool: filesystem
    action: write
    parameters: {path: done.txt, content: "{{ first }}"}
    dependencies: [gate]
""")
    for key, value in prepare(tmp_path, [{"match": "Pick one", "reply": {"value": "b"}}]).items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["run", str(src), "--json", "--quiet"]) == 1
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    src.unlink()                                     # resume needs only the store
    (tmp_path / "go").write_text("")
    assert main(["resume", run_id, "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and (tmp_path / "done.txt").read_text() == f"[{MODEL.split(':')[1]}] b first"
    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 2                           # the AUTO value and `first`: not asked again on resume


@pytest.fixture
def ip(capsys):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "orchestrator_nb")
    yield shell
    shell.run_line_magic("unload_ext", "orchestrator_nb")


def test_pyorc_files_and_cells_in_a_notebook(ip, tmp_path, monkeypatch, capsys):
    for key, value in prepare(tmp_path, []).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ORC_APPROVAL", "auto")
    res = ip.run_cell(f"%orc load {EXAMPLES / '05_publish_gate.yaml'} --as gate")
    assert res.success, res.error_in_exec
    res = ip.run_cell('%orc run gate -p "draft=Too short" --out r')
    assert res.success, res.error_in_exec
    r = ip.user_ns["r"]
    assert r.status == "succeeded"
    assert {s["id"]: s["status"] for s in r.steps}["polish"] == "skipped" and "rewrite" in r.outputs
    cell = """%%orc --out c
id: pasted
parameters: {who: {type: string, default: world}}
steps:
  - id: hello
    action: generate_text
    parameters:
      prompt: "<AUTO>Greeting word: 'hi' or 'hello'</AUTO> {{ who }}"
"""
    res = ip.run_cell(cell)
    assert res.success, res.error_in_exec
    assert ip.user_ns["c"].outputs["hello"] == "[pyorc] hi world"
    capsys.readouterr()
