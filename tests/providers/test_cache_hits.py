"""An answer from the cache does no provider work: no SDK import, no client, no model load.

Each re-run happens in a fresh process (as a user re-runs a script), so what it imports is what the
re-run needed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUN = r'''
import json, sys
import orchestrator_nb as orc
from orchestrator_nb.providers.scripted import ScriptedProvider
p = orc.Pipeline("cached", [
    orc.step("a", prompt="Name a tide.", model=sys.argv[1].split(",")),
    orc.step("b", prompt="Describe {{ steps.a.output }}", model=sys.argv[1].split(","))])
r = p.run()
print(json.dumps({"status": r.status, "out": r["b"], "scripted_calls": len(ScriptedProvider.calls),
                  "cached": [s["cached"] for s in r.steps],
                  "modules": sorted(m for m in ("anthropic", "openai", "llama_cpp") if m in sys.modules)}))
'''


def run(tmp_path, models: str, keys: bool = False) -> dict:
    script = tmp_path / "run.py"
    script.write_text(RUN)
    env = {k: v for k, v in os.environ.items() if keys or not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(script), models], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cached_answer_behind_a_provider_without_its_key_imports_no_sdk(tmp_path):
    """The flagship's chains start with a hosted model; without its key they fall back. A re-run
    answers from the cache without importing the hosted model's SDK (about a second each)."""
    first = run(tmp_path, "anthropic:claude-sonnet-4-5,openai:gpt-4.1,scripted:echo")
    assert first["status"] == "succeeded" and first["scripted_calls"] == 2
    assert first["modules"] == []  # no key: the SDKs are not even imported to find that out
    again = run(tmp_path, "anthropic:claude-sonnet-4-5,openai:gpt-4.1,scripted:echo")
    assert again["status"] == "succeeded" and again["out"] == first["out"]
    assert again["scripted_calls"] == 0 and again["cached"] == [True, True]
    assert again["modules"] == []


def test_a_cached_answer_with_a_key_present_imports_no_sdk(tmp_path, fake_anthropic):
    """With a key the SDK is imported for a real call only (the first run), never for a cache hit."""
    first = run(tmp_path, "anthropic:claude-sonnet-4-5", keys=True)
    assert first["status"] == "succeeded" and first["modules"] == ["anthropic"]
    served = len(fake_anthropic.requests)
    again = run(tmp_path, "anthropic:claude-sonnet-4-5", keys=True)
    assert again["cached"] == [True, True] and again["out"] == first["out"]
    assert again["modules"] == [] and len(fake_anthropic.requests) == served


@pytest.mark.local_model
def test_a_cached_answer_of_the_local_model_does_not_load_it(tmp_path):
    first = run(tmp_path, "local:smollm2")
    assert first["status"] == "succeeded" and "llama_cpp" in first["modules"]
    again = run(tmp_path, "local:smollm2")
    assert again["status"] == "succeeded" and again["out"] == first["out"] and again["cached"] == [True, True]
    assert "llama_cpp" not in again["modules"]  # the model was not loaded (llama.cpp not even imported)
