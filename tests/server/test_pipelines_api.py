"""GET /orc/api/pipelines: built-ins and YAML pipelines under the server root, read as YAML only."""
from __future__ import annotations

import os
import sys

MARKER_MODULE = """
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("the module ran")


def fn(**kwargs):
    return 1
"""


async def test_lists_builtins_and_files_with_typed_inputs(api, jp_root_dir, reviewed_yaml):
    root = jp_root_dir
    (root / "pipelines").mkdir()
    (root / "pipelines" / "notes.yaml").write_text(reviewed_yaml("notes"))
    (root / "pipelines" / "deep" / "er").mkdir(parents=True)
    (root / "pipelines" / "deep" / "er" / "typed.yml").write_text(
        "name: typed\ndescription: Every input type\ninputs:\n"
        "  text: {type: string, description: the words}\n  n: {type: integer, default: 3}\n"
        "  ratio: {type: number, default: 0.5}\n  flag: {type: boolean, default: false}\n"
        "  mode: {type: string, default: fast, choices: [fast, slow]}\n"
        "steps:\n  - {id: one, code: 'output = 1'}\n")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.yaml").write_text(reviewed_yaml("hidden"))
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.yaml").write_text(reviewed_yaml("dep"))
    (root / "config.yaml").write_text("setting: 1\nother: [a, b]\n")          # not a pipeline: left out
    (root / "broken.yaml").write_text("name: broken\nsteps:\n  - {id: one, code: [unclosed\n")
    (root / "badinputs.yaml").write_text(
        "name: bad\ninputs:\n  x: {type: strng}\nsteps:\n  - {id: a, code: 'output=1'}\n")
    outside = jp_root_dir.parent / "outside.yaml"
    outside.write_text(reviewed_yaml("outside"))
    os.symlink(outside, root / "link.yaml")                                 # points out of the root: left out

    data = await api.get("pipelines")
    by_id = {p["id"]: p for p in data["pipelines"]}
    assert list(by_id)[0] == "project" and by_id["project"]["builtin"] is True and by_id["project"]["path"] is None
    project = {i["name"]: i for i in by_id["project"]["inputs"]}
    assert project["requirements"]["type"] == "string" and project["requirements"]["required"] is True
    assert project["max_milestones"] == {"name": "max_milestones", "type": "integer", "required": False,
                                         "default": 3, "description": "at most this many milestones",
                                         "choices": None}
    assert by_id["project"]["approvals"] == ["review_analysis", "review_plan"]
    assert set(by_id) == {"project", "pipelines/notes.yaml", "pipelines/deep/er/typed.yml"}
    notes = by_id["pipelines/notes.yaml"]
    assert notes["name"] == "notes" and notes["builtin"] is False and notes["steps"] == 3
    assert notes["approvals"] == ["review"] and notes["inputs"][0]["default"] == "tides"
    typed = by_id["pipelines/deep/er/typed.yml"]
    assert [(i["name"], i["type"], i["required"]) for i in typed["inputs"]] == [
        ("text", "string", True), ("n", "integer", False), ("ratio", "number", False), ("flag", "boolean", False),
        ("mode", "string", False)]
    assert typed["inputs"][-1]["choices"] == ["fast", "slow"] and typed["description"] == "Every input type"
    errors = {e["path"]: e["message"] for e in data["errors"]}
    assert set(errors) == {"broken.yaml", "badinputs.yaml"}
    assert errors["broken.yaml"].startswith("broken.yaml:4: invalid YAML")
    assert "'strng'" in errors["badinputs.yaml"] and "inputs" in errors["badinputs.yaml"]


async def test_listing_and_starting_never_import_pipeline_code(api, jp_root_dir):
    (jp_root_dir / "stepmod_marker.py").write_text(MARKER_MODULE)
    (jp_root_dir / "coded.yaml").write_text(
        "name: coded\ninputs:\n  n: {type: integer, default: 1}\nsteps:\n"
        "  - {id: one, python: 'stepmod_marker:fn'}\n  - {id: two, code: 'open(\"CODE_RAN\", \"w\").write(\"x\")'}\n")
    data = await api.get("pipelines")
    assert [p["id"] for p in data["pipelines"]] == ["project", "coded.yaml"]
    assert not (jp_root_dir / "IMPORTED").exists() and not (jp_root_dir / "CODE_RAN").exists()
    code, data = await api.error("runs", method="POST", body={"pipeline": "coded.yaml", "inputs": {"n": "many"}})
    assert code == 400 and data["field"] == "inputs.n"
    assert not (jp_root_dir / "IMPORTED").exists() and "stepmod_marker" not in sys.modules
