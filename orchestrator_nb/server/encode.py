"""Store rows -> JSON for the browser: UTC timestamps as ISO 8601 with ``Z``, and no secrets.

The store never holds API keys (providers redact them), but a response is the last place to be
sure: request fields named like credentials are masked, and the values of credential-like
environment variables (and the server's own token) are replaced wherever they appear.
"""
from __future__ import annotations

import datetime as dt
import json
import re

from ..core.serialize import to_jsonable

MASK = "[redacted]"
_INF = float("inf")
_SECRET_KEY = re.compile(r"(api[_-]?key|authorization|secret|password|token)$", re.I)
_NOT_SECRET = {"max_tokens", "tokens_in", "tokens_out", "max_output_tokens"}


def to_json(value, secrets=()) -> str:
    text = json.dumps(_clean(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for s in sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(json.dumps(s)[1:-1], MASK)
    return text


def _clean(value):
    if isinstance(value, dict):
        return {str(k): (MASK if _is_secret_key(k, v) else _clean(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return None  # JSON has no NaN or infinity (a stored one must not make the run unreadable)
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return _clean(to_jsonable(value))


def _is_secret_key(key, value) -> bool:
    k = str(key)
    if k in _NOT_SECRET or not _SECRET_KEY.search(k):
        return False
    return isinstance(value, (str, list, tuple, dict)) and bool(value)  # a key in a list is still a key


def known_secrets(server_token: str | None = None, root_dir: str | None = None) -> list[str]:
    """Credential values to mask: the environment's, `.env`'s (the server's and its root's, where
    workers run) and the server's token."""
    from ..credentials import known_secrets as credential_values
    out = list(credential_values(root_dir))
    if server_token:
        out.append(server_token)
    return out
