"""Anthropic's Messages API through the official ``anthropic`` SDK.

Structured output is a forced tool call: the schema becomes the tool's ``input_schema`` and the
answer is the tool's input (streamed as ``input_json_delta`` pieces). Streaming reads the raw
SSE events (``stream=True``): text deltas go to ``on_token`` as they arrive; usage comes from
``message_start`` (input) and ``message_delta`` (output). The SDK's own retries are off.

Tools: the step's tools are ``tools`` (``input_schema``), the model's ``tool_use`` blocks come back
as neutral calls, results go back as ``tool_result`` blocks in one user turn. A structured answer
with tools cannot use the forced answer tool (the model must be free to call the others): the
gateway asks for the JSON in the system prompt instead (``schema_with_tools = False``).
"""
from __future__ import annotations

import json

from .base import DEFAULT_TIMEOUT, LLMRequest, LLMResponse, Provider, object_schema, tool_arguments
from .sdk_errors import classify
from .wire import cut_off, http_client, malformed, require_sse, shape

DEFAULT_MAX_TOKENS = 4096
COUNT_TIMEOUT = 10.0   # seconds for a token count (a budget check before a call)
TOOL = "answer"


class AnthropicProvider(Provider):
    name = "anthropic"
    sdk = "anthropic"
    sdk_extra = ("anthropic.resources.messages", "anthropic._streaming", "anthropic.lib.streaming")
    key_env = "ANTHROPIC_API_KEY"
    default_base_url = "https://api.anthropic.com"
    models = ("claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku-latest")
    supports_schema = True
    default_max_tokens = DEFAULT_MAX_TOKENS   # sent when a step sets none: the budget's worst case
    supports_tools = True
    schema_with_tools = False

    def __init__(self, api_key=None, base_url=None):
        super().__init__(api_key, base_url)
        self._client = None

    def client(self):
        if self._client is None:
            key = self.require_key()
            import anthropic
            self._client = anthropic.AsyncAnthropic(api_key=key, base_url=self.base_url, max_retries=0,
                                                    http_client=http_client(anthropic, self.label))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


    def arguments(self, request: LLMRequest) -> tuple[dict, bool]:
        args: dict = {"model": request.model, "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
                      "messages": anthropic_messages(request.messages),
                      "timeout": request.timeout or DEFAULT_TIMEOUT}
        if request.system:
            args["system"] = request.system
        if request.temperature is not None and _sdk_takes("temperature"):
            args["temperature"] = request.temperature
        wrapped = False
        if request.tools:
            args["tools"] = [{"name": t["name"], "description": t.get("description", ""),
                              "input_schema": t["parameters"]} for t in request.tools]
        elif request.schema is not None:
            schema, wrapped = object_schema(request.schema)
            args["tools"] = [{"name": TOOL, "description": "Record the answer in this exact structure.",
                              "input_schema": schema}]
            args["tool_choice"] = {"type": "tool", "name": TOOL}
        args.update(request.options or {})
        return args, wrapped

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        client = self.client()
        args, wrapped = self.arguments(request)
        try:
            if on_token is None:
                msg = await client.messages.create(**args)
                out = _from_message(msg, self.label, tools=bool(request.tools))
            else:
                out = await self._stream(client, args, on_token)
        except Exception as e:
            raise classify(e, self.name, self.secrets(), label=self.label, read_timeout=args["timeout"]) from None
        if wrapped and isinstance(out.data, dict) and "value" in out.data:
            out.data = out.data["value"]
            out.text = json.dumps(out.data, ensure_ascii=False)
        return out

    async def count_tokens(self, request: LLMRequest) -> int:
        """Input tokens of ``request``, from the free ``/v1/messages/count_tokens`` endpoint."""
        args, _ = self.arguments(request)
        wanted = {k: v for k, v in args.items() if k in ("model", "messages", "system", "tools", "tool_choice")}
        try:
            counted = await self.client().messages.count_tokens(**wanted, timeout=COUNT_TIMEOUT)
        except Exception as e:
            raise classify(e, self.name, self.secrets(), label=self.label, read_timeout=COUNT_TIMEOUT) from None
        return int(counted.input_tokens)

    async def _stream(self, client, args, on_token) -> LLMResponse:
        stream = await client.messages.create(**args, stream=True)
        texts: list[str] = []
        tool_json: list[str] = []
        uses: dict[int, dict] = {}  # block index -> a tool_use block of the step's tools
        step_tools = "tools" in args and not args.get("tool_choice")  # the step's tools, not our answer tool
        tokens_in = tokens_out = 0
        model = finish = None
        started = stopped = False
        try:
            await require_sse(stream.response, self.label)
            async for ev in stream:
                kind = ev.type
                if kind == "message_start":
                    started = True
                    model = ev.message.model
                    tokens_in = _input_tokens(ev.message.usage)
                    tokens_out = getattr(ev.message.usage, "output_tokens", 0) or 0
                elif kind == "content_block_start" and step_tools and ev.content_block.type == "tool_use":
                    block = ev.content_block
                    uses[ev.index] = {"id": block.id, "name": block.name, "json": []}
                elif kind == "content_block_delta":
                    delta = ev.delta
                    if delta.type == "text_delta":
                        texts.append(delta.text)
                        on_token(delta.text)
                    elif delta.type == "input_json_delta" and ev.index in uses:
                        uses[ev.index]["json"].append(delta.partial_json)
                    elif delta.type == "input_json_delta":
                        tool_json.append(delta.partial_json)
                        if delta.partial_json:
                            on_token(delta.partial_json)
                elif kind == "message_delta":
                    finish = ev.delta.stop_reason or finish
                    usage = getattr(ev, "usage", None)
                    if usage is not None and getattr(usage, "output_tokens", None) is not None:
                        tokens_out = usage.output_tokens
                elif kind == "message_stop":
                    stopped = True
        except (AttributeError, TypeError, KeyError, IndexError) as e:  # an event of the wrong shape
            raise malformed(self.label, "an event of an unexpected shape") from None
        finally:
            await stream.close()
        if not started:
            raise malformed(self.label, "the event stream held no message")
        if not stopped:  # a complete stream always ends with message_stop
            raise cut_off(self.label, "no message_stop event")
        if not texts and not tool_json and not uses and finish != "max_tokens":  # (out of tokens: real, empty)
            raise malformed(self.label, "an answer with no content")
        calls = [{"id": u["id"], "name": u["name"], "arguments": tool_arguments("".join(u["json"]) or "{}")}
                 for _, u in sorted(uses.items())]
        if calls:
            return LLMResponse(text="".join(texts), model=model, finish_reason=finish, tokens_in=tokens_in,
                               tokens_out=tokens_out, tool_calls=calls)
        data = None
        if tool_json:
            raw = "".join(tool_json)
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                data = None  # the gateway sees invalid JSON text and asks again
            text = raw
        else:
            text = "".join(texts)
        return LLMResponse(text=text if data is None else json.dumps(data, ensure_ascii=False), data=data,
                           model=model, finish_reason=finish, tokens_in=tokens_in, tokens_out=tokens_out)


def _input_tokens(usage) -> int:
    if usage is None:
        return 0
    return sum(getattr(usage, k, 0) or 0 for k in ("input_tokens", "cache_creation_input_tokens",
                                                   "cache_read_input_tokens"))


def anthropic_messages(messages: list[dict]) -> list[dict]:
    """Neutral messages in Messages API form: tool calls as ``tool_use`` blocks, the results of
    one turn's calls together in one user turn of ``tool_result`` blocks."""
    out: list[dict] = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": m["content"]}
            if m.get("is_error"):
                block["is_error"] = True
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list) \
                    and out[-1]["content"] and out[-1]["content"][0].get("type") == "tool_result":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant" and m.get("tool_calls"):
            blocks = [{"type": "text", "text": m["content"]}] if m.get("content") else []
            blocks += [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
                       for c in m["tool_calls"]]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": role, "content": m["content"]})
    return out


def _from_message(msg, label: str, tools: bool = False) -> LLMResponse:
    try:
        out = _parse_message(msg, tools)
    except (AttributeError, TypeError, KeyError, IndexError) as e:  # a body of the wrong shape
        raise malformed(label, shape(msg, "a body of an unexpected shape")) from None
    if out is None:
        raise malformed(label, shape(msg, "an answer with no content"))
    return out


def _parse_message(msg, tools: bool) -> LLMResponse | None:
    content = msg.content
    if not isinstance(content, list):
        return None
    texts, data, calls = [], None, []
    for block in content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use" and tools:
            calls.append({"id": block.id, "name": block.name, "arguments": tool_arguments(block.input)})
        elif block.type == "tool_use" and data is None:
            data = block.input
    if not texts and data is None and not calls and getattr(msg, "stop_reason", None) != "max_tokens":
        return None
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("a text block whose text is not text")
    text = json.dumps(data, ensure_ascii=False) if data is not None else "".join(texts)
    usage = msg.usage
    return LLMResponse(text=text, data=data, model=msg.model, finish_reason=msg.stop_reason, tool_calls=calls,
                       tokens_in=_input_tokens(usage), tokens_out=getattr(usage, "output_tokens", 0) or 0)


_sdk_params: set | None = None


def _sdk_takes(name: str) -> bool:
    """Whether the installed SDK's ``messages.create`` accepts ``name`` (anthropic 2.x has no
    ``temperature``: passing it raises TypeError before any request is made)."""
    global _sdk_params
    if _sdk_params is None:
        import inspect

        from anthropic.resources.messages import AsyncMessages
        _sdk_params = set(inspect.signature(AsyncMessages.create).parameters)
    return name in _sdk_params
