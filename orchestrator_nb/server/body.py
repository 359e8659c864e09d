"""Reading a REST request body within limits: its size (413), its JSON nesting and its fields (400).

Handlers stream the body (``OrcHandler`` is a ``stream_request_body`` handler), so a body past
``ORC_API_MAX_BODY_BYTES`` is refused from its Content-Length before it is read, or dropped
chunk by chunk when it has none; the JSON nesting is counted before ``json.loads`` builds
anything (a 100,000-level body used to end in a RecursionError and a 500).
"""
from __future__ import annotations

import json
import re

from ..limits import LIMITS


class BadRequest(Exception):
    """A 4xx answer: ``{"message", "field", "status"}``."""

    def __init__(self, field: str | None, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def too_large(size: int) -> BadRequest:
    return BadRequest("body", LIMITS["api_body_bytes"].message(size), 413)


class BodyReader:
    """Collects a streamed body, keeping nothing once it passes the size limit."""

    def __init__(self, declared: str | None = None):
        self.limit = LIMITS["api_body_bytes"].value()
        self.size, self.chunks = 0, []
        if declared is not None and declared.strip().isdigit() and int(declared) > self.limit:
            raise too_large(int(declared))

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= self.limit:
            self.chunks.append(chunk)
        else:
            self.chunks = []

    def body(self) -> bytes:
        if self.size > self.limit:
            raise too_large(self.size)
        return b"".join(self.chunks)


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(raw: bytes) -> int:
    """How deeply ``raw`` nests arrays and objects (strings skipped), without parsing it."""
    depth = deepest = 0
    for m in _TOKENS.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest


def json_object(raw: bytes, fields: tuple[str, ...], empty_ok: bool = False) -> dict:
    """The body as a JSON object with only ``fields`` (an empty body is {} when ``empty_ok``);
    BadRequest naming what is wrong."""
    raw = raw or b""
    if empty_ok and not raw.strip():
        return {}
    depth = json_depth(raw)
    if LIMITS["api_json_depth"].exceeded_by(depth):
        raise BadRequest("body", LIMITS["api_json_depth"].message(depth))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("body", "the body must be a JSON object" + (" with the fields " + ", ".join(fields)
                                                                    if fields else ": {} or nothing")) from None
    if not isinstance(data, dict):
        raise BadRequest("body", f"the body must be a JSON object, got {_json_type(data)}")
    bad = _bad_value(data, "")
    if bad is not None:
        field, why = bad[0][:100] or "body", bad[1]
        raise BadRequest(field, f"{field} {why}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadRequest(unknown[0][:100], f"unknown field {unknown[0][:100]!r} (fields: {', '.join(fields) or 'none'})")
    return data


_TEXT = "is not valid Unicode text (it holds a lone surrogate such as \\ud800): send UTF-8 text"
_NUMBER = "is not a finite number (NaN, Infinity or past 1e308): send a finite number or null"


def _json_type(value) -> str:
    return {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _bad_value(value, path: str):
    """(the path of the first value that cannot be stored and shown again, why), or None: a lone
    surrogate in a string or key, or a NaN / infinite number."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, _TEXT
        return None
    if isinstance(value, float):
        return (path, _NUMBER) if value != value or value in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if _bad_value(k, "") is not None:
                return (path or "body"), "has a key that " + _TEXT
            found = _bad_value(v, f"{path}.{k}" if path else str(k))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _bad_value(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def text_field(data: dict, name: str, *, required: bool = False, limit: str | None = None,
               max_chars: int | None = None) -> str | None:
    """A string field, stripped; None when absent or empty (unless ``required``). ``limit`` names a
    configurable limit (``api_comment_chars``); ``max_chars`` a fixed one (ids are short)."""
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(name, f"{name} must be a string, got {type(value).__name__}")
    if limit is not None and value is not None and LIMITS[limit].exceeded_by(len(value)):
        raise BadRequest(name, LIMITS[limit].message(len(value)))
    if max_chars is not None and value is not None and len(value) > max_chars:
        raise BadRequest(name, f"{name} is {len(value):,} characters; at most {max_chars:,}")
    value = (value or "").strip() or None
    if required and value is None:
        raise BadRequest(name, f"{name} is required (a non-empty string)")
    return value
