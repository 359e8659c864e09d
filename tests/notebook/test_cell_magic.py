"""`%%orc`: every cell shape and every option, in a real InteractiveShell."""
from __future__ import annotations

from orchestrator_nb.core.result import RunResult
from orchestrator_nb.providers.scripted import ScriptedProvider, script

PIPELINE = """%%orc{args}
name: planner
inputs:
  n: {{type: integer, default: 2}}
steps:
  - id: outline
    model: scripted:echo
    prompt: Outline {{{{ topic }}}} in {{{{ inputs.n }}}} parts
  - id: review
    approval: Is the outline right?
    show: "{{{{ steps.outline.output }}}}"
  - id: draft
    needs: [review]
    model: scripted:echo
    output: markdown
    prompt: "Draft from {{{{ steps.outline.output }}}}"
"""


def cell(args: str = "") -> str:
    return PIPELINE.format(args=args)


def test_a_whole_pipeline_binds_its_name_and_uses_kernel_variables(ip):
    ip.ns["topic"] = "tides"
    value, out, _ = ip.cell(cell(" --approval auto"))
    result = ip.ns["planner"]
    assert isinstance(result, RunResult) and value is result
    assert result.status == "succeeded"
    assert result["outline"] == "[echo] Outline tides in 2 parts"
    assert result.inputs == {"n": 2}
    assert "outline              running" in out and "succeeded" in out    # text progress (no widget frontend)


def test_a_list_of_steps_and_one_step(ip):
    ip.ns["text"] = "the moon"
    ip.cell("%%orc --approval auto\n- id: a\n  model: scripted:echo\n  prompt: Say {{ text }}\n"
            "- id: b\n  model: scripted:echo\n  prompt: Again {{ steps.a.output }}\n")
    assert ip.ns["_orc"]["b"] == "[echo] Again [echo] Say the moon"
    ip.cell("%%orc\nmodel: scripted:echo\nprompt: Shout {{ text }}\n")
    assert ip.ns["_orc"].outputs == {"prompt": "[echo] Shout the moon"}
    ip.cell("%%orc twice\n- id: a\n  code: output = 21 * 2\n")
    assert ip.ns["twice"]["a"] == 42 and ip.ns["twice"].pipeline == "twice"


def test_name_registers_the_pipeline_for_orc_run(ip):
    ip.ns["topic"] = "waves"
    ip.cell(cell(" plan1 --approval auto"))
    assert ip.ns["plan1"].status == "succeeded"
    ip.cell("%orc run plan1 --approval auto -p n=5 --out again")
    assert ip.ns["again"]["outline"] == "[echo] Outline waves in 5 parts"


def test_param_out_model_and_input_types(ip):
    ip.cell("%%orc --out res -p who=Ada -p times=3 --model scripted:m1\n"
            "name: greet\ninputs:\n  who: {type: string}\n  times: {type: integer}\n"
            "steps:\n  - id: hi\n    prompt: Hello {{ inputs.who }} x{{ inputs.times + 1 }}\n")
    res = ip.ns["res"]
    assert "greet" not in ip.ns
    assert res.inputs == {"who": "Ada", "times": 3}
    assert res["hi"] == "[m1] Hello Ada x4"
    assert res.steps[0]["model"] == "scripted:m1"


def test_approval_policies(ip):
    ip.ns["topic"] = "tides"
    ip.cell(cell(" --approval reject"))
    assert ip.ns["planner"].status == "failed" and "rejected" in ip.ns["planner"].error
    value, out, _ = ip.cell(cell(" --approval defer"))
    assert ip.ns["planner"].status == "waiting"
    assert f"%orc approve {value.run_id} review" in repr(value._repr_mimebundle_()["text/plain"])
    ip.cell(cell(" --approval ask"))          # nobody can click in a plain shell: ask becomes defer
    assert ip.ns["planner"].status == "waiting"
    ip.cell(cell(""))                         # default: $ORC_APPROVAL, else ask (-> defer here)
    assert ip.ns["planner"].status == "waiting"


def test_orc_approval_env_is_the_default_policy(ip, monkeypatch):
    monkeypatch.setenv("ORC_APPROVAL", "auto")
    ip.ns["topic"] = "tides"
    ip.cell(cell(""))
    assert ip.ns["planner"].status == "succeeded"


def test_no_cache_recomputes(ip):
    script([{"match": "Count", "reply": "counted"}])
    body = "%%orc{}\nmodel: scripted:echo\nprompt: Count the stars\n"
    ip.cell(body.format(""))
    ip.cell(body.format(""))
    assert len(ScriptedProvider.calls) == 1 and ip.ns["_orc"].steps[0]["cached"]
    ip.cell(body.format(" --no-cache"))
    assert len(ScriptedProvider.calls) == 2 and not ip.ns["_orc"].steps[0]["cached"]


def test_dry_run_checks_and_shows_the_plan_without_running(ip):
    ip.ns["topic"] = "tides"
    value, _, _ = ip.cell(cell(" --dry-run -p n=4"))
    assert "planner" not in ip.ns
    text = repr(value)
    assert "dry run: planner — 3 steps" in text and "scripted:echo" in text and "n      4" in text
    html = value._repr_html_()
    assert "<svg" in html and 'data-step="review"' in html
    from orchestrator_nb.store import Store
    assert not Store().exists()   # nothing ran, nothing recorded


def test_background_returns_a_handle_that_awaits_to_the_result(ip):
    value, _, _ = ip.cell("%%orc --background --out job\nmodel: scripted:echo\nprompt: Later please\n")
    assert type(value).__name__ == "RunHandle" and ip.ns["job"] is value
    assert "background" in repr(value)
    got, _, _ = ip.cell("await job")
    assert isinstance(got, RunResult) and got.status == "succeeded"
    assert ip.ns["job"]["prompt"] == "[echo] Later please" and ip.ns["job"].status == "succeeded"


def test_the_cell_is_awaited_not_blocking(ip):
    code = ip.shell.transform_cell("%%orc x\nprompt: hi\n")
    assert code.startswith("await __import__('orchestrator_nb.notebook.awaiting'")
    assert ip.shell.should_run_async("%%orc x\nprompt: hi\n", transformed_cell=code)
    assert ip.shell.transform_cell("x = %orc run p").startswith("x = await ")
    assert "await" not in ip.shell.transform_cell("%orc runs")
    assert "await" not in ip.shell.transform_cell("def f():\n    %orc run p\n")


def test_autoawait_off_still_runs(ip):
    ip.shell.run_line_magic("autoawait", "off")
    try:
        assert "await" not in ip.shell.transform_cell("%%orc\nprompt: hi\n")
        ip.cell("%%orc\nmodel: scripted:echo\nprompt: sync path\n")
        assert ip.ns["_orc"]["prompt"] == "[echo] sync path"
    finally:
        ip.shell.run_line_magic("autoawait", "on")


def test_rich_display_renders_markdown_json_and_tables(ip):
    script([{"match": "facts", "reply": {"moon": {"distance_km": 384400, "names": ["Luna", "Selene"]}}},
            {"match": "essay", "reply": "# Tides\n\n- **Moon** pulls\n- Sun helps"}])
    value, _, _ = ip.cell("%%orc\nname: show\nsteps:\n"
                          "  - id: facts\n    model: scripted:echo\n    output: json\n    prompt: facts please\n"
                          "  - id: essay\n    model: scripted:echo\n    output: markdown\n    prompt: essay on {{ steps.facts.output }}\n"
                          "  - id: rows\n    code: \"output = [{'body': 'moon', 'km': 384400}, {'body': 'sun', 'km': 1.5e8}]\"\n")
    bundle = value._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<h1>Tides</h1>" in html and "<strong>Moon</strong>" in html           # markdown rendered
    assert "<details" in html and "distance_km" in html and "384400" in html      # JSON tree
    assert "<th>body</th>" in html and "<td>sun</td>" in html                     # records as a table
    assert "<svg" in html and html.count('class="orc-node"') == 3                 # the DAG
    assert "<th>model</th>" in html and "scripted:echo" in html                   # step table
    text = bundle["text/plain"]
    assert "facts" in text and "succeeded" in text and "tokens" in text


def test_a_py_orc_cell_with_unquoted_auto_tags_loads(ip, monkeypatch):
    monkeypatch.setenv("ORC_PYORC_MODELS", "*=scripted:auto")
    from orchestrator_nb.notebook.cell import pipeline_from_cell
    body = ("id: tagline\nsteps:\n  - id: pick\n    action: generate_text\n    parameters:\n"
            "      prompt: Write a tagline\n      model: <AUTO>the cheapest model</AUTO>\n")
    pipeline, shape = pipeline_from_cell(body, name=None, file="In[1]", names=())
    assert shape == "pipeline" and "pick" in pipeline.steps



def test_a_variable_on_the_magic_line_is_data_never_options(ip):
    """IPython pasted `$topic` into the line before it was split: a value holding a quote added
    options (`comets" --approval "auto` turned the review off)."""
    topic = 'comets" --approval "auto'
    ip.ns["topic"] = topic
    ip.cell('%%orc t --approval defer -p topic="$topic" --out r1\nname: t\ninputs:\n  topic: {type: string}\n'
            "steps:\n  - id: review\n    approval: Is {{ inputs.topic }} right?\n")
    assert ip.ns["r1"].status == "waiting" and ip.ns["r1"].inputs["topic"] == topic
    ip.cell("%orc run t --approval defer -p topic=$topic --out r2")
    assert ip.ns["r2"].status == "waiting" and ip.ns["r2"].inputs["topic"] == topic
    from orchestrator_nb.notebook.magics import expand
    ns = {"a": 'x" --b "y', "n": 2}
    assert expand("$a", ns) == 'x" --b "y' and expand("${n}0", ns) == "20" and expand("{n}", ns) == "2"
    assert expand("$$a {{n}} $missing {missing}", ns) == "$a {n} $missing {missing}"
    assert expand("'{r1.run_id}' $r1.run_id.", {"r1": ip.ns["r1"]}) == f"'{ip.ns['r1'].run_id}' {ip.ns['r1'].run_id}."
    assert expand("{r1._run}", {"r1": ip.ns["r1"]}) == "{r1._run}"  # nothing private
