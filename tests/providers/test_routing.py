"""Routing (model > task routing > defaults.model > ORC_MODEL > automatic by task type), the price
table, `orc models`, base-URL overrides, .env files and third-party providers by entry point."""
from __future__ import annotations

import json
import sys
import textwrap

import pytest

import orchestrator_nb as orc
from orchestrator_nb.cli.main import main as orc_main
from orchestrator_nb.providers.routing import resolve_chain
from orchestrator_nb.errors import SpecError
from orchestrator_nb.providers import catalog, registry
from orchestrator_nb.core.loader import load

from provkit import llm_calls


def pipeline(**top):
    return load({"name": "r", **top, "steps": [{"id": "s", "prompt": "hi"}]})


@pytest.fixture
def offline_model(monkeypatch):
    """Whether the offline model is installed (the `[local]` extra) is this machine's business, not
    the routing's: these tests say which case they are about."""
    from orchestrator_nb.providers.local import LocalProvider

    def installed(yes: bool):
        monkeypatch.setattr(LocalProvider, "configured", classmethod(lambda cls: yes))
    installed(True)
    return installed


def test_no_key_at_all_routes_every_task_to_the_offline_model(offline_model):
    for task in list(catalog.PREFERENCES) + ["something-else", None]:
        assert resolve_chain(pipeline(), None, task) == ("local:smollm2",)


def test_without_the_offline_model_and_keys_no_model_is_configured(offline_model):
    offline_model(False)
    with pytest.raises(SpecError, match="no model configured for this step") as e:
        resolve_chain(pipeline(), None, "analysis")
    assert "pip install 'orchestrator-nb[local]'" in str(e.value)


def test_no_model_anywhere_is_a_clear_load_time_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ORC_LOCAL_MODEL", str(tmp_path / "absent.gguf"))
    spec = tmp_path / "p.yaml"
    spec.write_text("name: p\nsteps:\n  - id: s\n    prompt: hi\n")
    assert orc_main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "steps[0]" in err and "no model configured" in err
    assert "pip install 'orchestrator-nb[local]'" in err


def test_automatic_choice_prefers_the_strongest_configured_model_by_task(monkeypatch, offline_model):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k-anthropic-000000")
    monkeypatch.setenv("OPENAI_API_KEY", "k-openai-0000000000")
    p = pipeline()
    assert resolve_chain(p, None, "analysis") == ("anthropic:claude-opus-4-1", "openai:gpt-5", "local:smollm2")
    assert resolve_chain(p, None, "planning")[0] == "anthropic:claude-opus-4-1"
    assert resolve_chain(p, None, "summarize")[:2] == ("anthropic:claude-haiku-4-5", "openai:gpt-4.1-mini")
    assert resolve_chain(p, None, None)[:2] == ("anthropic:claude-sonnet-4-5", "openai:gpt-4.1")
    assert resolve_chain(p, None, "codegen")[0] == "anthropic:claude-sonnet-4-5"
    monkeypatch.setenv("ORC_OLLAMA_BASE_URL", "http://127.0.0.1:9/v1")       # a local server is configured
    assert resolve_chain(p, None, "codegen")[0] == "ollama:default"
    assert resolve_chain(p, None, "analysis")[0] == "anthropic:claude-opus-4-1"  # not for analysis


def test_every_preference_names_a_known_provider_and_ends_with_the_offline_model():
    names = set(registry.provider_names())
    for task, models in catalog.PREFERENCES.items():
        assert {m.split(":", 1)[0] for m in models} <= names, task
        assert models[-1] == "local:smollm2"
    assert catalog.AUTO_CHAIN == 3


def test_selection_order_model_then_routing_then_defaults_then_env(monkeypatch):
    p = load({"name": "r", "models": {"smart": ["openai:gpt-4.1", "anthropic:claude-sonnet-4-5"]},
              "routing": {"analysis": "smart"}, "defaults": {"model": "groq:llama-3.1-8b-instant"},
              "steps": [{"id": "s", "prompt": "hi"}]})
    assert resolve_chain(p, "mistral:mistral-small-latest", "analysis") == ("mistral:mistral-small-latest",)
    assert resolve_chain(p, None, "analysis") == ("openai:gpt-4.1", "anthropic:claude-sonnet-4-5")
    assert resolve_chain(p, None, "writing") == ("groq:llama-3.1-8b-instant",)
    del p.defaults["model"]
    monkeypatch.setenv("ORC_MODEL", "xai:grok-4, smart")
    assert resolve_chain(p, None, "writing") == ("xai:grok-4", "openai:gpt-4.1", "anthropic:claude-sonnet-4-5")


def test_a_task_routed_automatically_reaches_the_chosen_vendor(fake_anthropic, fake_openai):
    fake_anthropic.push("deep analysis")
    result = orc.run({"name": "auto", "steps": [{"id": "s", "task": "analysis", "prompt": "Analyze this"}]})
    assert result["s"] == "deep analysis"
    [call] = llm_calls(result.run_id)
    assert (call["provider"], call["model"]) == ("anthropic", "claude-opus-4-1")
    assert call["cost_usd"] > 0 and fake_openai.count == 0


def test_prices_table_dated_snapshots_unknown_models_and_overrides():
    assert catalog.cost_usd("openai:gpt-4.1", 1_000_000, 1_000_000) == pytest.approx(10.0)
    assert catalog.price("anthropic:claude-sonnet-4-5-20250929") == (3.0, 15.0)
    assert catalog.price("openai:gpt-4.1-mini-2025-04-14") == (0.4, 1.6)       # the longest base name wins
    assert catalog.cost_usd("ollama:llama3.2", 10_000, 10_000) == 0.0
    overrides = {"ollama:llama3.2": {"input": 1.0, "output": 1.0}}
    assert catalog.cost_usd("ollama:llama3.2", 500_000, 500_000, overrides) == pytest.approx(1.0)


def test_orc_models_lists_every_provider_with_key_state_but_never_the_key(monkeypatch, capsys):
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-secret-value-123456")
    monkeypatch.setenv("ORC_OLLAMA_BASE_URL", "http://gpu-box:11434/v1")
    assert orc_main(["models"]) == 0
    out = capsys.readouterr().out
    assert "mistral-secret-value-123456" not in out
    lines = out.splitlines()[2:]
    providers = {line.split()[0]: line for line in lines}
    expected = {"anthropic", "openai", "azure", "ollama", "vllm", "lmstudio", "openrouter", "groq", "together",
                "mistral", "deepseek", "fireworks", "gemini", "xai", "local", "replay"}
    assert expected <= set(providers) and len(providers) >= 12
    assert "MISTRAL_API_KEY set" in providers["mistral"] and "GROQ_API_KEY missing" in providers["groq"]
    assert "http://gpu-box:11434/v1" in providers["ollama"]
    assert "https://api.groq.com/openai/v1" in providers["groq"] and "claude-sonnet-4-5" in providers["anthropic"]
    assert orc_main(["models", "--json"]) == 0
    rows = {r["provider"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mistral"]["key_present"] is True and rows["openai"]["key_present"] is False
    assert rows["local"]["ready"] is True and rows["ollama"]["ready"] is True


def test_keys_and_base_urls_come_from_a_dotenv_file(tmp_path, capsys):
    (tmp_path / ".env").write_text('export DEEPSEEK_API_KEY="ds-from-dotenv-0000"\n'
                                   "ORC_DEEPSEEK_BASE_URL=http://127.0.0.1:1/v1  # a comment\n")
    rows = {r["provider"]: r for r in orc.models()}
    assert rows["deepseek"]["key_present"] and rows["deepseek"]["base_url"] == "http://127.0.0.1:1/v1"
    from orchestrator_nb.providers.presets import DeepSeekProvider
    assert DeepSeekProvider().api_key == "ds-from-dotenv-0000"


PLUGIN = '''
from orchestrator_nb.providers.base import LLMResponse, Provider

class ShoutProvider(Provider):
    name = "shout"
    models = ("loud",)

    async def complete(self, request, on_token=None):
        text = request.messages[-1]["content"].upper()
        if on_token:
            on_token(text)
        return LLMResponse(text=text, tokens_in=1, tokens_out=1)
'''


@pytest.fixture
def shout_plugin(tmp_path, monkeypatch):
    """A third-party provider installed the real way: a module plus a dist-info with an entry point."""
    site = tmp_path / "site"
    (site / "orc_shout-1.0.dist-info").mkdir(parents=True)
    (site / "orc_shout.py").write_text(PLUGIN)
    (site / "orc_shout-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: orc-shout\nVersion: 1.0\n")
    (site / "orc_shout-1.0.dist-info" / "entry_points.txt").write_text(
        "[orchestrator_nb.providers]\nshout = orc_shout:ShoutProvider\n")
    monkeypatch.syspath_prepend(str(site))
    registry._entry_points.cache_clear()
    yield site
    registry._entry_points.cache_clear()
    sys.modules.pop("orc_shout", None)


def test_a_third_party_provider_registers_through_the_entry_point(shout_plugin, capsys):
    assert "shout" in registry.provider_names()
    result = orc.run({"name": "plug", "steps": [{"id": "s", "model": "shout:loud", "prompt": "quiet please"}]})
    assert result["s"] == "QUIET PLEASE"
    assert orc_main(["models"]) == 0
    assert any(line.startswith("shout ") for line in capsys.readouterr().out.splitlines())


def test_an_unknown_provider_is_a_load_time_error_with_a_suggestion(capsys, tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text(textwrap.dedent("""\
        name: p
        steps:
          - id: s
            model: antropic:claude-sonnet-4-5
            prompt: hi
        """))
    assert orc_main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "unknown provider 'antropic'" in err and "did you mean 'anthropic'" in err and "steps[0].model" in err
    with pytest.raises(SpecError):
        registry.provider_class("nope")
