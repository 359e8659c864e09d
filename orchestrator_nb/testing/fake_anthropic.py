"""A fake Anthropic Messages API server.

    with FakeAnthropic() as srv:
        srv.configure()                    # ORC_ANTHROPIC_BASE_URL + ANTHROPIC_API_KEY
        srv.push("hello", {"status": 529}, {"data": {"risks": ["late"]}})

Serves ``POST /v1/messages/count_tokens`` (listed in ``token_counts``, not ``requests``) and
``POST /v1/messages`` as JSON or as the SSE event sequence of the real API
(message_start, content_block_start/delta/stop, ping, message_delta with usage, message_stop).
A request with ``tools`` and a forced ``tool_choice`` is answered with a ``tool_use`` block whose
input is the item's ``data`` (or the smallest value matching the tool's input schema); an item with
``text`` answers in prose instead, as a model that ignores the tool would. An item with
``tool_calls`` answers with those ``tool_use`` blocks (after its ``text``, if any), stop reason
``tool_use``, streamed block by block with ``input_json_delta`` fragments.
"""
from __future__ import annotations

import json
import time

from .fake_http import (FakeServer, count_words, default_text, example_value, item_fields, message_text,
                        scripted_calls, words)


class FakeAnthropic(FakeServer):
    flavor = "anthropic"
    url_suffix = ""

    def __init__(self, **options):
        super().__init__(**options)
        self.token_counts: list = []   # requests to /v1/messages/count_tokens (not in ``requests``)

    def side_route(self, h, rec) -> bool:
        """``POST /v1/messages/count_tokens``: the input tokens the same request would be billed
        (the words of its system prompt and messages, as ``usage.input_tokens`` counts them)."""
        if rec.method != "POST" or rec.path.split("?")[0].rstrip("/") != "/v1/messages/count_tokens":
            return False
        with self._lock:
            self.token_counts.append(rec)
        if not self.authorized(rec):
            rec.answer = "status 401"
            h.send_json(401, self.error_body(401, "invalid x-api-key"))
            return True
        body = rec.body if isinstance(rec.body, dict) else {}
        if not body.get("model") or not isinstance(body.get("messages"), list):
            rec.answer = "status 400"
            h.send_json(400, self.error_body(400, "model and messages: Field required"))
            return True
        rec.answer = "ok"
        h.send_json(200, {"input_tokens": _input_tokens(body)})
        return True

    def error_body(self, status: int, message: str) -> dict:
        kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def answer(self, h, rec, item) -> None:
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method != "POST" or rec.path.split("?")[0].rstrip("/") != "/v1/messages":
            rec.answer = "status 404"
            h.send_json(404, self.error_body(404, f"no route {rec.method} {rec.path}"))
            return
        if not body.get("max_tokens"):
            rec.answer = "status 400"
            h.send_json(400, self.error_body(400, "max_tokens: Field required"))
            return
        fields = item_fields(item)
        model = body.get("model") or "fake-claude"
        messages = body.get("messages") or []
        calls = scripted_calls(fields, len(self.requests), "toolu_")
        if calls:
            self.answer_tools(h, rec, fields, body, model, messages, calls)
            return
        tool = _forced_tool(body)
        if tool is not None and "text" not in fields:
            data = fields["data"] if "data" in fields else example_value(tool.get("input_schema"))
            block = {"type": "tool_use", "id": f"toolu_{len(self.requests)}", "name": tool["name"], "input": data}
            stream_text, stop = json.dumps(data), "tool_use"
        else:
            text = (str(fields["text"]) if "text" in fields else json.dumps(fields["data"]) if "data" in fields
                    else default_text(model, messages))
            block = {"type": "text", "text": text}
            stream_text, stop = text, "end_turn"
        tokens_in = fields.get("tokens_in", _input_tokens(body))
        pieces = words(stream_text)
        tokens_out = fields.get("tokens_out", len(pieces))
        mid = f"msg_fake{len(self.requests)}"
        if not body.get("stream"):
            if fields.get("malformed"):
                rec.answer = "malformed"
                h.send_json(200, None, raw=b'{"id": "' + mid.encode() + b'", "type": "message", "cont')
                return
            rec.answer = "ok"
            h.send_json(200, {"id": mid, "type": "message", "role": "assistant", "model": model,
                              "content": [block], "stop_reason": fields.get("stop_reason", stop),
                              "stop_sequence": None,
                              "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}})
            return
        delay = fields.get("chunk_delay", self.chunk_delay)
        h.start_stream()
        h.send_event({"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": 1}}}, event="message_start")
        start = dict(block, input={}) if block["type"] == "tool_use" else {"type": "text", "text": ""}
        h.send_event({"type": "content_block_start", "index": 0, "content_block": start}, event="content_block_start")
        h.send_event({"type": "ping"}, event="ping")
        if fields.get("malformed"):
            rec.answer = "malformed"
            h.send_event('{"type": "content_block_delta", "index": 0, "delta": {"type": "text_de',
                         event="content_block_delta")
            h.end_stream()
            return
        for i, piece in enumerate(pieces):
            if fields.get("stream_error") and i == fields.get("after", 0):
                rec.answer = "stream_error"
                h.send_event({"type": "error", "error": {"type": fields["stream_error"],
                                                         "message": f"{fields['stream_error']} while streaming"}},
                             event="error")
                h.end_stream()
                return
            if delay:
                time.sleep(delay)
            delta = ({"type": "input_json_delta", "partial_json": piece} if block["type"] == "tool_use"
                     else {"type": "text_delta", "text": piece})
            h.send_event({"type": "content_block_delta", "index": 0, "delta": delta}, event="content_block_delta")
        h.send_event({"type": "content_block_stop", "index": 0}, event="content_block_stop")
        h.send_event({"type": "message_delta", "delta": {"stop_reason": fields.get("stop_reason", stop),
                                                         "stop_sequence": None},
                      "usage": {"output_tokens": tokens_out}}, event="message_delta")
        h.send_event({"type": "message_stop"}, event="message_stop")
        h.end_stream()
        rec.answer = "ok"


    def answer_tools(self, h, rec, fields, body, model, messages, calls) -> None:
        blocks = ([{"type": "text", "text": str(fields["text"])}] if fields.get("text") else []) + [
            {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]} for c in calls]
        system = body.get("system")
        system_text = system if isinstance(system, str) else " ".join(message_text([{"content": system}]))
        tokens_in = fields.get("tokens_in", count_words(system_text, *message_text(messages)))
        tokens_out = fields.get("tokens_out", 1 + sum(len(json.dumps(c["arguments"])) // 4 for c in calls))
        mid = f"msg_fake{len(self.requests)}"
        rec.answer = "ok"
        if not body.get("stream"):
            h.send_json(200, {"id": mid, "type": "message", "role": "assistant", "model": model, "content": blocks,
                              "stop_reason": "tool_use", "stop_sequence": None,
                              "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}})
            return
        h.start_stream()
        h.send_event({"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": 1}}}, event="message_start")
        for i, block in enumerate(blocks):
            if block["type"] == "text":
                h.send_event({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}},
                             event="content_block_start")
                for piece in words(block["text"]):
                    h.send_event({"type": "content_block_delta", "index": i,
                                  "delta": {"type": "text_delta", "text": piece}}, event="content_block_delta")
            else:
                h.send_event({"type": "content_block_start", "index": i, "content_block": dict(block, input={})},
                             event="content_block_start")
                raw = json.dumps(block["input"])
                for k in range(0, len(raw), 7):
                    h.send_event({"type": "content_block_delta", "index": i,
                                  "delta": {"type": "input_json_delta", "partial_json": raw[k:k + 7]}},
                                 event="content_block_delta")
            h.send_event({"type": "content_block_stop", "index": i}, event="content_block_stop")
        h.send_event({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                      "usage": {"output_tokens": tokens_out}}, event="message_delta")
        h.send_event({"type": "message_stop"}, event="message_stop")
        h.end_stream()


def _input_tokens(body: dict) -> int:
    system = body.get("system")
    system_text = system if isinstance(system, str) else " ".join(message_text([{"content": system}]))
    return count_words(system_text, *message_text(body.get("messages") or []))


def _forced_tool(body: dict):
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    if not tools:
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), tools[0])
    if choice.get("type") == "any":
        return tools[0]
    return None  # the model may answer in prose (tools offered to a tool loop)
