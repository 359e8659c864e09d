"""Values -> JSON: for the store, the cache and cache keys."""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
from decimal import Decimal
from pathlib import PurePath

_PLAIN = (str, int, float, bool, type(None))


def to_jsonable(value):
    """A JSON-safe copy of ``value``. Data frames become records, models become dicts, and
    anything unknown becomes its ``repr`` (so storing never fails)."""
    if isinstance(value, _PLAIN):
        if isinstance(value, float) and value != value:  # NaN is not JSON
            return None
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
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
        return to_jsonable(dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses
        return to_jsonable(dataclasses.asdict(value))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and type(value).__name__ == "DataFrame":
        return to_jsonable(to_dict(orient="records"))
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return to_jsonable(tolist())
    return repr(value)


def _default(value):
    converted = to_jsonable(value)
    if converted is value:  # pragma: no cover
        return repr(value)
    return converted


# one encoder each, made once (json.dumps with options builds a new encoder on every call)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default).encode


def dumps(value) -> str:
    return _dumps(value)


def canonical(value) -> str:
    return _canonical(value)


def content_hash(*parts) -> str:
    """Versioned content hash used as a cache key."""
    return hashlib.sha256(canonical(["orc-v1", *parts]).encode()).hexdigest()
