"""pytest plugin (entry point `pytest11`): fixtures for testing pipelines with orchestrator-nb.

- ``orc_store``: an isolated store (``ORC_DB`` in a temp folder) for one test.
- ``scripted``: script the ``scripted:`` provider's answers; ``scripted.calls`` lists requests.
- ``fake_openai``: a fake OpenAI server on 127.0.0.1, already configured as the ``openai`` provider
  (``ORC_OPENAI_BASE_URL`` and a fake ``OPENAI_API_KEY`` for this test). Point other
  OpenAI-compatible presets at it with ``fake_openai.configure("groq")``.
- ``fake_anthropic``: the same for Anthropic's Messages API (the ``anthropic`` provider).

Both servers speak the real wire formats, so the real ``openai`` / ``anthropic`` SDKs are exercised:

    def test_summary(fake_openai, orc_store):
        fake_openai.push("A short summary.", {"status": 429, "retry_after": 0.01})
        result = orc.run({"name": "t", "steps": [{"id": "s", "model": "openai:gpt-4.1-mini",
                                                  "prompt": "Summarize it"}]})
        assert result["s"] == "A short summary." and fake_openai.count == 1

Script answers with ``push`` (text, ``{"data": ...}``, ``{"status": 500}``, ``{"malformed": True}``,
``{"drop": True}``, ``{"delay": s}``), inject random faults with ``random_faults(rate, seed)``, and
inspect ``requests`` / ``count`` / ``answers()`` (see ``orchestrator_nb.testing.fake_http``).
"""
from __future__ import annotations

import pytest


@pytest.fixture
def orc_store(tmp_path, monkeypatch):
    from orchestrator_nb.store import Store
    path = tmp_path / ".orc" / "orc.duckdb"
    monkeypatch.setenv("ORC_DB", str(path))
    return Store(path)


class _Scripted:
    def __call__(self, rules):
        from orchestrator_nb.providers.scripted import script
        script(rules)
        return self

    @property
    def calls(self):
        from orchestrator_nb.providers.scripted import ScriptedProvider
        return ScriptedProvider.calls


@pytest.fixture
def scripted():
    from orchestrator_nb.providers.scripted import script
    script(None)
    yield _Scripted()
    script(None)


def _serve(server_cls, monkeypatch):
    server = server_cls().start()
    original = server.configure

    def configure(provider=None, key=None, monkeypatch_=None):
        return original(provider, key, monkeypatch_ or monkeypatch)

    server.configure = configure
    server.configure()
    return server


@pytest.fixture
def fake_openai(monkeypatch):
    from orchestrator_nb.testing.fake_openai import FakeOpenAI
    server = _serve(FakeOpenAI, monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic(monkeypatch):
    from orchestrator_nb.testing.fake_anthropic import FakeAnthropic
    server = _serve(FakeAnthropic, monkeypatch)
    yield server
    server.stop()
