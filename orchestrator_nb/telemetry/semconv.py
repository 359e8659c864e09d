"""OpenTelemetry GenAI semantic-convention attributes for our model and tool calls.

Both the current ``gen_ai.provider.name`` and the older ``gen_ai.system`` are set (backends read
either). Content attributes (``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions``, tool arguments and results) are JSON text in the conventions'
message shape, made only when the user opts in, with known credentials masked.
"""
from __future__ import annotations

import json

from ..credentials import redact

# our provider names -> the conventions' well-known values (others are passed as they are)
PROVIDER_NAMES = {"azure": "azure.ai.openai", "gemini": "gcp.gemini", "mistral": "mistral_ai", "xai": "x_ai"}
MAX_CONTENT = 64_000   # characters of one content attribute


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def llm_attributes(d: dict) -> dict:
    provider = provider_name(d.get("provider") or "")
    request = d.get("request") or {}
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": d.get("model") or "",
        "gen_ai.usage.input_tokens": int(d.get("tokens_in") or 0),
        "gen_ai.usage.output_tokens": int(d.get("tokens_out") or 0),
        "orc.cost_usd": float(d.get("cost_usd") or 0.0),
        "orc.cached": bool(d.get("cached")),
        "orc.latency_ms": float(d.get("latency_ms") or 0.0),
        "orc.call_id": d.get("call_id") or "",
        "orc.purpose": d.get("purpose") or "step",
    }
    if d.get("response_model"):
        attrs["gen_ai.response.model"] = d["response_model"]
    if d.get("finish_reason"):
        attrs["gen_ai.response.finish_reasons"] = [str(d["finish_reason"])]
    if request.get("max_tokens"):
        attrs["gen_ai.request.max_tokens"] = int(request["max_tokens"])
    if request.get("temperature") is not None:
        attrs["gen_ai.request.temperature"] = float(request["temperature"])
    if request.get("schema") is not None or request.get("json_mode"):
        attrs["gen_ai.output.type"] = "json"
    if d.get("retry"):
        attrs["orc.retry"] = int(d["retry"])
    if d.get("fallback_from"):
        attrs["orc.fallback_from"] = d["fallback_from"]
    if d.get("estimate_usd") is not None:
        attrs["orc.estimate_usd"] = float(d["estimate_usd"])
    if d.get("error"):
        attrs["error.type"] = str(d["error"]).split(":", 1)[0]
    return attrs


def _text(value) -> str:
    text = redact(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= MAX_CONTENT else text[:MAX_CONTENT] + "…"


def _parts(content) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    return [{"type": "text", "content": json.dumps(content, ensure_ascii=False, default=str)}]


def llm_content(d: dict) -> dict:
    request = d.get("request") or {}
    out = {}
    if request.get("system"):
        out["gen_ai.system_instructions"] = _text([{"type": "text", "content": request["system"]}])
    messages = [{"role": m.get("role", "user"), "parts": _parts(m.get("content"))}
                for m in request.get("messages") or [] if isinstance(m, dict)]
    if messages:
        out["gen_ai.input.messages"] = _text(messages)
    if d.get("response_text") is not None:
        out["gen_ai.output.messages"] = _text([{"role": "assistant", "parts": _parts(d["response_text"]),
                                                "finish_reason": d.get("finish_reason") or "stop"}])
    return out


def tool_attributes(d: dict) -> dict:
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": str(d.get("tool") or ""),
             "orc.duration_ms": float(d.get("duration_ms") or 0.0)}
    for key, name in (("turn", "orc.turn"), ("decision", "orc.decision")):
        if d.get(key) is not None:
            attrs[name] = d[key]
    call_id = d.get("call_id") or d.get("tool_call_id")
    if call_id:
        attrs["gen_ai.tool.call.id"] = str(call_id)
    if d.get("error"):
        attrs["error.type"] = "tool_error"
    return attrs


def tool_content(d: dict) -> dict:
    out = {}
    if d.get("arguments") is not None:
        out["gen_ai.tool.call.arguments"] = _text(d["arguments"])
    if d.get("result") is not None:
        out["gen_ai.tool.call.result"] = _text(d["result"])
    return out
