"""Arguments chosen by a model never escape: read_file/list_files stay inside the working
directory, write_file inside the output directory (../, absolute paths, symlinks, hidden files);
python and shell cannot run unless the pipeline enables them."""
from __future__ import annotations

import os

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core.pipeline import Pipeline
from orchestrator_nb.core.stepdef import step
from orchestrator_nb.errors import SpecError
from toolkit import orc as orc_cli, tool_calls

SECRET = "TOP-SECRET-0451"
READS = ["../secret.txt", "/etc/hostname", "link/secret.txt", "escape.txt", ".env", "notes/../../secret.txt",
         "notes.txt"]
WRITES = ["../evil.txt", "/tmp/orc-evil.txt", "outlink/evil.txt", ".hidden.txt", "deep/../../evil2.txt", "ok/fine.txt"]
LISTS = ["..", "/", "link", "."]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """work/ (the working directory) with a file, symlinks out, a .env; secret.txt beside it."""
    work = tmp_path / "work"
    (work / "notes").mkdir(parents=True)
    (work / "notes.txt").write_text("allowed notes")
    (tmp_path / "secret.txt").write_text(SECRET)
    (work / ".env").write_text(f"OPENAI_API_KEY={SECRET}")
    (work / "link").symlink_to(tmp_path, target_is_directory=True)
    (work / "escape.txt").symlink_to(tmp_path / "secret.txt")
    out = work / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "outlink").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    monkeypatch.chdir(work)
    return tmp_path


def test_model_arguments_never_leave_the_working_or_output_directory(sandbox, scripted):
    calls = ([{"name": "read_file", "arguments": {"path": p}} for p in READS]
             + [{"name": "write_file", "arguments": {"path": p, "content": "pwned"}} for p in WRITES]
             + [{"name": "list_files", "arguments": {"path": p, "recursive": True}} for p in LISTS])
    scripted([{"match": "error: ", "reply": "I could not do most of that."},
              {"match": "Try the files", "reply": {"tool_calls": calls}}])
    result = orc.run({"name": "escape", "steps": [{"id": "try", "model": "scripted:echo", "prompt": "Try the files",
                                                   "tools": ["read_file", "write_file", "list_files"]}]},
                     outdir=sandbox / "work" / "out")
    assert result.status == "succeeded", result.error
    rows = {(c["tool"], c["arguments"]["path"]): c for c in tool_calls(result.run_id)}
    assert len(rows) == len(calls)
    for path in READS[:-1]:
        assert rows[("read_file", path)]["error"], path
    assert rows[("read_file", "notes.txt")]["result"] == "allowed notes"
    assert "outside the working directory" in rows[("read_file", "../secret.txt")]["error"]
    assert "must be relative" in rows[("read_file", "/etc/hostname")]["error"]
    assert "hidden" in rows[("read_file", ".env")]["error"]
    for path in WRITES[:-1]:
        assert rows[("write_file", path)]["error"], path
    assert "escapes the output directory" in rows[("write_file", "outlink/evil.txt")]["error"]
    assert rows[("write_file", "ok/fine.txt")]["result"] == "wrote ok/fine.txt (5 bytes)"
    for path in ("..", "/", "link"):
        assert rows[("list_files", path)]["error"], path
    listing = rows[("list_files", ".")]["result"]
    assert "notes.txt" in listing and "out/ok/fine.txt" in listing and ".env" not in listing
    assert "secret" not in listing                       # the symlinked folder is not followed out
    everything = " ".join(str(c["result"]) for c in rows.values())
    assert SECRET not in everything
    assert not (sandbox / "evil.txt").exists() and not (sandbox / "evil2.txt").exists()
    assert not os.path.exists("/tmp/orc-evil.txt") and not any((sandbox / "elsewhere").iterdir())
    assert (sandbox / "work" / "out" / "ok" / "fine.txt").read_text() == "pwned"


def test_shell_and_python_are_off_unless_the_pipeline_allows_them(tmp_path):
    (tmp_path / "p.yaml").write_text("name: p\nsteps:\n  - id: a\n    model: scripted:echo\n    prompt: hi\n"
                                     "    tools: [read_file, shell]\n")
    out = orc_cli("validate", "p.yaml", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "p.yaml:6: steps[0].tools[1]: the 'shell' tool runs code on this machine and is off" in out.stderr
    assert "enable it for this pipeline with `tools: {allow: [shell]}`" in out.stderr
    with pytest.raises(SpecError, match="the 'python' tool runs code"):
        Pipeline("p", [step("a", call="python", params={"code": "print(1)"})])
    with pytest.raises(SpecError, match="the 'shell' tool runs code"):  # allowing python does not allow shell
        Pipeline("p", [step("a", prompt="x", tools=["shell"])], tools={"allow": ["python"]})


def test_allowed_shell_runs_in_the_output_directory_without_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-looking-secret-123456")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdef")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    spec = {"name": "sh", "tools": {"allow": ["shell", "python"]}, "steps": [
        {"id": "sh", "call": "shell", "params": {"command": "pwd; env | sort; echo done >&2"}},
        {"id": "py", "call": "python", "params": {"code": "import os; print(2 + 2, os.getcwd())"}}]}
    result = orc.run(spec, outdir=tmp_path / "out")
    assert result.status == "succeeded", result.error
    sh = result["sh"]
    assert sh["exit_code"] == 0 and sh["output"].splitlines()[0] == str((tmp_path / "out").resolve())
    assert "HARMLESS_SETTING=visible" in sh["output"] and "done" in sh["output"]
    assert "sk-real-looking-secret" not in sh["output"] and "tok-abcdef" not in sh["output"]
    assert result["py"] == {"exit_code": 0, "output": f"4 {(tmp_path / 'out').resolve()}\n"}


def test_a_shell_call_past_its_time_is_killed(tmp_path):
    spec = {"name": "slow", "tools": {"allow": ["shell"], "timeout": 0.5}, "steps": [
        {"id": "sh", "call": "shell", "params": {"command": "echo $$ > pid; sleep 30"}}]}
    result = orc.run(spec, outdir=tmp_path)
    assert result.status == "failed" and "shell: stopped after 0.5 s" in result.error
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_credential_a_tool_returns_never_reaches_the_model_or_the_store(scripted, monkeypatch):
    monkeypatch.setenv("SERVICE_API_KEY", "sk-leaky-0123456789")
    scripted([{"match": "the value is", "reply": "ok"},
              {"match": "Leak", "reply": {"tool_calls": [{"name": "leak", "arguments": {"name": "SERVICE_API_KEY"}}]}}])
    result = orc.run({"name": "leak", "steps": [{"id": "s", "model": "scripted:echo", "prompt": "Leak it",
                                                 "tools": ["tooltoys:leak"]}]})
    assert result.status == "succeeded"
    from orchestrator_nb.providers.scripted import ScriptedProvider
    assert "sk-leaky" not in ScriptedProvider.calls[-1]["prompt"] and "[redacted]" in ScriptedProvider.calls[-1]["prompt"]
    assert tool_calls(result.run_id)[0]["result"] == "the value is [redacted]"
