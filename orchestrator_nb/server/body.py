"""Reading a REST request body within limits: its size (413), its JSON nesting and its fields (400).

Handlers stream the body (``OrcHandler`` is a ``stream_request_body`` handler), so a body past
``ORC_API_MAX_BODY_BYTES`` is refused from its Content-Length before it is read, or dropped
chunk by chunk when it has none; the JSON nesting is counted before ``json.loads`` builds
anything (a 100,000-level body used to end in a RecursionError and a 500).
"""
from __future__ import annotations

import gc
import json
import re
import sys

from ..limits import LIMITS


PATH_CHARS = 200  # of a path or name quoted in an error (a 5,000-character one is not echoed)


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


_LEAF = b"()"
_ONLY_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_AS_PARENS = bytes.maketrans(b"[]{}", b"()()")
_RUNS = re.compile(rb"\(+|\)+")
MAX_RUNS = 200_000  # bracket runs counted one by one in Python (~20 ms)


def json_depth(raw: bytes) -> int:
    """How deeply ``raw`` nests arrays and objects (strings skipped), without parsing it.

    Linear and at C speed whatever the body (a regex over strings was quadratic on an unclosed
    string of ``\\"``): escapes go first (``\\\\`` pairs, then ``\\"``), strings are the odd
    pieces between quotes, and only the brackets outside them are counted."""
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(plain.split(b'"')[0::2])  # an unclosed string runs to the end
    brackets = outside.translate(_AS_PARENS, _ONLY_BRACKETS)
    peeled = 0
    # many short runs ("()()()..."): peel the innermost pairs off (one level each, and at least
    # two bytes per run) until few runs are left to walk
    while brackets.count(b")(") > MAX_RUNS:
        brackets, peeled = brackets.replace(_LEAF, b""), peeled + 1
    depth = deepest = 0
    for run in _RUNS.findall(brackets):
        depth += len(run) if run[:1] == b"(" else -len(run)
        deepest = max(deepest, depth)
    return deepest + peeled


def json_object(raw: bytes, fields: tuple[str, ...], empty_ok: bool = False) -> dict:
    """The body as a JSON object with only ``fields`` (an empty body is {} when ``empty_ok``);
    BadRequest naming what is wrong. Linear in the body's size: a 5 MB body takes well under a
    second (handlers still parse off the IO loop)."""
    raw = raw or b""
    if empty_ok and not raw.strip():
        return {}
    depth = json_depth(raw)
    if LIMITS["api_json_depth"].exceeded_by(depth):
        raise BadRequest("body", LIMITS["api_json_depth"].message(depth))
    data, duplicated = _loads(raw, fields)
    if not isinstance(data, dict):
        raise BadRequest("body", f"the body must be a JSON object, got {_json_type(data)}")
    try:
        bad = _bad_value(data) if duplicated or not _storable(data) else None
    except RecursionError:  # ORC_API_MAX_JSON_DEPTH raised past what Python can walk
        raise BadRequest("body", LIMITS["api_json_depth"].message()) from None
    if bad is not None:
        steps, why = bad
        field = _path(steps)[:100] or "body"
        raise BadRequest(field, f"{field} {why}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadRequest(unknown[0][:100], f"unknown field {unknown[0][:100]!r} (fields: {', '.join(fields) or 'none'})")
    return data


class _Duplicated(dict):
    """An object that named a key twice (``json`` would keep the last value silently)."""

    def __init__(self, pairs):
        super().__init__(pairs)
        seen = set()
        self.duplicated = next(k for k, _ in pairs if k in seen or seen.add(k))


class _HugeInt:
    """An integer past Python's digit limit, kept as its length to name its field."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-"))


def _int(text: str):
    limit = sys.get_int_max_str_digits()
    return _HugeInt(text) if limit and len(text) - text.startswith("-") > limit else int(text)


def _loads(raw: bytes, fields: tuple[str, ...]) -> tuple:
    """(the parsed body, whether an object in it names a key twice)."""
    duplicated = []

    def pairs_to_dict(pairs):
        d = dict(pairs)
        if len(d) == len(pairs):
            return d
        duplicated.append(True)
        return _Duplicated(pairs)

    collecting = gc.isenabled()
    gc.disable()  # a body of a million small objects would set off collection after collection
    try:
        try:
            return json.loads(raw, object_pairs_hook=pairs_to_dict), bool(duplicated)
        except ValueError as e:  # an integer of more than 4,300 digits: parse again to say where
            if isinstance(e, (json.JSONDecodeError, UnicodeDecodeError)) or "integer string" not in str(e):
                raise
            return json.loads(raw, object_pairs_hook=pairs_to_dict, parse_int=_int), True
    except RecursionError:  # json_depth saw fewer levels (a malformed body): as deep all the same
        raise BadRequest("body", LIMITS["api_json_depth"].message()) from None
    except ValueError:  # not JSON, not UTF-8
        raise BadRequest("body", "the body must be a JSON object" + (" with the fields " + ", ".join(fields)
                                                                    if fields else ": {} or nothing")) from None
    finally:
        if collecting:
            gc.enable()


def _storable(data) -> bool:
    """Whether ``data`` can be stored and shown again, checked at C speed (the walk that finds the
    culprit runs only when it cannot)."""
    try:
        json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return False
    return True


_TEXT = "is not valid Unicode text (it holds a lone surrogate such as \\ud800): send UTF-8 text"
_NUMBER = "is not a finite number (NaN, Infinity or past 1e308): send a finite number or null"


def _json_type(value) -> str:
    return {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _bad_value(value):
    """(the path to the first value that cannot be stored and shown again, innermost step first;
    why), or None: a key given twice, a lone surrogate in a string or key, a NaN / infinite
    number, an integer of too many digits. The path is built only for the one found."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [], _TEXT
        return None
    if isinstance(value, float):
        return ([], _NUMBER) if value != value or value in (float("inf"), float("-inf")) else None
    if isinstance(value, _HugeInt):
        return [], (f"is an integer of {value.digits:,} digits; at most {sys.get_int_max_str_digits():,} "
                    "(send it as a string)")
    if isinstance(value, dict):
        if isinstance(value, _Duplicated) and _bad_value(value.duplicated) is None:
            return [value.duplicated], "is given twice (only one value can be kept): send it once"
        for k, v in value.items():
            if _bad_value(k) is not None:
                return [], "has a key that " + _TEXT
            found = _bad_value(v)
            if found is not None:
                found[0].append(str(k))
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _bad_value(v)
            if found is not None:
                found[0].append(i)
                return found
    return None


def _path(steps: list) -> str:
    """``inputs.blob[1]`` from the steps found innermost first (``[1, "blob", "inputs"]``)."""
    out = ""
    for step in reversed(steps):
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


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
