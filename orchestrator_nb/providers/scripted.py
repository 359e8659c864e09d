"""A deterministic, scripted provider for tests, demos and dry runs (`scripted:<anything>`).

Answers come from rules, first match wins:
- registered in this process with ``script([...])`` (tests), then
- a YAML/JSON file named by ``ORC_SCRIPT`` (separate processes, e.g. ``orc run`` in a test).

A rule: ``{match: regex, reply: text | data | [successive replies], fail: reason,
times: n, model: name}``. ``match`` is searched in the whole request (system + messages).
``fail`` raises a ProviderError with that reason (rate_limit, server, timeout...) ``times``
times, then the rule stops matching. With no matching rule the answer is a deterministic
echo, or the smallest JSON value that fits the requested schema.

Every call is appended to ``ScriptedProvider.calls`` and, when ``ORC_SCRIPT_LOG`` names a file,
to that file as a JSON line, so tests in other processes can count calls.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import threading

from ..errors import ProviderError
from .base import LLMRequest, LLMResponse, Provider

_lock = threading.Lock()
_rules: list[dict] = []
_file_cache: dict = {}


def script(rules: list[dict] | None) -> None:
    """Replace the in-process rules (None or [] clears them)."""
    with _lock:
        _rules[:] = [dict(r, _used=0) for r in (rules or [])]
    ScriptedProvider.calls.clear()


def _file_rules() -> list[dict]:
    path = os.environ.get("ORC_SCRIPT")
    if not path:
        return []
    state_path = path + ".state"
    mtime = os.stat(path).st_mtime
    cached = _file_cache.get(path)
    if not cached or cached[0] != mtime:
        import yaml
        with open(path, encoding="utf-8") as f:
            rules = yaml.safe_load(f) or []
        _file_cache[path] = (mtime, [dict(r, _used=0) for r in rules])
    rules = _file_cache[path][1]
    # `times` must hold across processes: usage counts live in a side file.
    try:
        with open(state_path, encoding="utf-8") as f:
            used = json.load(f)
        for i, r in enumerate(rules):
            r["_used"] = used.get(str(i), 0)
    except (OSError, ValueError):
        pass
    return rules


def _save_file_state(rules: list[dict]) -> None:
    path = os.environ.get("ORC_SCRIPT")
    if path:
        with open(path + ".state", "w", encoding="utf-8") as f:
            json.dump({str(i): r["_used"] for i, r in enumerate(rules)}, f)


def request_text(request: LLMRequest) -> str:
    parts = [request.system or ""] + [str(m.get("content", "")) for m in request.messages]
    return "\n".join(parts)


class ScriptedProvider(Provider):
    name = "scripted"
    key_env = None
    models = ("echo", "any-name")
    supports_schema = True
    supports_tools = True
    calls: list[dict] = []

    async def complete(self, request: LLMRequest, on_token=None) -> LLMResponse:
        text = request_text(request)
        reply, rule = self._pick(request, text)
        record = {"model": request.model, "prompt": text, "schema": request.schema is not None}
        ScriptedProvider.calls.append(record)
        log = os.environ.get("ORC_SCRIPT_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if rule is not None and rule.get("delay"):
            await asyncio.sleep(float(rule["delay"]))
        if rule is not None and rule.get("fail"):
            reason = rule["fail"]
            raise ProviderError(f"scripted failure: {reason}", reason=reason,
                                retryable=reason in ProviderError.FALLBACK_REASONS,
                                retry_after=rule.get("retry_after"))
        if request.tools and isinstance(reply, dict) and "tool_calls" in reply:
            n = len(ScriptedProvider.calls)
            calls = [{"id": c.get("id") or f"call_{n}_{i}", "name": c["name"], "arguments": c.get("arguments") or {}}
                     for i, c in enumerate(reply["tool_calls"])]
            text = str(reply.get("text") or "")
            return LLMResponse(text=text, tokens_in=max(1, len(text) // 4), tokens_out=1 + 8 * len(calls),
                               model=request.model, finish_reason="tool_calls", tool_calls=calls)
        if reply is None:
            reply = _default_reply(request)
        if not isinstance(reply, str):
            reply = json.dumps(reply)
        if on_token is not None:
            for piece in re.findall(r"\S+\s*|\s+", reply):
                on_token(piece)
                await asyncio.sleep(0)
        tokens_in = max(1, len(text) // 4)
        return LLMResponse(text=reply, tokens_in=tokens_in, tokens_out=max(1, len(reply) // 4),
                           model=request.model, finish_reason="stop")

    def _pick(self, request: LLMRequest, text: str):
        with _lock:
            for source, rules in (("memory", _rules), ("file", _file_rules())):
                for r in rules:
                    if r.get("model") and r["model"] != request.model:
                        continue
                    if r.get("match") and not re.search(r["match"], text, re.S):
                        continue
                    times = r.get("times")
                    if times is not None and r["_used"] >= times:
                        continue
                    r["_used"] += 1
                    if source == "file":
                        _save_file_state(rules)
                    reply = r.get("reply")
                    if isinstance(reply, list) and r.get("sequence", True) and reply and not r.get("literal"):
                        reply = reply[min(r["_used"], len(reply)) - 1]
                    return reply, r
        return None, None


def _default_reply(request: LLMRequest) -> str:
    if request.schema is not None:
        return json.dumps(example_for(request.schema))
    if request.json_mode:
        return "{}"
    last = request.messages[-1]["content"] if request.messages else ""
    words = str(last).split()
    summary = " ".join(words[:40])
    return f"[{request.model}] {summary}"


def example_for(schema: dict, name: str = "value"):
    """The smallest deterministic value that satisfies a (simple) JSON Schema."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema and schema[key]:
            return example_for(schema[key][0], name)
    t = schema.get("type", "object")
    if isinstance(t, list):
        t = t[0]
    if t == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: example_for(props.get(k, {}), k) for k in required}
    if t == "array":
        n = max(1, schema.get("minItems", 1))
        return [example_for(schema.get("items", {"type": "string"}), f"{name}{i + 1}") for i in range(n)]
    if t == "string":
        text = f"example {name}"
        return text + "." * max(0, schema.get("minLength", 0) - len(text))
    if t == "integer":
        return max(int(schema.get("minimum", 1)), 1) if "minimum" in schema else 1
    if t == "number":
        return float(schema.get("minimum", 1.0))
    if t == "boolean":
        return True
    return None
