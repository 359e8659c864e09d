"""Every bad input is one `UsageError:` line, never a traceback (see Shell.error)."""
from __future__ import annotations

import pytest

STEPS = "%%orc{}\n- id: a\n  model: scripted:echo\n  prompt: hi\n"


@pytest.mark.parametrize("source, message", [
    ("%%orc --bogus\nprompt: x\n", "unrecognized arguments: --bogus"),
    ("%%orc --approval maybe\nprompt: x\n", "argument --approval: invalid choice: 'maybe'"),
    ("%%orc --out 9lives\nmodel: scripted:echo\nprompt: x\n", "--out '9lives' is not a Python variable name"),
    ("%%orc -p nokey\nmodel: scripted:echo\nprompt: x\n", "-p 'nokey': expected key=value"),
    ("%%orc -p 'unclosed\nprompt: x\n", "No closing quotation"),
    ("%%orc\nsteps: [\n", "In[{n}]:3: invalid YAML"),
    ("%%orc\nname: p\nsteps:\n  - id: a\n     prompt: x\n", "In[{n}]:"),
    ("%%orc\nmodel: scripted:echo\nprompt: Summarize {{ txet }}\n", "In[{n}]:3: steps[0].prompt: unknown name 'txet' in template (did you mean 'text'?)"),
    ("%%orc\n- id: a\n  promt: x\n", "In[{n}]:3: steps[0].promt: unknown key 'promt' (did you mean 'prompt'?)"),
    ("%%orc\npromt: x\n", "neither a pipeline (steps:) nor a step (no action key) (did you mean 'prompt'?)"),
    ("%%orc\n\n", "the cell is empty"),
    ("%%orc\n- id: a\n  prompt: x\n  needs: [b]\n", "In[{n}]:4: steps[0].needs[0]: unknown step 'b'"),
    ("%%orc\nmodel: nowhere:x\nprompt: x\n", "unknown provider"),
    ("%%orc\nmodel: fancy\nprompt: x\n", "unknown model or alias 'fancy'"),
    ("%%orc --model nope\nprompt: x\n", "unknown model or alias 'nope'"),
    ("%%orc -p who=x\nname: g\ninputs:\n  n: {type: integer}\nsteps:\n  - id: a\n    code: output = 1\n",
     "unknown input 'who' for pipeline g"),
    ("%%orc -p n=many\nname: g\ninputs:\n  n: {type: integer}\nsteps:\n  - id: a\n    code: output = 1\n",
     "input 'n':"),
    ("%%orc\nname: g\ninputs:\n  n: {type: integer}\nsteps:\n  - id: a\n    code: output = 1\n",
     "missing input 'n' for pipeline g (pass -p n=VALUE)"),
    ("%orc run nothere", "no pipeline 'nothere' (loaded here: none yet; or give a YAML path"),
    ("%orc run", "the following arguments are required: NAME|PATH"),
    ("%orc frobnicate", "unknown %orc command 'frobnicate'"),
    ("%orc rn x", "unknown %orc command 'rn' (did you mean 'run'?)"),
    ("%orc runs --limit lots", "argument --limit/-n: invalid int value: 'lots'"),
    ("%orc show", "the following arguments are required: run"),
    ("%orc show abcdef", "no run 'abcdef' in the store"),
    ("%orc resume abcdef", "no run 'abcdef' in the store"),
    ("%orc approve abcdef review", "no run 'abcdef' in the store"),
    ("%orc approve abcdef review --reject --changes", "not allowed with argument"),
    ("%orc sql", "%orc sql needs a query"),
    ("%orc sql SELEC 1", "SQL: Parser Error"),
    ("%orc sql SELECT * FROM nosuchtable", "SQL: Catalog Error"),
    ("%orc load nofile.yaml", "no pipeline file 'nofile.yaml'"),
    ("%orc graph nothere", "no pipeline 'nothere'"),
    ("%orc load", "the following arguments are required: path"),
])
def test_bad_input_is_one_usage_error_line(ip, source, message):
    ip.ns["text"] = "kernel variable"
    line = ip.error(source)
    expected = message.replace("{n}", str(ip.last_count + 1))   # the number the cell shows
    assert expected in line, line


def test_approving_wrong_things(ip):
    ip.cell("%%orc t\n- id: a\n  model: scripted:echo\n  prompt: hi\n- id: ok\n  approval: fine?\n  needs: [a]\n")
    rid = ip.ns["t"].run_id
    assert "has no step 'nope' (waiting: ok)" in ip.error(f"%orc approve {rid} nope")
    assert "needs a comment" in ip.error(f"%orc approve {rid} ok --changes")
    assert "is not waiting for approval (it is succeeded)" in ip.error(f"%orc approve {rid} a")
    ip.cell(f"%orc approve {rid} ok")
    assert "already decided: approved" in ip.error(f"%orc approve {rid} ok")
    ip.cell(f"%orc resume {rid}")
    assert "already succeeded; nothing to resume" in ip.error(f"%orc resume {rid}")


def test_reading_an_unfinished_background_run_says_how_to_wait(ip):
    ip.cell("%%orc --background --out job\n- id: a\n  model: scripted:echo\n  prompt: hi\n")
    result = ip.shell.run_cell("job.outputs")
    assert not result.success and "still running: `await job` waits for it" in str(result.error_in_exec)
    ip.cell("await job")
