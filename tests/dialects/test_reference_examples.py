"""What measuring the reference project's own example folder turned up (issue 14, acceptance 5):
py-orc shapes its examples use that the dialect now reads, and the shapes it refuses with one
clear line. Every fixture is written here; `bench/pyorc_examples.py` runs the whole-folder tally."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from orchestrator_nb.cli.main import main
from orchestrator_nb.core.loader import load_text
from orchestrator_nb.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]


def _error(text: str, capsys, tmp_path, name: str = "p.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and "internal error" not in err
    return err


def _run(text: str, capsys, tmp_path) -> dict:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(path), "--outdir", str(tmp_path / "out"), "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


ANALYZE = """\
id: reviews
parameters:
  text: {type: string, default: "Great tea, slow delivery."}
steps:
  - id: judge
    action: analyze_text
    parameters:
      text: "{{ text }}"
      prompt: Rate the sentiment of this review.
      response_format: json_object
      max_completion_tokens: 300
  - id: extract
    action: generate-structured
    parameters:
      prompt: "Pull the product out of: {{ text }}"
      schema: {type: object, properties: {product: {type: string}}}
      max_completion_tokens: 120
"""


def test_analyze_text_takes_response_format_and_max_completion_tokens():
    p = load_text(ANALYZE, file="r.yaml")
    assert p.steps["judge"].output == "json" and p.steps["judge"].max_tokens == 300
    assert p.steps["extract"].max_tokens == 120 and p.steps["extract"].output["schema"]["type"] == "object"


def test_both_token_limits_at_once_is_an_error():
    text = ANALYZE.replace("      max_completion_tokens: 300\n", "      max_completion_tokens: 300\n      max_tokens: 50\n")
    with pytest.raises(SpecError) as e:
        load_text(text, file="r.yaml")
    assert e.value.line == 11 and "give max_tokens or max_completion_tokens, not both" in str(e.value)


def test_a_templated_token_limit_is_one_line_saying_it_is_not_supported(tmp_path, capsys):
    text = ANALYZE.replace("max_completion_tokens: 300", "max_tokens: >-\n        {{ 100 if text else 200 }}")
    err = _error(text, capsys, tmp_path)
    assert "p.yaml:11: steps[0].parameters.max_tokens: a template for max_tokens is not supported" in err
    assert "write a number" in err


def test_an_extra_llm_parameter_is_refused_as_not_supported_and_a_typo_as_unknown(tmp_path, capsys):
    err = _error(ANALYZE.replace("      max_completion_tokens: 120\n", "      topic: AUTO\n"), capsys, tmp_path)
    assert "p.yaml:17: steps[1].parameters.topic: parameter 'topic' is not supported for action generate-structured" in err
    err = _error(ANALYZE.replace("      response_format:", "      respons_format:"), capsys, tmp_path)
    assert "unknown parameter 'respons_format' for action analyze_text (did you mean 'response_format'?)" in err


def test_now_and_filepath_read_as_in_py_orc(tmp_path, capsys):
    out = _run("""\
id: stamped
steps:
  - id: save
    tool: filesystem
    action: write
    parameters:
      path: "stamp-{{ now() | date('%Y') }}.txt"
      content: "written at {{ now() }}"
  - id: read_back
    tool: filesystem
    action: read
    parameters: {path: "{{ save.filepath }}"}
outputs:
  written: "{{ save.filepath }}"
  again: "{{ read_back.result.filepath }}"
  size: "{{ read_back.size }}"
""", capsys, tmp_path)["outputs"]["outputs"]
    assert out["written"] == out["again"] and out["written"].startswith("stamp-") and out["written"][6:10].isdigit()
    assert (tmp_path / "out" / out["written"]).read_text().startswith("written at ")
    assert out["size"] == len((tmp_path / "out" / out["written"]).read_bytes())


def test_filepath_of_a_model_step_is_its_own_field():
    p = load_text("""\
id: plain
steps:
  - id: plan
    action: generate_structured
    parameters:
      prompt: Where should the report go?
      schema: {type: object, properties: {filepath: {type: string}}}
  - id: note
    action: generate_text
    parameters: {prompt: "Saved to {{ plan.filepath }}"}
""", file="n.yaml")
    assert "steps.plan.output.filepath" in p.steps["note"].action.source


FOR_EACH = """\
id: checks
parameters:
  claims: {type: array, default: [a, b]}
steps:
  - id: verify
    for_each: "{{ claims }}"
    max_parallel: 2
    add_completion_task: true
    steps:
      - id: one
        action: generate-text
        parameters:
          prompt: "Check {{ $item }}"
          max_completion_tokens: 50
"""


def test_add_completion_task_on_a_for_each_loads_and_is_checked(tmp_path, capsys):
    p = load_text(FOR_EACH, file="c.yaml")
    assert p.steps["verify"].for_each is not None
    err = _error(FOR_EACH.replace("add_completion_task: true", "add_completion_task: yes please"), capsys, tmp_path)
    assert "p.yaml:8: steps[0].add_completion_task: must be true or false" in err
    err = _error(FOR_EACH.replace('    for_each: "{{ claims }}"\n', "    while: \"{{ false }}\"\n"), capsys, tmp_path)
    assert "p.yaml:8: steps[0].add_completion_task: add_completion_task only applies to a for_each step" in err


def test_a_bare_auto_tag_closed_lines_later_is_one_line_naming_both_lines(tmp_path, capsys):
    err = _error("""\
id: swallowed
steps:
  - id: first
    action: generate_text
    parameters:
      prompt: Explain tea
      model: <AUTO>  # let the router choose
  - id: second
    action: generate_text
    parameters:
      prompt: Explain coffee
      model: <AUTO task="summarize">a summarizer</AUTO>
""", capsys, tmp_path)
    assert "p.yaml:7: `<AUTO>` is not closed on its line: the `</AUTO>` on line 12 closes it" in err
    assert '<AUTO>what to choose</AUTO>' in err


def test_a_bare_auto_tag_with_no_later_close_is_py_orcs_choose_for_me():
    p = load_text("""\
id: chooser
steps:
  - id: first
    action: generate_text
    parameters:
      prompt: Explain tea
      model: <AUTO>  # let the router choose
""", file="c.yaml")
    assert p.steps["first"].model is None


@pytest.mark.parametrize("block, line, words", [
    ("config:\n  max_concurrent: 3\n", 2, "top-level `config` is not supported"),
    ("context:\n  timeout: 60\n", 2, "top-level `context` is not supported"),
    ("data:\n  rows: [1, 2]\n", 2, "top-level `data` is not supported"),
    ("variables:\n  count: 0\n", 2, "top-level `variables` is not supported"),
    ("global_error_handlers:\n  - handler_action: log it\n", 2, "top-level `global_error_handlers` is not supported"),
])
def test_top_level_blocks_orc_does_not_read_are_one_line_saying_so(tmp_path, capsys, block, line, words):
    text = "id: blocks\n" + block + "steps:\n  - id: a\n    action: generate_text\n    parameters: {prompt: hi}\n"
    err = _error(text, capsys, tmp_path)
    assert f"p.yaml:{line}: " in err and words in err and "(" in err          # a hint follows


def test_a_py_orc_file_without_top_level_steps_says_so(tmp_path, capsys):
    err = _error("id: nested\nname: Nested\npipeline:\n  steps:\n    - id: a\n      action: debug\n", capsys, tmp_path)
    assert "p.yaml:3: pipeline: a py-orc pipeline needs a top-level `steps:` list" in err
    assert "out of `pipeline:`" in err
    err = _error("id: lonely\nname: Lonely\nv1:\n  steps: []\n", capsys, tmp_path)
    assert "p.yaml:1: a py-orc pipeline needs a top-level `steps:` list" in err


def _bench():
    spec = importlib.util.spec_from_file_location("pyorc_examples", ROOT / "bench" / "pyorc_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_bench_tallies_a_folder_into_buckets(tmp_path, capsys):
    folder = tmp_path / "examples"
    (folder / "sub").mkdir(parents=True)
    (folder / "ok.yaml").write_text(ANALYZE, encoding="utf-8")
    (folder / "sub" / "search.yaml").write_text(
        "id: s\nsteps:\n  - id: a\n    tool: web-search\n    action: search\n    parameters: {query: tea}\n",
        encoding="utf-8")
    (folder / "broken.yml").write_text("id: b\nsteps:\n  - id: a\n    action: [unclosed\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a pipeline", encoding="utf-8")
    assert _bench().main([str(folder), "--files"]) == 0
    out = capsys.readouterr().out
    assert "3 files: 1 loads, 1 unsupported, 1 invalid, 0 crash" in out
    assert "unsupported sub/search.yaml" in out and "invalid     broken.yml" in out


def test_the_bench_buckets_by_our_wording():
    b = _bench()
    assert b.classify(0, "") == "loads"
    assert b.classify(2, "orc: error: f.yaml:3: steps[0].tool: tool 'x' is not supported (hint)") == "unsupported"
    assert b.classify(2, "orc: error: f.yaml:3: duplicate key 'model' (each key may appear once)") == "unsupported"
    assert b.classify(2, "orc: error: f.yaml:3: invalid YAML: did not find expected key") == "invalid"
    assert b.classify(1, "orc: internal error: KeyError: 'steps'") == "crash"
    assert b.classify(1, "Traceback (most recent call last):\n  File x\nKeyError") == "crash"
    assert b.reason("orc: error: /a/f.yaml:3: steps[0].tool: tool 'web-search' is not supported") == \
        "tool '…' is not supported"
