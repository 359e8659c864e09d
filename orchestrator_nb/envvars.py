"""Environment variables read on every run, cheaply.

A run reads about fifteen settings from the environment (approval policy, budgets, webhooks,
telemetry, the settings file). ``os.environ.get`` encodes the name and, for an unset variable,
raises and catches a KeyError inside: ~1 µs each, a sixth of a small pipeline's whole run. On
POSIX the mapping keeps its encoded items in a plain dict (``os.environ._data``, updated by every
``os.environ[...] = ...``); reading that dict gives the same answer for a fraction of the cost.
Elsewhere, or if that dict is not there, this is ``os.environ.get``.
"""
from __future__ import annotations

import os

_raw = getattr(os.environ, "_data", None) if os.name == "posix" else None
if not isinstance(_raw, dict):  # pragma: no cover - another platform or interpreter
    _raw = None
_keys: dict[str, bytes] = {}


def env(name: str, default: str | None = None) -> str | None:
    """``os.environ.get(name, default)``."""
    if _raw is None:  # pragma: no cover
        return os.environ.get(name, default)
    key = _keys.get(name)
    if key is None:
        key = _keys[name] = os.fsencode(name)
    value = _raw.get(key)
    return default if value is None else os.fsdecode(value)
