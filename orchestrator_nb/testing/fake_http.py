"""A scripted fake vendor API on 127.0.0.1: the shared machinery of ``FakeOpenAI`` / ``FakeAnthropic``.

A server answers each request with the next scripted item (``push``), else (with ``fault_rate``) a
random fault, else a default answer made from the request. Items:

- ``"text"`` or ``{"text": "..."}``: a plain answer;
- ``{"data": {...}}``: a structured answer (JSON content; a tool call for Anthropic tool requests);
- ``{"tool_calls": [{"name": "add", "arguments": {"a": 1}}, ...], "text": "..."}``: the model asks
  for tool calls (several at once: parallel calls), in the vendor's own form (ids made up unless
  given); script the final answer as the next item;
- ``{"status": 429, "retry_after": 0.05, "message": "..."}``: an HTTP error in the vendor's format;
- ``{"malformed": True}``: a 200 whose body (or stream) is not valid JSON;
- ``{"drop": True}``: the connection is closed without an answer;
- ``{"stream_error": "overloaded_error", "after": 2}``: a streamed answer that breaks off with the
  vendor's error event after ``after`` pieces (a non-streamed request gets a 500);
- ``{"delay": 2.0, ...}``: wait before answering (a slow server; combine with any of the above);
- ``{"chunk_delay": 0.05, ...}``: pause between streamed pieces.

Answers stream (SSE) when the request asks for it. Requests that are not model calls (Anthropic's
token count) are answered by ``side_route`` and listed apart (``token_counts``). Usage blocks count words: ``tokens_in`` is the
number of words in the request's messages, ``tokens_out`` the number of streamed pieces (words)
of the answer, unless an item sets them. ``requests`` lists every request (``count`` is its length),
including those answered with a fault.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT_STATUSES = (429, 500, 502, 503, 529)


class Recorded:
    """One request the server received."""

    __slots__ = ("method", "path", "headers", "body", "at", "answer")

    def __init__(self, method, path, headers, body, at):
        self.method, self.path, self.headers, self.body, self.at = method, path, headers, body, at
        self.answer = None          # what the server did: "ok", "status 429", "malformed", "drop"...

    @property
    def api_key(self) -> str | None:
        """The credential the client sent (Authorization bearer, x-api-key or api-key)."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:]
        return self.headers.get("x-api-key") or self.headers.get("api-key")

    @property
    def stream(self) -> bool:
        return bool(isinstance(self.body, dict) and self.body.get("stream"))

    def __repr__(self) -> str:
        return f"<Recorded {self.method} {self.path} -> {self.answer}>"


class FakeServer:
    """Base class: subclasses implement ``answer(handler, rec, item)`` in their vendor's wire format."""

    flavor = "generic"
    url_suffix = ""

    def __init__(self, *, key: str | None = None, fault_rate: float = 0.0, seed: int = 0,
                 faults=None, chunk_delay: float = 0.0):
        self.key = key                      # when set, other credentials get a 401
        self.chunk_delay = chunk_delay
        self.requests: list[Recorded] = []
        self._queue: list = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.faults = list(faults or [{"status": 429, "retry_after": 0.01}, {"status": 500}])
        self._httpd = None
        self._thread = None
        self._env_undo: list = []

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "FakeServer":
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.flavor}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.restore_env()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL to give the vendor's SDK."""
        return f"http://127.0.0.1:{self.port}{self.url_suffix}"

    # scripting ---------------------------------------------------------------------------------
    def push(self, *items) -> "FakeServer":
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._queue.extend(items)
        return self

    def fail(self, status: int, times: int = 1, retry_after: float | None = None, message: str | None = None):
        """Queue ``times`` HTTP errors."""
        item = {"status": status}
        if retry_after is not None:
            item["retry_after"] = retry_after
        if message:
            item["message"] = message
        return self.push(*[dict(item) for _ in range(times)])

    def random_faults(self, rate: float, seed: int = 0, faults=None) -> "FakeServer":
        """Answer a share ``rate`` of (unscripted) requests with a fault drawn from ``faults``."""
        with self._lock:
            self.fault_rate, self._rng = rate, random.Random(seed)
            if faults is not None:
                self.faults = list(faults)
        return self

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.fault_rate = 0.0

    @property
    def count(self) -> int:
        return len(self.requests)

    def answers(self) -> dict:
        """How many requests got each kind of answer, e.g. {"ok": 7, "status 429": 3}."""
        out: dict = {}
        for r in list(self.requests):
            out[r.answer] = out.get(r.answer, 0) + 1
        return out

    # environment -------------------------------------------------------------------------------
    def configure(self, provider: str | None = None, key: str | None = None, monkeypatch=None) -> str:
        """Point ``provider`` (default: this vendor) at this server through ``ORC_<P>_BASE_URL`` and
        its key variable (a fake key unless given). Returns the key. Undone by ``stop`` (or by
        ``monkeypatch`` when given)."""
        import os
        from ..providers.registry import provider_class
        provider = provider or self.flavor
        cls = provider_class(provider)
        key = key or self.key or f"sk-fake-{provider}-0123456789"
        values = {f"ORC_{provider.upper()}_BASE_URL": self.url}
        if cls.key_env:
            values[cls.key_env] = key
        for name, value in values.items():
            if monkeypatch is not None:
                monkeypatch.setenv(name, value)
            else:
                self._env_undo.append((name, os.environ.get(name)))
                os.environ[name] = value
        return key

    def restore_env(self) -> None:
        import os
        while self._env_undo:
            name, old = self._env_undo.pop()
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

    # request handling --------------------------------------------------------------------------
    def _next_item(self):
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return dict(self._rng.choice(self.faults))
        return None

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def side_route(self, h: "_Handler", rec: Recorded) -> bool:
        """Answer a request that is not a model call (True when answered); it is not in ``requests``."""
        return False

    def authorized(self, rec: Recorded) -> bool:
        return self.key is None or rec.api_key == self.key

    def answer(self, h: "_Handler", rec: Recorded, item) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024   # hundreds of parallel clients connect at once in load tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out as separate writes: no 40 ms stalls
    fake: FakeServer

    def log_message(self, format, *args):  # keep test output (and captured logs) clean
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
        fake = self.fake
        if fake.side_route(self, rec):  # e.g. a token count: not a model call, uses no scripted item
            return
        fake._record(rec)
        if not fake.authorized(rec):
            rec.answer = "status 401"
            # like some real vendors, echo the credential back: our side must never show it
            self.send_json(401, fake.error_body(401, f"Incorrect API key provided: {rec.api_key}"))
            return
        item = fake._next_item() if method == "POST" else None  # listings never use up a scripted answer
        if isinstance(item, dict) and item.get("delay"):
            rec.answer = "slow"  # until the answer is written (a client that gave up leaves it so)
            time.sleep(float(item["delay"]))
        try:
            if isinstance(item, dict) and item.get("drop"):
                rec.answer = "drop"
                self.close_connection = True
                return
            if isinstance(item, dict) and item.get("stream_error") and not rec.stream:
                item = dict(item, status=500, message=str(item["stream_error"]))
            if isinstance(item, dict) and item.get("status"):
                status = int(item["status"])
                rec.answer = f"status {status}"
                headers = {}
                if item.get("retry_after") is not None:
                    headers["retry-after"] = f"{float(item['retry_after']):g}"
                self.send_json(status, fake.error_body(status, item.get("message") or _REASON.get(status, "error")),
                               headers)
                return
            fake.answer(self, rec, item)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): fine
            self.close_connection = True

    # writing helpers -----------------------------------------------------------------------------
    def send_json(self, status: int, payload, headers: dict | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def send_event(self, data, event: str | None = None) -> None:
        text = "" if event is None else f"event: {event}\n"
        text += "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        chunk = text.encode()
        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


_REASON = {400: "bad request", 401: "invalid credentials", 403: "forbidden", 404: "not found",
           413: "request too large", 429: "rate limit exceeded, slow down", 500: "internal server error",
           502: "bad gateway", 503: "service unavailable", 529: "overloaded"}


# shared helpers for the vendor flavours -----------------------------------------------------------
def words(text: str) -> list[str]:
    """Pieces to stream: words with their trailing space."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def count_words(*texts) -> int:
    return max(1, sum(len(str(t).split()) for t in texts if t))


def message_text(messages) -> list[str]:
    """Every text of a list of chat messages (string or block content)."""
    out = []
    for m in messages or []:
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            for block in c:
                if isinstance(block, dict):
                    out.append(str(block.get("text") or block.get("content") or ""))
    return out


def default_text(model: str, messages) -> str:
    texts = message_text(messages)
    last = texts[-1] if texts else ""
    return f"[{model}] " + " ".join(last.split()[:30])


def example_value(schema):
    from ..providers.scripted import example_for
    return example_for(schema or {"type": "object"})


def scripted_calls(fields: dict, n: int, prefix: str) -> list[dict]:
    """The item's tool calls with ids: [{"id", "name", "arguments": dict}]."""
    return [{"id": c.get("id") or f"{prefix}{n}_{i}", "name": c["name"], "arguments": c.get("arguments") or {}}
            for i, c in enumerate(fields.get("tool_calls") or ())]


def item_fields(item) -> dict:
    """A scripted item as a dict (a bare string is a text answer)."""
    if item is None:
        return {}
    if isinstance(item, str):
        return {"text": item}
    return dict(item)
