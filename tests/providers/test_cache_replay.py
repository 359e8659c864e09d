"""Acceptance 3: a re-run answers from the cache (0 HTTP requests, under 100 ms); ORC_MODE=replay
answers only from recordings and fails naming the step on a miss; `orc cache export/import` moves
recordings as JSONL cassettes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main as orc_main

from provkit import llm_calls

TEN = """
name: ten
steps:
  - id: s0
    model: openai:gpt-4.1-mini
    prompt: Name one planet.
""" + "".join(f"""  - id: s{i}
    model: openai:gpt-4.1-mini
    prompt: "Step {i}: say more about {{{{ steps.s{i - 1}.output }}}}"
""" for i in range(1, 10))


@pytest.fixture
def ten(tmp_path):
    path = tmp_path / "ten.yaml"
    path.write_text(TEN)
    return str(path)


def test_rerun_of_a_finished_10_call_pipeline_makes_no_request_in_under_100ms(fake_openai, ten):
    first = orc.run(ten)
    assert first.status == "succeeded", first.error
    assert fake_openai.count == 10
    second = orc.run(ten)
    assert second.status == "succeeded", second.error
    assert fake_openai.count == 10                      # not one more HTTP request
    assert second.outputs == first.outputs
    assert second.seconds < 0.1, f"a cached re-run took {second.seconds * 1000:.0f} ms"
    calls = llm_calls(second.run_id)
    assert len(calls) == 10 and all(c["cached"] for c in calls)
    assert second.cost == 0 and second.tokens == 0     # nothing billed twice
    assert all(s["cached"] for s in second.steps)


def test_rerun_through_the_cli_makes_no_request(fake_openai, ten, capsys):
    assert orc_main(["run", ten, "-q"]) == 0
    assert fake_openai.count == 10
    assert orc_main(["run", ten, "-q"]) == 0
    assert fake_openai.count == 10
    assert "(cached)" in capsys.readouterr().out


def test_replay_with_an_empty_cache_fails_naming_the_step(fake_openai, ten, monkeypatch, capsys):
    monkeypatch.setenv("ORC_MODE", "replay")
    result = orc.run(ten)
    assert result.status == "failed"
    assert result.error.startswith("step 's0': replay mode: no recorded answer from openai:gpt-4.1-mini")
    assert fake_openai.count == 0
    [call] = llm_calls(result.run_id)
    assert call["error"].startswith("replay_miss:") and call["step_id"] == "s0"
    assert orc_main(["run", ten, "-q"]) == 1
    err = capsys.readouterr()
    assert "step 's0': replay mode: no recorded answer" in err.out + err.err


def test_replay_answers_from_recordings_and_live_mode_skips_the_cache(fake_openai, ten, monkeypatch):
    recorded = orc.run(ten)
    monkeypatch.setenv("ORC_MODE", "replay")
    replayed = orc.run(ten)
    assert replayed.outputs == recorded.outputs and fake_openai.count == 10
    monkeypatch.setenv("ORC_MODE", "live")
    orc.run(ten)
    assert fake_openai.count == 20


def test_no_cache_recomputes_but_still_records(fake_openai, ten):
    orc.run(ten, use_cache=False)
    orc.run(ten, use_cache=False)
    assert fake_openai.count == 20
    orc.run(ten)
    assert fake_openai.count == 20


def test_replay_follows_the_chain_to_the_model_that_answered(fake_openai, fake_anthropic, monkeypatch):
    spec = {"name": "chain", "models": {"m": ["openai:a", "anthropic:b"]},
            "steps": [{"id": "s", "model": "m", "prompt": "hello"}]}
    fake_openai.fail(500)
    fake_anthropic.push("recorded from claude")
    assert orc.run(spec)["s"] == "recorded from claude"
    monkeypatch.setenv("ORC_MODE", "replay")
    assert orc.run(spec)["s"] == "recorded from claude"
    assert (fake_openai.count, fake_anthropic.count) == (1, 1)


def test_replay_prefix_replays_one_model(fake_openai):
    spec = {"name": "p", "steps": [{"id": "s", "model": "openai:gpt-4.1", "prompt": "hello"}]}
    live = orc.run(spec)["s"]
    spec["steps"][0]["model"] = "replay:openai:gpt-4.1"
    assert orc.run(spec)["s"] == live
    spec["steps"][0]["prompt"] = "never recorded"
    result = orc.run(spec)
    assert result.status == "failed" and "step 's': replay mode" in result.error
    assert fake_openai.count == 1


def test_cassette_export_then_import_into_a_new_store_replays_offline(fake_openai, ten, tmp_path, monkeypatch,
                                                                      capsys):
    assert orc_main(["run", ten, "-q"]) == 0
    cassette = tmp_path / "ten.jsonl"
    assert orc_main(["cache", "export", str(cassette)]) == 0
    lines = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert len(lines) == 10
    assert all(len(e["key"]) == 64 and e["model"] == "openai:gpt-4.1-mini" and e["pipeline"] == "ten" for e in lines)
    assert {e["step"] for e in lines} == {f"s{i}" for i in range(10)}
    assert all(e["response"]["text"] and e["request"]["messages"] for e in lines)
    capsys.readouterr()

    other = str(tmp_path / "elsewhere" / "orc.duckdb")
    assert orc_main(["cache", "import", str(cassette), "--db", other]) == 0
    assert "imported 10 recordings" in capsys.readouterr().out
    # a new process, no key, no server: replay from the imported cassette only
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("ORC_")}
    env.update(ORC_MODE="replay", ORC_DB=other)
    proc = subprocess.run([sys.executable, "-m", "orchestrator_nb.cli.main", "run", ten, "--json", "-q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "succeeded" and len(out["outputs"]) == 10
    assert fake_openai.count == 10


def test_cassette_export_to_stdout_and_by_pipeline(fake_openai, ten, capsys):
    orc.run(ten)
    orc.run({"name": "other", "steps": [{"id": "x", "model": "openai:gpt-4.1", "prompt": "hi"}]})
    capsys.readouterr()
    assert orc_main(["cache", "export", "-", "--pipeline", "other"]) == 0
    captured = capsys.readouterr()
    [line] = captured.out.splitlines()
    assert json.loads(line)["pipeline"] == "other"
    assert "exported 1 recordings" in captured.err


def test_cassette_import_reports_the_bad_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    good = {"key": "a" * 64, "model": "openai:x", "response": {"text": "hi"}}
    bad.write_text(json.dumps(good) + "\n{not json\n")
    assert orc_main(["cache", "import", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"orc: error: {bad}:2: not a cassette line") and "\n" not in err
    assert orc_main(["cache", "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read cassette" in capsys.readouterr().err
