"""Turn an exception from a vendor SDK (anthropic, openai: both Stainless-generated) into a
``ProviderError`` whose ``reason`` the gateway acts on.

Reasons: rate_limit (429; ``retry_after`` from the response headers), server (5xx, 529 overloaded,
a malformed body, an error event in the middle of a stream), timeout, connection, auth (401/403: a new try cannot help), context_overflow
(the prompt is too long for the model), bad_request (any other 4xx: never retried).

Messages name the provider, the HTTP status and the vendor's own explanation, with every known
credential removed; the SDK's exception (which holds the request) is never chained.
"""
from __future__ import annotations

import re
import time

from ..errors import ProviderError
from .base import known_secrets, redact
from .wire import looks_html, seconds, snippet

_CONTEXT_WORDS = ("context length", "context_length", "context window", "maximum context", "too many tokens",
                  "prompt is too long", "prompt too long", "reduce the length", "input is too long",
                  "exceeds the context", "request_too_large")


def classify(exc: BaseException, provider: str, secrets=(), label: str | None = None,
             read_timeout: float | None = None) -> ProviderError:
    """The ProviderError for an SDK or transport exception raised while calling ``provider``.
    ``label`` names the endpoint too (``openai (api.openai.com)``); ``read_timeout``: the
    seconds the SDK waited for data, for the message of a timeout."""
    if isinstance(exc, ProviderError):
        return exc
    ours = _guard_error(exc)
    if ours is not None:  # the wire guard's refusal, wrapped by the SDK as a connection error
        return ours
    names = {c.__name__ for c in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    detail = _detail(exc)
    label = label or provider
    html = _html_body(exc)

    def err(reason: str, text: str, retry_after=None, prefix: str | None = None) -> ProviderError:
        message = redact(prefix + text if prefix else f"{label}: {text}", [*secrets, *known_secrets()])
        return ProviderError(message, reason=reason, status=status, retry_after=retry_after,
                             retryable=reason in ("rate_limit", "server", "timeout", "connection"))

    if "APITimeoutError" in names or (status is None and any("Timeout" in n for n in names)):
        if read_timeout:
            return err("timeout", f"the server sent nothing for {seconds(read_timeout)} s (the read timeout; a step's "
                                  "`timeout:` sets it) or could not be reached in that time")
        return err("timeout", "the request timed out (set the step's `timeout:` or try again later)")
    if "APIConnectionError" in names or (status is None and names & _TRANSPORT):
        return err("connection", f"cannot reach the server ({_connection_detail(exc, detail)}); "
                                 f"check the base URL (ORC_{provider.upper().replace('-', '_')}_BASE_URL) and the network")
    if "APIResponseValidationError" in names or isinstance(exc, ValueError) and status is None:
        return err("server", _short(detail) or type(exc).__name__, prefix=f"malformed response from {label}: ")
    if (isinstance(status, int) and status < 400) or (status is None and "APIError" in names):
        # an error event in the middle of a streamed answer (the HTTP status was 200)
        kind = _error_type(exc)
        if "rate_limit" in kind:
            return err("rate_limit", f"rate limited while streaming ({kind}: {detail})")
        return err("server", f"the server failed while streaming ({kind or 'error'}: {detail})")
    if isinstance(status, int):
        where = f"HTTP {status}" + (f": {detail}" if detail else "")
        if html is not None:  # a proxy's or load balancer's page: its text, not its markup
            where = f"HTTP {status}, an HTML page" + ("" if status in (401, 403) else ", not the vendor's answer") \
                + (f": {html}" if html else "")
        if status == 429:
            return err("rate_limit", f"rate limited ({where})", retry_after=retry_after_of(exc))
        if status in (401, 403) and html is not None:  # a proxy or firewall said no, not the vendor
            return err("auth", f"refused by something in between, not the vendor ({where}); check proxies, "
                               "firewalls and the base URL")
        if status in (401, 403):
            return err("auth", f"the API key was refused ({where}); check the key in the environment or .env")
        if status == 413 or (status in (400, 422) and _mentions_context(detail)):
            return err("context_overflow", f"the prompt is too long for this model ({where})")
        if status == 408:
            return err("timeout", f"the server timed out ({where})")
        if status >= 500:
            return err("server", f"server error ({where})", retry_after=retry_after_of(exc))
        if status == 404:
            return err("bad_request", f"not found ({where}); check the model name and the base URL")
        return err("bad_request", f"request refused ({where})")
    return err("error", f"{type(exc).__name__}: {_short(detail)}")


def _guard_error(exc: BaseException) -> ProviderError | None:
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, ProviderError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _connection_detail(exc, detail: str) -> str:
    """The SDK says only 'Connection error.': the cause (refused, reset, DNS) says more."""
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        text = str(cause).strip()
        return _short(f"{type(cause).__name__}: {text}" if text else type(cause).__name__, 160)
    return detail or type(exc).__name__


def _html_body(exc) -> str | None:
    """A short text excerpt when the error's body is an HTML page (a proxy's, not the vendor's)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        ctype = response.headers.get("content-type") or ""
        body = exc.body if isinstance(getattr(exc, "body", None), str) else response.text
    except Exception:
        return None
    if not isinstance(body, str) or not looks_html(ctype, body):
        return None
    return snippet(body, 160)


_TRANSPORT = {"TransportError", "NetworkError", "ProtocolError", "RemoteProtocolError", "ReadError",
              "WriteError", "ConnectError", "ConnectionError", "OSError"}


def _error_type(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("type") or inner.get("code") or "")
    return ""


def _detail(exc) -> str:
    """The vendor's explanation: ``error.message`` of the body when there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return _short(str(inner["message"]))
        if isinstance(inner, str):
            return _short(inner)
    message = getattr(exc, "message", None) or str(exc)
    return _short(re.sub(r"^Error code: \d+( - )?", "", str(message)))


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _mentions_context(text: str) -> bool:
    low = (text or "").lower()
    return any(w in low for w in _CONTEXT_WORDS)


def retry_after_of(exc) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date), if present."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
