"""What a vendor's HTTP answer may cost, and how a failure names the endpoint.

The SDK clients get an httpx response hook (``http_client``) that bounds every answer's size while
it is read — decompressed bytes counted, gzip inflated here in bounded steps so a small bomb
cannot blow up — and refuses a 2xx whose body is neither JSON nor an event stream (a captive
portal's HTML page). ``malformed`` / ``cut_off`` are the failures of an answer that arrived but
cannot be used: retried and fallen back from like a server error, never cached.
"""
from __future__ import annotations

import re
import zlib
from urllib.parse import urlsplit

from ..errors import ProviderError
from ..limits import LIMITS

_CHUNK = 1 << 20  # inflate at most this much per step: a gzip bomb is stopped at the limit


def host_of(base_url: str | None) -> str:
    """``api.openai.com`` / ``127.0.0.1:8765``: the endpoint as messages name it."""
    if not base_url:
        return "?"
    return urlsplit(base_url).netloc or base_url


def seconds(n: float) -> str:
    """'600', '20', '0.5': a duration as a setting would be written (no 20.2523)."""
    return f"{n:.0f}" if n >= 10 else f"{n:.2g}"


def malformed(label: str, what: str) -> ProviderError:
    """An answer that is not one: retried, falls back, never cached."""
    return ProviderError(f"malformed response from {label}: {what}", reason="server", retryable=True)


def cut_off(label: str, what: str) -> ProviderError:
    """A streamed answer that ended before the vendor said it was complete."""
    return ProviderError(f"the answer from {label} was cut off ({what}); the partial answer is not used",
                         reason="connection", retryable=True)


def too_large(label: str) -> ProviderError:
    text = LIMITS["response_bytes"].message(what=f"the answer from {label}")
    return ProviderError(text, reason="server", retryable=True)


def snippet(body: bytes | str, limit: int = 120) -> str:
    """A short, tag-free, one-line excerpt of a body (HTML pages are mostly tags)."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text[:20_000], flags=re.S | re.I)
    text = " ".join(re.sub(r"<[^>]{0,500}>", " ", text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def looks_html(content_type: str, body) -> bool:
    head = (body[:200].decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)[:200])
    return "html" in content_type.lower() or head.lstrip().lower().startswith(("<!doctype", "<html"))


def shape(value, missing: str) -> str:
    """What an SDK handed back instead of an answer object, for a malformed-response message."""
    if isinstance(value, (str, bytes)):
        return f"{missing}: {snippet(value) or 'an empty body'}"
    if value is None or isinstance(value, (list, int, float, bool)):
        return f"{missing} (the body is a JSON {type(value).__name__ if value is not None else 'null'})"
    return missing


async def describe(response) -> str:
    """'<content type>: <snippet>' of an unusable answer (its body read, bounded by the guard)."""
    ctype = response.headers.get("content-type") or "no content type"
    try:
        body = await response.aread()
    except ProviderError:
        raise
    except Exception:
        body = b""
    text = snippet(body)
    return f"{ctype}: {text}" if text else f"{ctype}, empty body"


async def require_sse(response, label: str) -> None:
    """A streamed request must be answered with an event stream (else: malformed, with a snippet)."""
    if not (response.headers.get("content-type") or "").lower().startswith("text/event-stream"):
        raise malformed(label, await describe(response))


def http_client(sdk, label: str):
    """The SDK's default httpx client with the size guard as a response hook."""
    async def guard(response) -> None:
        cap = int(LIMITS["response_bytes"].value())
        encoding = (response.headers.get("content-encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "deflate", "x-gzip"):
            raise malformed(label, f"unsupported content encoding {encoding!r}")
        if encoding != "identity":
            del response.headers["content-encoding"]  # inflated here, bounded, instead of by httpx
            response.headers.pop("content-length", None)
        response.stream = _bounded_class(type(response.stream))(response.stream, cap, label, encoding)
        if 200 <= response.status_code < 300 and response.request.method == "POST":
            ctype = (response.headers.get("content-type") or "").lower()
            if not ("json" in ctype or ctype.startswith("text/event-stream")):
                raise malformed(label, await describe(response))
    return sdk.DefaultAsyncHttpxClient(event_hooks={"response": [guard]},
                                       headers={"Accept-Encoding": "gzip, deflate"})


_CLASSES: dict = {}


def _bounded_class(stream_type):
    """``_Bounded`` as a subclass of the SDK's own httpx ``AsyncByteStream`` (httpx checks it;
    the SDKs ship httpx or httpx2, so the base is taken from the stream being wrapped)."""
    cls = _CLASSES.get(stream_type)
    if cls is None:
        base = next((c for c in stream_type.__mro__ if c.__name__ == "AsyncByteStream"), object)
        cls = _CLASSES[stream_type] = type("BoundedStream", (_Bounded, base), {})
    return cls


class _Bounded:
    """An httpx async byte stream that stops past ``cap`` decompressed bytes."""

    def __init__(self, inner, cap: int, label: str, encoding: str):
        self.inner, self.cap, self.label = inner, cap, label
        self.inflate = None if encoding == "identity" else zlib.decompressobj(47)  # gzip or zlib framing

    async def __aiter__(self):
        seen = 0
        inflate = self.inflate
        async for chunk in self.inner:
            if inflate is None:
                seen += len(chunk)
                if seen > self.cap:
                    raise too_large(self.label)
                yield chunk
                continue
            data = chunk
            while data:
                try:
                    out = inflate.decompress(data, _CHUNK)
                except zlib.error as e:
                    raise malformed(self.label, f"the compressed body is broken ({e})") from None
                seen += len(out)
                if seen > self.cap:
                    raise too_large(self.label)
                if out:
                    yield out
                data = inflate.unconsumed_tail
        if inflate is not None:
            tail = inflate.flush()
            if seen + len(tail) > self.cap:
                raise too_large(self.label)
            if tail:
                yield tail

    async def aclose(self) -> None:
        await self.inner.aclose()
