"""Servers that speak the OpenAI Chat Completions API: one small class each (key variable,
default base URL, well-known models, how they take structured output), plus Azure OpenAI.

``ORC_<NAME>_BASE_URL`` overrides any base URL (e.g. a remote Ollama). Servers that run on your
own machine need no key; they count as configured (for automatic routing) only when their base URL
is set explicitly, so a missing local server is never picked by surprise.
"""
from __future__ import annotations

from ..errors import ProviderError
from ..credentials import getenv
from .openai_chat import OpenAIProvider


class _SelfHosted(OpenAIProvider):
    """A server you run yourself (no key). The model name ``default`` means the first model the
    server lists (``GET /models``), which is what automatic routing asks for."""

    key_env = None
    placeholder_key = "not-needed"
    max_tokens_param = "max_tokens"
    local = True

    @classmethod
    def configured(cls) -> bool:
        return bool(getenv(f"ORC_{cls.name.upper()}_BASE_URL"))

    note = "no key; chosen automatically once ORC_<NAME>_BASE_URL is set"

    async def complete(self, request, on_token=None):
        if request.model in ("", "default"):
            request = _with_model(request, await self._served_model())
        return await super().complete(request, on_token)

    async def _served_model(self) -> str:
        if getattr(self, "_served", None) is None:
            from .sdk_errors import classify
            try:
                page = await self.client().models.list()
                names = [m.id for m in page.data]
            except Exception as e:
                raise classify(e, self.name, self.secrets()) from None
            if not names:
                raise ProviderError(f"{self.name}: the server at {self.base_url} lists no models; load or pull one",
                                    reason="bad_request")
            self._served = names[0]
        return self._served


class OllamaProvider(_SelfHosted):
    name = "ollama"
    default_base_url = "http://localhost:11434/v1"
    models = ("default", "llama3.2", "qwen2.5-coder", "gemma3")


class VLLMProvider(_SelfHosted):
    name = "vllm"
    default_base_url = "http://localhost:8000/v1"
    models = ("default",)

    def __init__(self, api_key=None, base_url=None):
        super().__init__(api_key if api_key is not None else getenv("VLLM_API_KEY"), base_url)


class LMStudioProvider(_SelfHosted):
    name = "lmstudio"
    default_base_url = "http://localhost:1234/v1"
    models = ("default",)


def _with_model(request, model: str):
    import dataclasses
    return dataclasses.replace(request, model=model)


class _Hosted(OpenAIProvider):
    max_tokens_param = "max_tokens"


class OpenRouterProvider(_Hosted):
    name = "openrouter"
    key_env = "OPENROUTER_API_KEY"
    default_base_url = "https://openrouter.ai/api/v1"
    models = ("anthropic/claude-sonnet-4.5", "openai/gpt-4.1", "meta-llama/llama-3.3-70b-instruct")


class GroqProvider(_Hosted):
    name = "groq"
    key_env = "GROQ_API_KEY"
    default_base_url = "https://api.groq.com/openai/v1"
    models = ("llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b")
    supports_schema = False
    schema_mode = "json_object"


class TogetherProvider(_Hosted):
    name = "together"
    key_env = "TOGETHER_API_KEY"
    default_base_url = "https://api.together.xyz/v1"
    models = ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "Qwen/Qwen2.5-Coder-32B-Instruct")


class MistralProvider(_Hosted):
    name = "mistral"
    key_env = "MISTRAL_API_KEY"
    default_base_url = "https://api.mistral.ai/v1"
    models = ("mistral-large-latest", "mistral-small-latest", "codestral-latest")


class DeepSeekProvider(_Hosted):
    name = "deepseek"
    key_env = "DEEPSEEK_API_KEY"
    default_base_url = "https://api.deepseek.com/v1"
    models = ("deepseek-chat", "deepseek-reasoner")
    supports_schema = False
    schema_mode = "json_object"


class FireworksProvider(_Hosted):
    name = "fireworks"
    key_env = "FIREWORKS_API_KEY"
    default_base_url = "https://api.fireworks.ai/inference/v1"
    models = ("accounts/fireworks/models/llama-v3p3-70b-instruct",)


class GeminiProvider(_Hosted):
    name = "gemini"
    key_env = "GEMINI_API_KEY"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai/"
    models = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash")


class XAIProvider(_Hosted):
    name = "xai"
    key_env = "XAI_API_KEY"
    default_base_url = "https://api.x.ai/v1"
    models = ("grok-4", "grok-3-mini")


class AzureProvider(OpenAIProvider):
    """Azure OpenAI: the model name is your deployment's name.

    Endpoint: ``ORC_AZURE_BASE_URL`` or ``AZURE_OPENAI_ENDPOINT`` (https://NAME.openai.azure.com);
    API version: ``ORC_AZURE_API_VERSION`` or ``OPENAI_API_VERSION`` (default below)."""

    name = "azure"
    key_env = "AZURE_OPENAI_API_KEY"
    default_base_url = None
    models = ("<your deployment name>",)
    api_version = "2024-10-21"

    @classmethod
    def env_base_url(cls) -> str | None:
        return getenv("ORC_AZURE_BASE_URL") or getenv("AZURE_OPENAI_ENDPOINT")

    @classmethod
    def configured(cls) -> bool:
        return bool(cls.env_key()) and bool(cls.env_base_url())

    def make_client(self, key: str):
        if not self.base_url:
            raise ProviderError("azure: no endpoint; set AZURE_OPENAI_ENDPOINT (https://NAME.openai.azure.com) "
                                "or ORC_AZURE_BASE_URL", reason="missing_key")
        import openai
        version = getenv("ORC_AZURE_API_VERSION") or getenv("OPENAI_API_VERSION") or self.api_version
        from .wire import http_client
        return openai.AsyncAzureOpenAI(api_key=key, azure_endpoint=self.base_url, api_version=version,
                                       max_retries=0, http_client=http_client(openai, self.label))
