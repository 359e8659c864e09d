"""Third-party step kinds register through the `orchestrator_nb.steps` entry point."""
from __future__ import annotations

import sys

import pytest

import orchestrator_nb as orc
from orchestrator_nb.core import kinds

PLUGIN = '''
async def reverse(action, params, context):
    context.log(f"reversing for {context.step_id}")
    return (action + params.get("suffix", ""))[::-1]
'''


@pytest.fixture
def reverse_plugin(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "orc_reverse-1.0.dist-info").mkdir(parents=True)
    (site / "orc_reverse.py").write_text(PLUGIN)
    (site / "orc_reverse-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: orc-reverse\nVersion: 1.0\n")
    (site / "orc_reverse-1.0.dist-info" / "entry_points.txt").write_text(
        "[orchestrator_nb.steps]\nreverse = orc_reverse:reverse\n")
    monkeypatch.syspath_prepend(str(site))
    kinds.plugin_kinds.cache_clear()
    yield
    kinds.plugin_kinds.cache_clear()
    sys.modules.pop("orc_reverse", None)


def test_a_plugin_step_kind_runs_from_yaml(reverse_plugin):
    p = orc.load("""
name: plug
inputs: {word: {type: string, default: tide}}
steps:
  - id: flip
    reverse: "{{ inputs.word }}"
    params: {suffix: "s"}
  - id: after
    code: output = steps["flip"].upper()
""")
    r = p.run(db=False)
    assert r.status == "succeeded" and r["flip"] == "sedit" and r["after"] == "SEDIT"


def test_an_unknown_action_is_still_an_error(reverse_plugin):
    with pytest.raises(orc.SpecError, match="unknown key 'revers'"):
        orc.load("name: x\nsteps:\n  - id: a\n    revers: x\n")
