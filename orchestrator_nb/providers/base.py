"""The provider interface: one small class per vendor.

A provider turns an ``LLMRequest`` into an ``LLMResponse`` over its vendor's API, streaming text
through ``on_token`` when given, and raises ``ProviderError`` with a ``reason`` word when it
fails (the gateway in ``providers.gateway`` decides on retries and fallbacks from that word).
Everything else (routing, fallback chains, caching, replay, accounting, recording, structured
output validation and re-asking) lives in the gateway, so a provider stays one method.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from ..credentials import getenv, known_secrets, redact  # noqa: F401 - providers use them from here
from ..errors import ProviderError

TokenCallback = Callable[[str], None]
DEFAULT_TIMEOUT = 120.0                         # seconds, when a step sets none


@dataclass
class LLMRequest:
    """``messages`` are vendor-neutral: {"role": "user"|"assistant", "content": str}; with tools
    also an assistant turn that calls tools {"role": "assistant", "content": str, "tool_calls":
    [{"id", "name", "arguments": dict}]} and tool results {"role": "tool", "tool_call_id", "name",
    "content": str, "is_error": bool}. ``tools``: [{"name", "description", "parameters": JSON
    Schema}]. Each provider turns them into its vendor's wire format."""

    model: str                                  # the vendor's model name (no provider prefix)
    messages: list[dict]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    schema: dict | None = None                  # JSON Schema the answer must match (structured output)
    json_mode: bool = False                     # answer must be a JSON value (no particular schema)
    timeout: float | None = None                # seconds for the whole call
    options: dict = field(default_factory=dict)  # provider-specific extras (validated by Options)
    tools: list[dict] | None = None             # tools the model may call (see above)

    def cache_fields(self) -> dict:
        """What identifies this request for caching (no timeout: it does not change the answer).
        ``tools`` only when given, so recordings made before tools existed still match."""
        out = {"model": self.model, "messages": self.messages, "system": self.system,
               "temperature": self.temperature, "max_tokens": self.max_tokens,
               "schema": self.schema, "json_mode": self.json_mode, "options": self.options}
        if self.tools:
            out["tools"] = self.tools
        return out


@dataclass
class LLMResponse:
    text: str                                   # the answer (JSON text for structured output)
    tokens_in: int = 0
    tokens_out: int = 0
    model: str | None = None                    # the model the vendor says answered
    finish_reason: str | None = None
    data: Any = None                            # parsed JSON when the vendor returned it as a tool call
    cost_usd: float = 0.0                       # filled in by the gateway from the price table
    tool_calls: list[dict] = field(default_factory=list)  # [{"id", "name", "arguments": dict}]


class Provider(ABC):
    """Subclass, set the class attributes, implement ``complete``. Register built-ins in
    ``providers.registry.BUILTIN``; third parties use the ``orchestrator_nb.providers`` entry point."""

    name: ClassVar[str] = ""
    key_env: ClassVar[str | None] = None        # e.g. "ANTHROPIC_API_KEY"; None = no key needed
    default_base_url: ClassVar[str | None] = None
    models: ClassVar[tuple[str, ...]] = ()      # well-known model names, for `orc models`
    supports_schema: ClassVar[bool] = False     # native structured output (JSON schema / tool use)
    supports_stream: ClassVar[bool] = True
    supports_tools: ClassVar[bool] = False      # takes ``tools`` and answers with tool calls
    local: ClassVar[bool] = False               # runs on this machine (for routing code tasks)
    sdk: ClassVar[str | None] = None            # module to import before the first call (off the loop)
    sdk_extra: ClassVar[tuple[str, ...]] = ()   # submodules the SDK imports lazily on its first call

    def __init__(self, api_key: str | None = None, base_url: str | None = None):
        self.api_key = api_key if api_key is not None else self.env_key()
        self.base_url = base_url or self.env_base_url()

    # configuration -----------------------------------------------------------------------------
    @classmethod
    def env_key(cls) -> str | None:
        return getenv(cls.key_env) if cls.key_env else None

    @classmethod
    def env_base_url(cls) -> str | None:
        return getenv(f"ORC_{cls.name.upper()}_BASE_URL") or cls.default_base_url

    @classmethod
    def configured(cls) -> bool:
        """Usable without further setup: a key is present (or none is needed)."""
        return cls.key_env is None or bool(cls.env_key())

    @classmethod
    def unknown_model(cls, model: str) -> str | None:
        """For a provider with a fixed set of models: how to fix a name it cannot serve (else None).
        Checked statically by `orc validate` and dry runs; most providers accept any name."""
        return None

    def require_key(self) -> str:
        if self.key_env and not self.api_key:
            raise ProviderError(f"{self.name}: no API key; set {self.key_env} in the environment or a .env file",
                                reason="missing_key")
        return self.api_key or ""

    # the one method ----------------------------------------------------------------------------
    @abstractmethod
    async def complete(self, request: LLMRequest, on_token: TokenCallback | None = None) -> LLMResponse:
        """Answer the request; call ``on_token(text)`` for each streamed piece when given."""

    async def aclose(self) -> None:
        """Release HTTP clients (called when a run ends)."""

    def setup(self) -> None:
        """Before this instance's first real call (in a worker thread, off the call's time): the
        SDK imported and its client made. A cached answer never gets here."""
        type(self).warm()
        try:
            self.client()
        except Exception:
            pass  # a missing key and the like: the call itself says so

    def client(self):  # pragma: no cover - SDK-less providers have no client to make
        return None

    @classmethod
    def warm(cls) -> None:
        """Make the first call in this process cheap: import the SDK and what it loads lazily (no
        client is made: a cached answer needs none). Runs once per process, in a worker thread,
        before a step's timeout starts; errors are left for the call to report."""
        import importlib
        for module in (cls.sdk, *cls.sdk_extra):
            if module:
                try:
                    importlib.import_module(module)
                except ImportError:
                    pass

    # helpers for subclasses ----------------------------------------------------------------------
    @property
    def label(self) -> str:
        """``openai (api.openai.com)``: the provider and its endpoint, as failures name them."""
        from .wire import host_of
        return f"{self.name} ({host_of(self.base_url)})"

    def secrets(self) -> list[str]:
        """What to scrub from this provider's messages: its own key and every known credential."""
        return [s for s in (self.api_key,) if s] + known_secrets()


def object_schema(schema: dict) -> tuple[dict, bool]:
    """Vendors want an object at the root of a tool / response schema: wrap anything else as
    ``{"value": schema}``. Returns (schema, wrapped)."""
    if isinstance(schema, dict) and schema.get("type") == "object":
        return schema, False
    return {"type": "object", "properties": {"value": schema}, "required": ["value"]}, True


def tool_arguments(raw) -> dict:
    """A tool call's arguments as a dict. Vendors send a JSON text (OpenAI) or an object
    (Anthropic); text that is not a JSON object is kept as ``{"_invalid": text}`` so the tool loop
    can tell the model its arguments were not valid."""
    import json
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {"_invalid": str(raw)}
    return value if isinstance(value, dict) else {"_invalid": str(raw)}


def tool_result_text(message: dict) -> str:
    """The text of a neutral tool-result message."""
    content = message.get("content")
    return content if isinstance(content, str) else str(content)


def json_instruction(schema: dict | None) -> str:
    """The system-prompt sentence that asks for JSON when a vendor cannot enforce it natively."""
    import json
    text = "Reply with only a JSON value, no prose and no code fences."
    if schema is not None:
        text += " It must match this JSON Schema:\n" + json.dumps(schema)
    return text
