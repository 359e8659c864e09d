"""OpenAI's Responses API through the official ``openai`` SDK (provider ``openai-responses``).

The same vendor, key and base URL as ``openai`` (``OPENAI_API_KEY``, ``ORC_OPENAI_BASE_URL``), the
other API: the conversation is a list of input items (messages, ``function_call`` and
``function_call_output``), the system prompt is ``instructions``, structured output is
``text.format``, and the answer is a list of output items (``message`` text and ``function_call``s).
Streaming reads ``response.output_text.delta`` events for the tokens and takes the whole answer
from ``response.completed``. Nothing is stored server-side (``store: false``): every request
carries the whole conversation, as the cache and the records need anyway.
"""
from __future__ import annotations

import json

from ..credentials import getenv
from ..errors import ProviderError
from .base import DEFAULT_TIMEOUT, LLMRequest, LLMResponse, object_schema, tool_arguments
from .openai_chat import OpenAIProvider, _unwrap
from .sdk_errors import classify
from .wire import cut_off, malformed, require_sse, shape


class OpenAIResponsesProvider(OpenAIProvider):
    name = "openai-responses"
    note = "the Responses API; key and base URL as for openai"

    @classmethod
    def env_base_url(cls) -> str | None:
        return getenv("ORC_OPENAI_RESPONSES_BASE_URL") or getenv("ORC_OPENAI_BASE_URL") or cls.default_base_url

    def arguments(self, request: LLMRequest) -> tuple[dict, bool]:
        args: dict = {"model": request.model, "input": [item for m in request.messages for item in input_items(m)],
                      "store": False, "timeout": request.timeout or DEFAULT_TIMEOUT}
        if request.system:
            args["instructions"] = request.system
        if request.temperature is not None:
            args["temperature"] = request.temperature
        if request.max_tokens:
            args["max_output_tokens"] = request.max_tokens
        if request.tools:
            args["tools"] = [{"type": "function", "name": t["name"], "description": t.get("description", ""),
                              "parameters": t["parameters"], "strict": False} for t in request.tools]
        wrapped = False
        if request.schema is not None:
            schema, wrapped = object_schema(request.schema)
            args["text"] = {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": False}}
        elif request.json_mode:
            args["text"] = {"format": {"type": "json_object"}}
        args.update(request.options or {})
        return args, wrapped

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        client = self.client()
        args, wrapped = self.arguments(request)
        try:
            if on_token is None:
                out = from_response(await client.responses.create(**args), self.label)
            else:
                out = await self._stream_response(client, args, on_token)
        except ProviderError:
            raise
        except Exception as e:
            raise classify(e, self.name, self.secrets(), label=self.label, read_timeout=args["timeout"]) from None
        if wrapped and not out.tool_calls:
            out.data, out.text = _unwrap(out.text)
        return out

    async def _stream_response(self, client, args, on_token) -> LLMResponse:
        stream = await client.responses.create(**args, stream=True)
        final = None
        try:
            await require_sse(stream.response, self.label)
            async for ev in stream:
                kind = getattr(ev, "type", "")
                if kind == "response.output_text.delta":
                    if ev.delta:
                        on_token(ev.delta)
                elif kind in ("response.completed", "response.incomplete"):
                    final = ev.response
                elif kind in ("response.failed", "error"):
                    err = getattr(getattr(ev, "response", None), "error", None) or ev
                    raise ProviderError(f"{self.name}: {getattr(err, 'message', None) or 'the response failed'}",
                                        reason="server", retryable=True)
        finally:
            await stream.close()
        if final is None:
            raise cut_off(self.label, "no response.completed event")
        return from_response(final, self.label)


def input_items(m: dict) -> list[dict]:
    """A neutral message as Responses input items."""
    role = m["role"]
    if role == "tool":
        return [{"type": "function_call_output", "call_id": m["tool_call_id"], "output": m["content"]}]
    items = []
    if m.get("content"):
        items.append({"role": role, "content": m["content"]})
    for c in m.get("tool_calls") or ():
        items.append({"type": "function_call", "call_id": c["id"], "name": c["name"],
                      "arguments": json.dumps(c["arguments"])})
    return items or [{"role": role, "content": ""}]


def from_response(resp, label: str = "openai-responses") -> LLMResponse:
    try:
        return _from_response(resp)
    except (AttributeError, TypeError, KeyError, IndexError) as e:  # a body of the wrong shape
        raise malformed(label, shape(resp, "a body of an unexpected shape")) from None


def _from_response(resp) -> LLMResponse:
    texts, calls, refusal = [], [], None
    for item in resp.output or ():
        if item.type == "message":
            for part in item.content or ():
                if part.type == "output_text":
                    texts.append(part.text or "")
                elif part.type == "refusal":
                    refusal = part.refusal
        elif item.type == "function_call":
            calls.append({"id": item.call_id, "name": item.name, "arguments": tool_arguments(item.arguments)})
    text = "".join(texts)
    if not text and not calls and refusal:
        raise ProviderError(f"openai-responses: the model refused: {refusal}", reason="refused")
    usage = resp.usage
    status = getattr(resp, "status", None)
    finish = "tool_calls" if calls else ("length" if status == "incomplete" else "stop")
    return LLMResponse(text=text, model=resp.model, finish_reason=finish, tool_calls=calls,
                       tokens_in=getattr(usage, "input_tokens", 0) or 0,
                       tokens_out=getattr(usage, "output_tokens", 0) or 0)
