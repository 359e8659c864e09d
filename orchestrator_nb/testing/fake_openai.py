"""A fake OpenAI Chat Completions server (also Azure and every OpenAI-compatible preset).

    with FakeOpenAI() as srv:
        srv.configure("openai")            # ORC_OPENAI_BASE_URL + OPENAI_API_KEY for this process
        srv.push("hello", {"status": 429, "retry_after": 0.01}, {"data": {"risks": []}})
        ...                                # run pipelines; srv.count, srv.requests, srv.answers()

Serves ``POST .../chat/completions`` (any prefix: ``/v1``, Azure's ``/openai/deployments/<d>``)
as JSON or SSE chunks with a final usage chunk (``stream_options.include_usage``), and
``GET .../models``. Structured requests (``response_format`` json_schema / json_object) get
the smallest value matching the schema unless an item says otherwise. ``{"refusal": "..."}`` answers
with a refusal instead of content.
"""
from __future__ import annotations

import json
import time

from .fake_http import FakeServer, count_words, default_text, example_value, item_fields, message_text, words


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
        if rec.method != "POST" or not rec.path.split("?")[0].endswith("/chat/completions"):
            rec.answer = "status 404"
            h.send_json(404, self.error_body(404, f"no route {rec.method} {rec.path}"))
            return
        fields = item_fields(item)
        model = body.get("model") or "fake-model"
        messages = body.get("messages") or []
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
