"""How many input tokens a request holds, before it is sent (for budgets and dry runs).

Three ways, best first:
- the vendor's token-count endpoint, where there is one (Anthropic's ``/v1/messages/count_tokens``,
  free; a provider offers it as ``count_tokens(request)``): exact;
- an offline tokenizer for the model's family: OpenAI models (``openai``, ``azure``, and
  ``openrouter``'s ``openai/...``) through ``bpe-openai`` (the ``tokens`` extra), which ships the
  ``o200k_base`` / ``cl100k_base`` vocabularies (``tiktoken`` downloads them on first use, so it is
  not used); plus the chat format's few tokens per message;
- otherwise an estimate meant to err high: one token per 3 ASCII characters, one per non-ASCII
  character, 4 per message and 3 for the reply (typical English is ~4 characters per token).

``upper_bound`` is cheaper still and never below the real count of a byte-level BPE tokenizer
(every byte is at most one token): the gateway asks the vendor only when this bound would not fit
the budget. ``ORC_TOKEN_COUNT=local`` never asks the vendor.
"""
from __future__ import annotations

import json
import os
import threading

PER_MESSAGE = 4      # role and separators around each message (OpenAI documents 3-4)
PER_REPLY = 3        # the assistant turn's priming
OPENAI_FAMILY = ("openai", "azure")

_enc_lock = threading.Lock()
_encodings: dict[str, object] = {}


def texts(request) -> list[str]:
    """Every piece of text a request sends: system, messages (with their tool calls), the tools it
    offers, and the schema of structured output."""
    out = [request.system] if request.system else []
    for m in request.messages:
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif c is not None:
            out.append(json.dumps(c, ensure_ascii=False))
        if m.get("tool_calls"):
            out.append(json.dumps(m["tool_calls"], ensure_ascii=False, default=str))
    for extra in (getattr(request, "tools", None), request.schema):
        if extra is not None:
            out.append(json.dumps(extra, ensure_ascii=False, default=str))
    return out


def _overhead(request) -> int:
    return PER_MESSAGE * (len(request.messages) + (1 if request.system else 0)) + PER_REPLY


def estimate(request) -> int:
    """The documented estimate (see the module docstring)."""
    n = 0
    for t in texts(request):
        ascii_chars = sum(1 for ch in t if ord(ch) < 128)
        n += -(-ascii_chars // 3) + (len(t) - ascii_chars)
    return n + _overhead(request)


def upper_bound(request) -> int:
    """Never below a byte-level BPE count: UTF-8 bytes plus the per-message overhead."""
    return sum(len(t.encode("utf-8")) for t in texts(request)) + _overhead(request)


def local_count(model_id: str, request) -> tuple[int, str]:
    """(input tokens, how they were counted) without the network."""
    enc = _encoding_for(model_id)
    if enc is not None:
        return sum(len(enc.encode_ordinary(t)) for t in texts(request)) + _overhead(request), "tokenizer"
    return estimate(request), "estimate"


def _encoding_name(model_id: str) -> str | None:
    provider, _, model = model_id.partition(":")
    if provider == "openrouter" and model.startswith("openai/"):
        provider, model = "openai", model[len("openai/"):]
    if provider not in OPENAI_FAMILY:
        return None
    return "cl100k_base" if model.startswith(("gpt-4-", "gpt-3.5")) or model == "gpt-4" else "o200k_base"


def _encoding_for(model_id: str):
    name = _encoding_name(model_id)
    if name is None:
        return None
    with _enc_lock:
        if name not in _encodings:
            try:
                import bpe_openai  # ~2 s to import once: callers in a run use a worker thread
                _encodings[name] = bpe_openai.get_encoding(name)
            except Exception:  # not installed: the estimate answers
                _encodings[name] = None
        return _encodings[name]


def instant(model_id: str) -> bool:
    """Whether ``local_count`` answers at once (no tokenizer to load first)."""
    name = _encoding_name(model_id)
    return name is None or name in _encodings


def vendor_counting() -> bool:
    """Whether the vendor's token-count endpoint may be asked (``ORC_TOKEN_COUNT=local``: never)."""
    return os.environ.get("ORC_TOKEN_COUNT", "").strip().lower() not in ("local", "estimate", "off")
