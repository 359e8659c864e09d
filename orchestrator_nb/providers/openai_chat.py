"""OpenAI Chat Completions through the official ``openai`` SDK (also the base of Azure and of
every OpenAI-compatible preset in ``presets``).

Structured output uses ``response_format`` (``json_schema`` where the server supports it, else
``json_object`` plus the schema in the system prompt); streaming asks for a final usage chunk.
Tools are ``tools=[{type: function, function: {...}}]``; the model's ``tool_calls`` (streamed as
indexed fragments) come back as neutral calls, and results go back as ``role: tool`` messages.
The SDK's own retries are off: the gateway retries, and records every attempt.
"""
from __future__ import annotations

import json

from ..errors import ProviderError
from .base import DEFAULT_TIMEOUT, LLMRequest, LLMResponse, Provider, object_schema, tool_arguments
from .sdk_errors import classify
from .wire import cut_off, http_client, malformed, require_sse, shape


class OpenAIProvider(Provider):
    name = "openai"
    sdk = "openai"
    sdk_extra = ("openai.resources.chat", "openai.lib.streaming.chat", "openai._streaming")
    key_env = "OPENAI_API_KEY"
    default_base_url = "https://api.openai.com/v1"
    models = ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o4-mini", "gpt-5",
              "gpt-5-mini")
    supports_schema = True
    supports_tools = True
    schema_mode = "json_schema"            # "json_schema" | "json_object" (the schema then goes in the prompt)
    max_tokens_param = "max_completion_tokens"
    stream_usage = True                    # send stream_options.include_usage
    placeholder_key: str | None = None     # what to send when no key is needed (local servers)

    def __init__(self, api_key=None, base_url=None):
        super().__init__(api_key, base_url)
        self._client = None

    # the client ---------------------------------------------------------------------------------
    def make_client(self, key: str):
        import openai
        return openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0,
                                  http_client=http_client(openai, self.label))

    def client(self):
        if self._client is None:
            key = self.require_key() or self.placeholder_key or "not-needed"
            self._client = self.make_client(key)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # the call -----------------------------------------------------------------------------------
    def arguments(self, request: LLMRequest) -> tuple[dict, bool]:
        """The ``chat.completions.create`` arguments, and whether the schema was wrapped."""
        messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
            [chat_message(m) for m in request.messages]
        args: dict = {"model": request.model, "messages": messages,
                      "timeout": request.timeout or DEFAULT_TIMEOUT}
        if request.tools:
            args["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                               "parameters": t["parameters"]}} for t in request.tools]
        if request.temperature is not None:
            args["temperature"] = request.temperature
        if request.max_tokens:
            args[self.max_tokens_param] = request.max_tokens
        wrapped = False
        if request.schema is not None and self.supports_schema and self.schema_mode == "json_schema":
            schema, wrapped = object_schema(request.schema)
            args["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": schema, "strict": False}}
        elif request.schema is not None or request.json_mode:
            args["response_format"] = {"type": "json_object"}
        args.update(request.options or {})
        return args, wrapped

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        client = self.client()
        args, wrapped = self.arguments(request)
        try:
            if on_token is None:
                out = self._answer(await client.chat.completions.create(**args))
            else:
                out = await self._stream(client, args, request, on_token)
        except ProviderError:
            raise
        except Exception as e:
            raise classify(e, self.name, self.secrets(), label=self.label, read_timeout=args["timeout"]) from None
        if wrapped:
            out.data, out.text = _unwrap(out.text)
        return out

    def _answer(self, resp) -> LLMResponse:
        """A whole (non-streamed) answer; one that is not a usable answer is ``malformed``."""
        try:
            choices = getattr(resp, "choices", None)
            if not isinstance(choices, list) or not choices:
                raise malformed(self.label, shape(resp, "no choices"))
            choice = choices[0]
            message = getattr(choice, "message", None)
            if message is None:
                raise malformed(self.label, "a choice without a message")
            text, calls = message.content, getattr(message, "tool_calls", None) or ()
            if text is not None and not isinstance(text, str):
                raise malformed(self.label, f"the content is a {type(text).__name__}, not text")
            if not text and getattr(message, "refusal", None):
                raise ProviderError(f"{self.name}: the model refused: {message.refusal}", reason="refused")
            if not text and not calls and choice.finish_reason != "length":  # (out of tokens: a real, empty answer)
                raise malformed(self.label, "an answer with no content")
            usage = resp.usage
            return LLMResponse(text=text or "", model=resp.model, finish_reason=choice.finish_reason,
                               tokens_in=getattr(usage, "prompt_tokens", 0) or 0,
                               tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                               tool_calls=[{"id": c.id, "name": c.function.name,
                                            "arguments": tool_arguments(c.function.arguments)}
                                           for c in calls if getattr(c, "function", None) is not None])
        except (AttributeError, TypeError, KeyError, IndexError) as e:  # a body of the wrong shape
            raise malformed(self.label, "a body of an unexpected shape") from None

    async def _stream(self, client, args, request, on_token) -> LLMResponse:
        extra = {"stream_options": {"include_usage": True}} if self.stream_usage else {}
        stream = await client.chat.completions.create(**args, stream=True, **extra)
        parts: list[str] = []
        refusal: list[str] = []
        calls: dict[int, dict] = {}  # index -> {"id", "name", "arguments": text so far}
        usage = model = finish = None
        try:
            await require_sse(stream.response, self.label)
            async for chunk in stream:
                model = chunk.model or model
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    delta = choice.delta
                    piece = delta.content if delta is not None else None
                    if piece:
                        parts.append(piece)
                        on_token(piece)
                    if delta is not None and getattr(delta, "refusal", None):
                        refusal.append(delta.refusal)
                    for tc in (getattr(delta, "tool_calls", None) or ()) if delta is not None else ():
                        call = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                        call["id"] = tc.id or call["id"]
                        fn = tc.function
                        if fn is not None:
                            call["name"] += fn.name or ""
                            call["arguments"] += fn.arguments or ""
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except (AttributeError, TypeError, KeyError, IndexError) as e:  # an event of the wrong shape
            raise malformed(self.label, "an event of an unexpected shape") from None
        finally:
            await stream.close()
        text = "".join(parts)
        if not text and refusal:
            raise ProviderError(f"{self.name}: the model refused: {''.join(refusal)}", reason="refused")
        if finish is None:  # no finish_reason: the stream broke off (a complete one always says why it ended)
            if not parts and not calls:
                raise malformed(self.label, "the event stream held no answer")
            raise cut_off(self.label, "no finish_reason")
        if not text and not calls and finish != "length":
            raise malformed(self.label, "an answer with no content")
        if usage is not None:
            tokens_in, tokens_out = usage.prompt_tokens or 0, usage.completion_tokens or 0
        else:  # a server that sends no usage chunk: estimate (~4 characters a token)
            prompt = (request.system or "") + "".join(str(m["content"]) for m in request.messages)
            tokens_in, tokens_out = max(1, len(prompt) // 4), len(parts)
        return LLMResponse(text=text, model=model, finish_reason=finish, tokens_in=tokens_in, tokens_out=tokens_out,
                           tool_calls=[{"id": c["id"] or f"call_{i}", "name": c["name"],
                                        "arguments": tool_arguments(c["arguments"])} for i, c in sorted(calls.items())])


def chat_message(m: dict) -> dict:
    """A neutral message in Chat Completions form."""
    role = m["role"]
    if role == "tool":
        return {"role": "tool", "tool_call_id": m["tool_call_id"], "content": m["content"]}
    if role == "assistant" and m.get("tool_calls"):
        return {"role": "assistant", "content": m.get("content") or None,
                "tool_calls": [{"id": c["id"], "type": "function",
                                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                               for c in m["tool_calls"]]}
    return {"role": role, "content": m["content"]}


def _unwrap(text: str):
    """(data, text) of an answer to a wrapped schema: ``{"value": X}`` -> X."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, text  # the gateway reports the invalid JSON and asks again
    if isinstance(data, dict) and set(data) == {"value"}:
        return data["value"], json.dumps(data["value"], ensure_ascii=False)
    return None, text
