"""Which providers exist: built-ins (imported lazily) plus the `orchestrator_nb.providers` entry point."""
from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from ..errors import SpecError
from .base import Provider

# name -> "module:Class"; modules are imported only when the provider is used.
_P = "orchestrator_nb.providers."
BUILTIN: dict[str, str] = {
    "anthropic": _P + "anthropic_messages:AnthropicProvider",
    "openai": _P + "openai_chat:OpenAIProvider",
    "openai-responses": _P + "openai_responses:OpenAIResponsesProvider",
    "azure": _P + "presets:AzureProvider",
    "ollama": _P + "presets:OllamaProvider",
    "vllm": _P + "presets:VLLMProvider",
    "lmstudio": _P + "presets:LMStudioProvider",
    "openrouter": _P + "presets:OpenRouterProvider",
    "groq": _P + "presets:GroqProvider",
    "together": _P + "presets:TogetherProvider",
    "mistral": _P + "presets:MistralProvider",
    "deepseek": _P + "presets:DeepSeekProvider",
    "fireworks": _P + "presets:FireworksProvider",
    "gemini": _P + "presets:GeminiProvider",
    "xai": _P + "presets:XAIProvider",
    "local": _P + "local:LocalProvider",
    "replay": _P + "replay:ReplayProvider",
    "scripted": _P + "scripted:ScriptedProvider",
}


def split_model(model_id: str) -> tuple[str, str]:
    """'ollama:llama3.2:1b' -> ('ollama', 'llama3.2:1b')."""
    provider, sep, model = model_id.partition(":")
    if not sep or not provider:
        raise SpecError(f"model '{model_id}' needs a provider prefix",
                        hint="write provider:model, e.g. openai:gpt-4.1, or use an alias from `models:`")
    return provider, model


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, object]:
    from importlib.metadata import entry_points
    return {ep.name: ep for ep in entry_points(group="orchestrator_nb.providers")}


def provider_names() -> list[str]:
    return sorted(set(BUILTIN) | set(_entry_points()))


def provider_class(name: str) -> type[Provider]:
    target = BUILTIN.get(name)
    if target is not None:
        module, _, cls = target.partition(":")
        return getattr(import_module(module), cls)
    ep = _entry_points().get(name)
    if ep is not None:
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise SpecError(f"entry point '{name}' does not name a Provider subclass")
        return cls
    from ..core.pipeline import suggest
    raise SpecError(f"unknown provider '{name}'",
                    hint=suggest(name, provider_names()) or "see `orc models` for the providers")
