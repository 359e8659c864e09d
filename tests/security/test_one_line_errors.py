"""Every invalid input is one line: the CLI (exit 2, never "internal error"), the magics
(UsageError), the Python API (SpecError / UsageError). Control characters and newlines that a
message quotes come out escaped, with the line they are on."""
from __future__ import annotations

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main
from orchestrator_nb.errors import SpecError, UsageError

CASES = {  # file text -> what the one line says
    "inputs.yaml": ("name: t\ninputs: {x: {type: [string]}}\nsteps:\n  - id: a\n    code: 'output = 1'\n",
                    "inputs.yaml:2: inputs.x.type: "),
    "tool.yaml": ("id: t\nsteps:\n  - id: a\n    tool: [terminal]\n    action: execute\n",
                  "tool.yaml:4: steps[0].tool: must be a tool name"),
    "action.yaml": ("id: t\nsteps:\n  - id: a\n    action: ''\n", "action.yaml:4: steps[0].action: must be an action name"),
    "timeout.yaml": ("name: t\nsteps:\n  - id: a\n    code: 'output = 1'\n    timeout: " + "9" * 5000 + "\n",
                     "timeout.yaml:5: steps[0].timeout: "),
    "parens.yaml": ("name: t\nsteps:\n  - id: a\n    prompt: \"{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}\"\n",
                    "parens.yaml:4: steps[0].prompt: template nests too deeply"),
    "nul.yaml": ("name: t\nsteps:\n  - id: a\x00b\n    code: x\n",
                 "nul.yaml:3: invalid YAML: character '\\x00' is not allowed"),
    "newline-key.yaml": ('name: t\nsteps:\n  - id: a\n    code: "output = 1"\n    "bad\\nkey\\u2028": 1\n',
                         "newline-key.yaml:5: steps[0].bad\\nkey\\u2028: unknown key 'bad\\nkey\\u2028'"),
    "escape.yaml": ('name: t\nsteps:\n  - id: a\n    code: "output = 1"\n    needs: "\\e[31mred\\r"\n',
                    "escape.yaml:5: steps[0].needs[0]: unknown step '\\x1b[31mred\\r'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_cli_says_one_line_and_exits_2(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text, expected = CASES[name]
    (tmp_path / name).write_text(text)
    for args in (["validate", name], ["run", name, "--dry-run"], ["run", name]):
        assert main(args) == 2, args
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "internal error" not in err, err
        assert lines[0].startswith(f"orc: error: {expected}"), lines[0]
        assert not any(ord(c) < 32 or c in "\u2028\u2029\x7f" for c in lines[0])


def test_orc_sql_with_a_typo_is_one_line_exit_2(capsys):
    assert main(["sql", "SELEC 1"]) == 2
    err = capsys.readouterr().err
    assert err == 'orc: error: SQL: Parser Error: syntax error at or near "SELEC"\n'
    assert main(["sql", "SELECT nope FROM runs"]) == 2
    assert capsys.readouterr().err.startswith("orc: error: SQL: Binder Error:")


def test_the_python_api_raises_one_line_spec_errors():
    with pytest.raises(SpecError) as e:
        orc.load({"name": "t", "steps": [{"id": "a", "code": "output = 1", "bad\nkey": 1}]})
    assert str(e.value).startswith("<dict>: steps[0].bad\\nkey: unknown key 'bad\\nkey' (StepSpec takes id, ")
    assert "\n" not in str(e.value)
    for bad in (None, [], 42):
        with pytest.raises(SpecError, match="a pipeline is a file path, YAML text or a dict"):
            orc.load(bad)
    p = orc.load("name: t\ninputs: {n: {type: integer}}\nsteps:\n  - id: a\n    code: 'output = inputs'\n")
    with pytest.raises(UsageError) as e:
        orc.run(p, {"n": "x\ny"}, db=False)
    assert "\n" not in str(e.value) and "x\\ny" in str(e.value)


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "orchestrator_nb")
    yield ip
    ip.run_line_magic("unload_ext", "orchestrator_nb")


@pytest.mark.parametrize("name", ["nul.yaml", "newline-key.yaml", "tool.yaml", "timeout.yaml", "parens.yaml"])
def test_the_cell_magic_says_one_usage_error_line(name, shell, capsys):
    text, expected = CASES[name]
    capsys.readouterr()
    result = shell.run_cell("%%orc --dry-run\n" + text)
    out, err = capsys.readouterr()
    assert not result.success
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("UsageError: In["), lines
    assert expected.split(":", 2)[2].strip() in lines[0], (expected, lines[0])
    assert "Traceback" not in out + err
