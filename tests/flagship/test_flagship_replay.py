"""The `project` pipeline replayed from a committed cassette is deterministic: with no model
and no key, it writes exactly the files it wrote when the cassette was recorded on the offline
model (tests/flagship/record.py), and every file is an artifact row."""
from __future__ import annotations

import json

from flagkit import HERE, answered, calls, rows

from orchestrator_nb.cli.main import main

EXPECTED = HERE / "expected"


def _files(root) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_replay_writes_the_recorded_folder_byte_for_byte(tmp_path, monkeypatch, capsys):
    assert main(["cache", "import", str(HERE / "cassette.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("imported ")
    monkeypatch.setenv("ORC_MODE", "replay")
    code = main(["run", "project", "-p", f"requirements=@{HERE / 'requirements.md'}", "--approval", "auto",
                 "--outdir", "out", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result["error"]

    written = _files(tmp_path / "out" / "project")
    expected = _files(EXPECTED)
    assert sorted(written) == sorted(expected)
    for path in expected:
        assert written[path] == expected[path], f"{path} differs from tests/flagship/expected/{path}"
    assert {"plan.md", "project.json"} <= set(written)
    for folder in ("stories", "implementation", "prompts"):
        assert any(p.startswith(folder + "/") for p in written), folder

    # every model answer came from the recording; every file is an artifact row
    assert answered() and all(c["cached"] for c in answered())
    assert {c["provider"] for c in answered()} == {"local"}
    artifacts = rows(f"SELECT rel_path FROM artifacts WHERE run_id = '{result['run_id']}'")
    assert sorted(a["rel_path"] for a in artifacts) == sorted(f"project/{p}" for p in written)  # relative to --outdir
    # the routed vendors were tried first and recorded why they were skipped
    misses = {c["provider"]: c["error"].split(":")[0] for c in calls() if c["error"]}
    assert misses == {"anthropic": "replay_miss", "openai": "replay_miss"}


def test_replay_fails_clearly_when_the_requirements_change(tmp_path, monkeypatch, capsys):
    assert main(["cache", "import", str(HERE / "cassette.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("imported ")
    monkeypatch.setenv("ORC_MODE", "replay")
    changed = tmp_path / "changed.md"
    changed.write_text((HERE / "requirements.md").read_text() + "\n- Vegetarian places are marked.\n")
    code = main(["run", "project", "-p", f"requirements=@{changed}", "--approval", "auto", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["status"] == "failed"
    assert "replay mode: no recorded answer from local:smollm2" in result["error"]
