"""A fake OpenAI Chat Completions server (also Azure and every OpenAI-compatible preset).

    with FakeOpenAI() as srv:
        srv.configure("openai")            # ORC_OPENAI_BASE_URL + OPENAI_API_KEY for this process
        srv.push("hello", {"status": 429, "retry_after": 0.01}, {"data": {"risks": []}})
        ...                                # run pipelines; srv.count, srv.requests, srv.answers()

Serves ``POST .../chat/completions`` (any prefix: ``/v1``, Azure's ``/openai/deployments/<d>``)
as JSON or SSE chunks with a final usage chunk (``stream_options.include_usage``), ``POST
.../responses`` (the Responses API: output items, or its SSE events ending in ``response.completed``),
and ``GET .../models``. Structured requests (``response_format`` json_schema / json_object, or the
Responses ``text.format``) get the smallest value matching the schema unless an item says otherwise.
``{"refusal": "..."}`` answers with a refusal instead of content; ``{"tool_calls": [...]}`` asks for
tool calls (chat: ``message.tool_calls``, streamed as indexed fragments; Responses: ``function_call``
items).
"""
from __future__ import annotations

import json
import time

from .fake_http import (FakeServer, count_words, default_text, example_value, item_fields, message_text,
                        scripted_calls, words)


class FakeOpenAI(FakeServer):
    flavor = "openai"
    url_suffix = "/v1"

    def error_body(self, status: int, message: str) -> dict:
        kind = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                429: "rate_limit_exceeded"}.get(status, "server_error")
        code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        if status == 400 and "context" in message:
            code = "context_length_exceeded"
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def answer(self, h, rec, item) -> None:
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method == "GET" and rec.path.rstrip("/").endswith("/models"):
            rec.answer = "ok"
            h.send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0,
                                                          "owned_by": "fake"}]})
            return
        if rec.method == "POST" and rec.path.split("?")[0].rstrip("/").endswith("/responses"):
            self.answer_responses(h, rec, item, body)
            return
        if rec.method != "POST" or not rec.path.split("?")[0].endswith("/chat/completions"):
            rec.answer = "status 404"
            h.send_json(404, self.error_body(404, f"no route {rec.method} {rec.path}"))
            return
        fields = item_fields(item)
        model = body.get("model") or "fake-model"
        messages = body.get("messages") or []
        calls = scripted_calls(fields, len(self.requests), "call_")
        if calls:
            self.answer_chat_tools(h, rec, fields, body, model, messages, calls)
            return
        text = _answer_text(fields, body, model, messages)
        tokens_in = fields.get("tokens_in", count_words(*message_text(messages)))
        pieces = words(text)
        tokens_out = fields.get("tokens_out", len(pieces))
        usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}
        created = int(time.time())
        cid = f"chatcmpl-{len(self.requests)}"
        if not body.get("stream"):
            if fields.get("malformed"):
                rec.answer = "malformed"
                h.send_json(200, None, raw=b'{"id": "' + cid.encode() + b'", "choices": [{"index": 0, "mess')
                return
            rec.answer = "ok"
            refusal = fields.get("refusal")
            h.send_json(200, {"id": cid, "object": "chat.completion", "created": created, "model": model,
                              "system_fingerprint": "fp_fake",
                              "choices": [{"index": 0, "message": {"role": "assistant",
                                                                   "content": None if refusal else text,
                                                                   "refusal": refusal},
                                           "logprobs": None, "finish_reason": fields.get("finish_reason", "stop")}],
                              "usage": usage})
            return
        delay = fields.get("chunk_delay", self.chunk_delay)
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_fake"}
        h.start_stream()
        h.send_event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                           "logprobs": None, "finish_reason": None}]})
        if fields.get("malformed"):
            rec.answer = "malformed"
            h.send_event('{"id": "' + cid + '", "choices": [{"delta": {"content": "he')
            h.end_stream()
            return
        for i, piece in enumerate(pieces):
            if fields.get("stream_error") and i == fields.get("after", 0):
                rec.answer = "stream_error"
                h.send_event({"error": {"message": f"{fields['stream_error']} while streaming",
                                        "type": fields["stream_error"], "code": None}})
                h.end_stream()
                return
            if delay:
                time.sleep(delay)
            delta = {"refusal": piece} if fields.get("refusal") else {"content": piece}
            h.send_event({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                               "finish_reason": None}]})
        h.send_event({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                           "finish_reason": fields.get("finish_reason", "stop")}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            h.send_event({**base, "choices": [], "usage": usage})
        h.send_event("[DONE]")
        h.end_stream()
        rec.answer = "ok"


    # tool calls (Chat Completions) ----------------------------------------------------------------
    def answer_chat_tools(self, h, rec, fields, body, model, messages, calls) -> None:
        text = fields.get("text")
        wire = [{"id": c["id"], "type": "function", "function": {"name": c["name"],
                                                                  "arguments": json.dumps(c["arguments"])}}
                for c in calls]
        tokens_in = fields.get("tokens_in", count_words(*message_text(messages)))
        tokens_out = fields.get("tokens_out", sum(len(w["function"]["arguments"]) // 4 + 1 for w in wire))
        usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}
        cid, created = f"chatcmpl-{len(self.requests)}", int(time.time())
        rec.answer = "ok"
        if not body.get("stream"):
            h.send_json(200, {"id": cid, "object": "chat.completion", "created": created, "model": model,
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                                   "refusal": None, "tool_calls": wire},
                                           "logprobs": None, "finish_reason": "tool_calls"}],
                              "usage": usage})
            return
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        h.start_stream()
        h.send_event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                                           "logprobs": None, "finish_reason": None}]})
        for i, w in enumerate(wire):
            args = w["function"]["arguments"]
            head = {"index": i, "id": w["id"], "type": "function", "function": {"name": w["function"]["name"],
                                                                                 "arguments": ""}}
            h.send_event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]})
            for k in range(0, len(args), 7):  # the arguments arrive in fragments, as from the real API
                piece = {"index": i, "function": {"arguments": args[k:k + 7]}}
                h.send_event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [piece]},
                                                   "finish_reason": None}]})
        h.send_event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            h.send_event({**base, "choices": [], "usage": usage})
        h.send_event("[DONE]")
        h.end_stream()

    # the Responses API ------------------------------------------------------------------------------
    def answer_responses(self, h, rec, item, body) -> None:
        fields = item_fields(item)
        model = body.get("model") or "fake-model"
        items = body.get("input") or []
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        texts = [body.get("instructions") or ""] + [str(i.get("content") or i.get("output") or "") for i in items]
        rid, n = f"resp_{len(self.requests)}", len(self.requests)
        calls = scripted_calls(fields, n, "call_")
        output: list[dict] = []
        text = None
        if calls:
            text = fields.get("text")
        elif fields.get("refusal"):
            output.append({"id": f"msg_{n}", "type": "message", "role": "assistant", "status": "completed",
                           "content": [{"type": "refusal", "refusal": str(fields["refusal"])}]})
        else:
            fmt = (body.get("text") or {}).get("format") or {}
            if "text" in fields or "data" in fields:
                text = str(fields["text"]) if "text" in fields else json.dumps(fields["data"])
            elif fmt.get("type") == "json_schema":
                text = json.dumps(example_value(fmt.get("schema")))
            elif fmt.get("type") == "json_object":
                text = "{}"
            else:
                last = [t for t in texts if t]
                text = f"[{model}] " + " ".join((last[-1] if last else "").split()[:30])
        if text:
            output.append({"id": f"msg_{n}", "type": "message", "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": text, "annotations": []}]})
        for c in calls:
            output.append({"id": f"fc_{c['id']}", "type": "function_call", "call_id": c["id"], "name": c["name"],
                           "arguments": json.dumps(c["arguments"]), "status": "completed"})
        tokens_in = fields.get("tokens_in", count_words(*texts))
        tokens_out = fields.get("tokens_out", len(words(text or "")) + 8 * len(calls))
        resp = {"id": rid, "object": "response", "created_at": int(time.time()), "model": model,
                "status": "completed", "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
                "tools": body.get("tools") or [], "error": None, "incomplete_details": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out,
                          "total_tokens": tokens_in + tokens_out,
                          "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": 0}}}
        rec.answer = "ok"
        if not body.get("stream"):
            h.send_json(200, resp)
            return
        seq = iter(range(10**6))
        h.start_stream()
        h.send_event({"type": "response.created", "sequence_number": next(seq),
                      "response": dict(resp, status="in_progress", output=[])}, event="response.created")
        for piece in words(text) if text else ():
            h.send_event({"type": "response.output_text.delta", "sequence_number": next(seq), "item_id": f"msg_{n}",
                          "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []},
                         event="response.output_text.delta")
        h.send_event({"type": "response.completed", "sequence_number": next(seq), "response": resp},
                     event="response.completed")
        h.end_stream()


def _answer_text(fields: dict, body: dict, model: str, messages) -> str:
    if fields.get("refusal"):
        return str(fields["refusal"])
    if "text" in fields:
        return str(fields["text"])
    if "data" in fields:
        return json.dumps(fields["data"])
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(example_value((fmt.get("json_schema") or {}).get("schema")))
    if fmt.get("type") == "json_object":
        return json.dumps(example_value(_schema_in_prompt(messages)))
    return default_text(model, messages)


def _schema_in_prompt(messages):
    """The JSON Schema our gateway puts in the system prompt for json_object mode, if any."""
    for text in message_text(messages):
        marker = "JSON Schema:\n"
        if marker in text:
            try:
                return json.loads(text.split(marker, 1)[1].strip())
            except ValueError:
                return None
    return None
