"""py-orc model names -> our `provider:model` ids.

py-orc files name models the way their vendors do (`gpt-5-mini`, `claude-sonnet-4-20250514`,
`gemini-2.5-flash`) or with a provider prefix (`ollama:llama3.2:1b`, `openai:gpt-4o`). The
translation keeps the written name as an alias under `models:` so a converted file shows the
mapping in one place. ``ORC_PYORC_MODELS`` overrides it without editing the file:
``ORC_PYORC_MODELS="gpt-5-mini=ollama:llama3.2, *=openrouter:openai/gpt-4.1-mini"`` (`*` maps
every model name the file uses).
"""
from __future__ import annotations

import os
import re

from ...errors import SpecError

OUR_PROVIDERS = ("scripted", "openai", "anthropic", "azure", "ollama", "vllm", "lmstudio", "openrouter", "groq",
                 "together", "mistral", "deepseek", "fireworks", "gemini", "xai", "local", "replay")
# py-orc provider prefixes that are spelled differently here
PREFIXES = {"google": "gemini", "claude": "anthropic", "gpt": "openai", "grok": "xai"}
# bare model names by their first letters
BARE = (
    (r"^(gpt-|o1|o3|o4|chatgpt-|davinci|text-)", "openai"),
    (r"^claude-", "anthropic"),
    (r"^gemini-", "gemini"),
    (r"^(mistral-|mixtral-|codestral|ministral|magistral)", "mistral"),
    (r"^deepseek-", "deepseek"),
    (r"^grok-", "xai"),
    (r"^(llama|qwen|phi|gemma|smollm|tinyllama|deepseek-r1:|mistral:|codellama|nomic-)", "ollama"),
)


def native_model(name: str) -> str:
    """A model name as py-orc files write it -> `provider:model`."""
    name = name.strip()
    provider, sep, rest = name.partition(":")
    if sep and rest:
        if provider in OUR_PROVIDERS:
            return name
        if provider in PREFIXES:
            return f"{PREFIXES[provider]}:{rest}"
        if provider in ("huggingface", "hf", "transformers"):
            raise SpecError(f"model '{name}': Hugging Face transformers models are not supported",
                            hint="serve it with ollama, vllm or lmstudio and write e.g. ollama:<model>")
    if "/" in name and name.split("/", 1)[0] in OUR_PROVIDERS:
        head, tail = name.split("/", 1)
        return f"{head}:{tail}"
    for pattern, prov in BARE:
        if re.match(pattern, name, re.I):
            return f"{prov}:{name}"
    raise SpecError(f"unknown model '{name}'",
                    hint="write provider:model (e.g. openai:gpt-4.1-mini, ollama:llama3.2) "
                         "or map it with ORC_PYORC_MODELS")


def overrides() -> dict[str, str]:
    raw = os.environ.get("ORC_PYORC_MODELS", "")
    out: dict[str, str] = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or ":" not in value:
            raise SpecError(f"ORC_PYORC_MODELS: {pair.strip()!r} is not name=provider:model",
                            hint="e.g. ORC_PYORC_MODELS='gpt-5-mini=ollama:llama3.2,*=scripted:echo'")
        out[key.strip()] = value.strip()
    return out


class ModelTable:
    """Collects the `models:` aliases a translated pipeline needs."""

    def __init__(self):
        self.overrides = overrides()
        self.aliases: dict[str, str] = {}

    def ref(self, name: str) -> str:
        """What a step's `model:` says: the native id, or an alias kept under `models:`."""
        mapped = self.overrides.get(name) or self.overrides.get("*")
        if mapped is None:
            mapped = native_model(name)
            if mapped == name:          # already one of our ids: no alias needed
                return name
        self.aliases[name] = mapped
        return name
