"""Values -> JSON: for the store, the cache and cache keys."""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
from decimal import Decimal
from pathlib import PurePath

_PLAIN = (str, int, float, bool, type(None))
_INFINITE = (float("inf"), float("-inf"))
_INT_BITS = 14_000  # ~4,200 digits: under Python's int-to-text limit (4,300 digits)


def to_jsonable(value):
    """A JSON-safe copy of ``value``. Data frames become records, models become dicts, and
    anything unknown becomes its ``repr`` (so storing never fails: a value that contains itself
    becomes a note saying so)."""
    try:
        return _jsonable(value)
    except RecursionError:  # rare: walk again, marking where a container holds itself
        try:
            return _acyclic(value, set())
        except RecursionError:
            return f"<not stored: this {type(value).__name__} is nested too deeply>"
        except Exception as e:
            return _unstorable(value, e)
    except Exception as e:  # a value whose own methods fail (repr, iteration, tolist...)
        return _unstorable(value, e)


def _unstorable(value, e: Exception) -> str:
    try:
        why = f"{type(e).__name__}: {str(e)[:200]}"
    except Exception:
        why = type(e).__name__
    return f"<not stored: this {type(value).__name__} could not be read ({why})>"


def _acyclic(value, path: set):
    if not isinstance(value, (dict, list, tuple, set, frozenset)):
        return _jsonable(value)
    if id(value) in path:
        return "<not stored: a circular reference>"
    path.add(id(value))
    try:
        if isinstance(value, dict):
            return {str(k): _acyclic(v, path) for k, v in value.items()}
        return [_acyclic(v, path) for v in value]
    finally:
        path.discard(id(value))


def _jsonable(value):
    if isinstance(value, _PLAIN):
        if isinstance(value, float) and (value != value or value in _INFINITE):  # NaN and ±inf are not JSON
            return None
        if type(value) is int and value.bit_length() > _INT_BITS:  # Python will not write it in decimal
            return f"<not stored: an integer of about {int(value.bit_length() * 0.30103):,} digits>"
        return value
    if isinstance(value, dict):
        out = {str(k): _jsonable(v) for k, v in value.items()}
        if len(out) < len(value):  # keys that read the same as text ({1: .., "1": ..}): keep every pair
            return [[_jsonable(k), _jsonable(v)] for k, v in value.items()]
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic
        return _jsonable(dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses
        return _jsonable(dataclasses.asdict(value))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and type(value).__name__ == "DataFrame":
        return _jsonable(to_dict(orient="records"))
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return _jsonable(tolist())
    return repr(value)


def _default(value):
    converted = to_jsonable(value)
    if converted is value:  # pragma: no cover
        return repr(value)
    return converted


# one encoder each, made once (json.dumps with options builds a new encoder on every call)
# (allow_nan=False: NaN and infinity are not JSON; a value holding one goes through to_jsonable: null)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False).encode
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default,
                              allow_nan=False).encode


def dumps(value) -> str:
    """JSON text of ``value``; never fails (what cannot be written becomes a note, see to_jsonable)."""
    try:
        return _dumps(value)
    except Exception:  # a value that contains itself ("Circular reference detected"), a huge int...
        return _last_resort(_dumps, value)


def canonical(value) -> str:
    try:
        return _canonical(value)
    except Exception:
        return _last_resort(_canonical, value)


def _last_resort(encode, value) -> str:
    try:
        return encode(to_jsonable(value))
    except Exception as e:  # e.g. a dict key whose str() fails
        return encode(_unstorable(value, e))


def content_hash(*parts) -> str:
    """Versioned content hash used as a cache key."""
    return hashlib.sha256(canonical(["orc-v1", *parts]).encode("utf-8", "surrogatepass")).hexdigest()
