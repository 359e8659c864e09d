"""Credentials: environment lookups with `.env` support, and redaction of secrets from text.

The process environment wins over the file. The file is read with python-dotenv (quotes,
`export`, comments, escapes as everyone expects); ``ORC_DOTENV`` names another file. Values are
never put into ``os.environ``. ``redact`` removes every credential-looking value from a message
before it is shown, logged or stored."""
from __future__ import annotations

import os
from functools import lru_cache


def getenv(name: str) -> str | None:
    value = os.environ.get(name)
    if value:
        return value
    return dotenv_values().get(name) or None


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> dict:
    from dotenv import dotenv_values as parse
    try:
        return {k: v for k, v in parse(path, encoding="utf-8").items() if v is not None}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}


def dotenv_values(folder: str | None = None) -> dict:
    """`.env` in the working directory, or in ``folder`` (or the file named by ORC_DOTENV)."""
    path = os.environ.get("ORC_DOTENV") or os.path.join(folder or "", ".env")
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    return _read(os.path.abspath(path), mtime)


_CREDENTIAL_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def known_secrets(folder: str | None = None) -> list[str]:
    """Values of every environment (and `.env`) variable that looks like a credential; ``folder``:
    also its `.env` (the folder processes started from here run in, such as a server's root)."""
    pairs = list(os.environ.items()) + list(dotenv_values().items())
    if folder is not None:
        pairs += list(dotenv_values(folder).items())
    return [v for k, v in pairs if v and len(v) >= 8 and any(w in k.upper() for w in _CREDENTIAL_WORDS)]


PART = 12  # a key's first or last this many characters are redacted too (a message may cut a key short)


def redact(text: str, secrets=None) -> str:
    """Remove API keys from a message before it is shown or stored: whole, or the part of one that
    a clipped message kept (its first or last 12 characters or more)."""
    secrets = secrets if secrets is not None else known_secrets()
    for s in secrets:
        if not s or len(s) < 6:
            continue
        if s in text:
            text = text.replace(s, "[redacted]")
        if len(s) > PART:
            text = _cut_parts(text, s)
    return text


def _cut_parts(text: str, secret: str) -> str:
    head, tail = secret[:PART], secret[-PART:]
    i = text.find(head)
    while i >= 0:  # the longest stretch from here that the key starts with
        n = PART
        while n < len(secret) and i + n < len(text) and text[i + n] == secret[n]:
            n += 1
        text = text[:i] + "[redacted]" + text[i + n:]
        i = text.find(head, i + 10)
    i = text.find(tail)
    while i >= 0:  # the longest stretch up to here that the key ends with
        end, n = i + PART, PART
        while n < len(secret) and i > 0 and text[i - 1] == secret[-n - 1]:
            i, n = i - 1, n + 1
        text = text[:i] + "[redacted]" + text[end:]
        i = text.find(tail, i + 10)
    return text


def _install() -> None:
    from . import errors
    errors._redact = redact  # every error message orchestrator-nb makes is redacted


_install()
