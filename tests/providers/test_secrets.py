"""Acceptance 4: API keys never reach the store, journals, cache/cassettes, outputs, logs, console
output or error messages — even when a server echoes the key back in its error body."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main as orc_main
from orchestrator_nb.testing import FakeAnthropic, FakeOpenAI

OPENAI_KEY = "sk-test-SECRET123-openai-9f8e7d6c5b4a"
ANTHROPIC_KEY = "sk-ant-test-SECRET456-anthropic-0a1b2c3d"
GROQ_KEY = "gsk_test_SECRET789_groq_from_dotenv_55aa"   # only in the .env file
KEYS = (OPENAI_KEY, ANTHROPIC_KEY, GROQ_KEY)

PIPELINE = """
name: secrets
models:
  chain: [openai:gpt-4.1-mini, anthropic:claude-haiku-4-5]
steps:
  - id: plain
    model: openai:gpt-4.1-mini
    prompt: Say hello
  - id: structured
    model: anthropic:claude-haiku-4-5
    prompt: Give risks for {{ steps.plain.output }}
    output: {schema: {type: object, properties: {risks: {type: array}}, required: [risks]}}
  - id: dotenv
    model: groq:llama-3.1-8b-instant
    prompt: Hello from groq
  - id: fallback
    model: chain
    prompt: Try the chain
"""


def hits(text: str) -> list[str]:
    """Every key (or a long part of one) found in ``text``."""
    found = []
    for key in KEYS:
        for part in (key, key[4:20], key[-16:]):
            if part in text:
                found.append(part)
    return found


def scan_files(root: Path, skip=()) -> dict[str, list[str]]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and path not in skip:
            found = hits(path.read_bytes().decode("latin-1"))
            if found:
                out[str(path.relative_to(root))] = found
    return out


def scan_store() -> list[str]:
    """Every value of every table, read back through DuckDB (the file itself may be compressed)."""
    cols, tables = orc.sql("SELECT table_name FROM information_schema.tables", limit=None)
    found = []
    for (table,) in tables:
        cols, rows = orc.sql(f"SELECT * FROM {table}", limit=None)
        text = json.dumps(rows, default=str)
        found += [f"{table}: {h}" for h in hits(text)]
    return found


@pytest.fixture
def servers(monkeypatch, tmp_path):
    with FakeOpenAI(key=OPENAI_KEY) as oa, FakeAnthropic(key=ANTHROPIC_KEY) as an:
        oa.configure("openai", key=OPENAI_KEY, monkeypatch=monkeypatch)
        an.configure("anthropic", key=ANTHROPIC_KEY, monkeypatch=monkeypatch)
        monkeypatch.setenv("ORC_GROQ_BASE_URL", oa.url)
        oa.key = None  # the OpenAI-compatible server also serves groq, whose key is in .env
        (tmp_path / ".env").write_text(f"# keys for this project\nGROQ_API_KEY={GROQ_KEY}\n")
        yield oa, an


def test_the_scanner_finds_a_planted_key(tmp_path):
    (tmp_path / "leak.txt").write_text(f"oops {ANTHROPIC_KEY[:-3]}")
    assert scan_files(tmp_path) == {"leak.txt": [ANTHROPIC_KEY[4:20]]}


def test_no_key_anywhere_after_successful_and_failing_runs(servers, tmp_path, monkeypatch, capfd, caplog):
    oa, an = servers
    caplog.set_level(logging.DEBUG)          # the SDKs' and httpx's debug logs too
    spec = tmp_path / "secrets.yaml"
    spec.write_text(PIPELINE)
    errors: list[str] = []

    ok = orc.run(str(spec))
    assert ok.status == "succeeded", ok.error
    keys = {r.body.get("model"): r.api_key for r in oa.requests}   # parallel steps: any order
    assert keys["gpt-4.1-mini"] == OPENAI_KEY
    assert keys["llama-3.1-8b-instant"] == GROQ_KEY                  # the .env key was used

    # failures: a key the server refuses (it echoes the key back), errors quoting it, a bad body
    an.key = "some-other-key-the-server-expects"
    oa.push({"status": 500, "retry_after": 0, "message": f"upstream saw Authorization: Bearer {OPENAI_KEY}"})
    failed = orc.run(str(spec), use_cache=False)
    assert failed.status == "failed"
    errors += [failed.error] + [s["error"] or "" for s in failed.steps]
    an.key = None
    oa.push({"status": 400, "message": f"invalid request for key {OPENAI_KEY}"})
    failed = orc.run(str(spec), use_cache=False)
    errors += [failed.error] + [s["error"] or "" for s in failed.steps]
    oa.push({"malformed": True}, {"status": 401, "message": f"key {OPENAI_KEY} revoked"})
    failed = orc.run(str(spec), use_cache=False)
    errors += [failed.error] + [s["error"] or "" for s in failed.steps]
    errors += [e or "" for (e,) in orc.sql("SELECT error FROM llm_calls", limit=None)[1]]
    assert any("HTTP 401" in e for e in errors) and any("HTTP 500" in e for e in errors)
    assert any("[redacted]" in e for e in errors)   # the echoed key was there, and was removed

    # the command line: a failing run, then every command that shows what was recorded
    oa.push({"status": 401, "message": f"Incorrect API key provided: {OPENAI_KEY}"})
    assert orc_main(["run", str(spec), "--no-cache"]) == 1
    for args in (["runs"], ["show", failed.run_id], ["show", failed.run_id, "--json", "--events"], ["models"],
                 ["models", "--json"], ["cache", "export", "-"], ["sql", "SELECT error FROM llm_calls"]):
        orc_main(args)
    assert orc_main(["cache", "export", str(tmp_path / "cassette.jsonl")]) == 0
    out = capfd.readouterr()
    assert "HTTP 401" in out.out + out.err
    assert "OPENAI_API_KEY set" in out.out and "GROQ_API_KEY set" in out.out
    assert hits(out.out + out.err) == []
    assert hits(caplog.text) == [] and len(caplog.records) > 20
    assert hits("\n".join(errors)) == []
    assert scan_store() == []
    # the DuckDB file, journals, cache and cassette files, outputs: everything but the .env itself
    assert scan_files(tmp_path, skip={tmp_path / ".env"}) == {}
    files = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert "orc.duckdb" in files and "cassette.jsonl" in files
    assert any(p.suffix == ".json" for p in (tmp_path / ".orc").rglob("*"))  # cache entries were scanned


def test_error_messages_never_carry_a_key_passed_only_to_the_provider():
    """A key given in code (not in the environment) is still removed from the provider's errors."""
    import asyncio

    from orchestrator_nb.errors import ProviderError
    from orchestrator_nb.providers.base import LLMRequest
    from orchestrator_nb.providers.openai_chat import OpenAIProvider

    with FakeOpenAI(key="expected-key-0000000000") as server:
        provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=server.url)

        async def call():
            try:
                await provider.complete(LLMRequest(model="m", messages=[{"role": "user", "content": "x"}]))
            finally:
                await provider.aclose()

        with pytest.raises(ProviderError) as info:
            asyncio.run(call())
    assert info.value.reason == "auth" and "[redacted]" in str(info.value) and hits(str(info.value)) == []
    assert info.value.__suppress_context__ and info.value.__cause__ is None


@pytest.mark.slow   # a separate `orc` process
def test_a_cli_process_with_keys_in_its_environment_prints_none(servers, tmp_path):
    oa, an = servers
    spec = tmp_path / "secrets.yaml"
    spec.write_text(PIPELINE)
    an.push({"status": 500, "message": f"upstream rejected {ANTHROPIC_KEY}"})
    oa.push({"status": 401, "message": f"Incorrect API key provided: {OPENAI_KEY}"})
    env = dict(os.environ, ORC_DB=str(tmp_path / ".orc" / "orc.duckdb"))
    proc = subprocess.run([sys.executable, "-m", "orchestrator_nb.cli.main", "run", str(spec)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1 and "HTTP 401" in proc.stdout + proc.stderr
    assert hits(proc.stdout + proc.stderr) == []
    assert scan_store() == [] and scan_files(tmp_path, skip={tmp_path / ".env"}) == {}
