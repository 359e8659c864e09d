"""A hostile vendor server for the provider tests (imported as `hostile_server`: tests/security
checks that a module named `hostile` is never imported). The first path segment picks the
misbehaviour (``<url>/<mode>/v1`` for openai, ``<url>/<mode>`` for anthropic), answered in the
vendor's own shape. Sizes are small: the tests lower the limits to match."""
from __future__ import annotations

import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIZE = 300_000  # bytes of a "huge" answer (tests set ORC_MAX_RESPONSE_BYTES below it)


def ok_body(anthropic: bool, text: str = "hello") -> dict:
    if anthropic:
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": text}], "usage": {"input_tokens": 1, "output_tokens": 1}}
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def sse_start(anthropic: bool, text: str) -> bytes:
    """The first events of a streamed answer (no end: a cut-off stream)."""
    if anthropic:
        return (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message",'
                b'"role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,'
                b'"output_tokens":1}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start",'
                b'"index":0,"content_block":{"type":"text","text":""}}\n\nevent: content_block_delta\ndata: '
                b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'
                + text.encode() + b'"}}\n\n')
    return (b'data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,'
            b'"delta":{"role":"assistant","content":"' + text.encode() + b'"},"finish_reason":null}]}\n\n')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        self.server.seen.append(self.path)
        self.anthropic = self.path.rstrip("/").endswith("/messages")
        self.streaming = bool(body.get("stream"))
        try:
            getattr(self, "m_" + self.path.strip("/").split("/")[0])()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send(self, status: int, body: bytes, ctype: str = "application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def head(self, ctype: str, **extra):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        for k, v in extra.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()

    # time --------------------------------------------------------------------------------------
    def m_keepalive(self):  # an event stream of comments, for ever (or a body of spaces)
        self.head("text/event-stream")
        while not self.server.stopping:
            self.wfile.write(b": keep-alive\n\n" if self.streaming else b" ")
            self.wfile.flush()
            time.sleep(0.05)

    def m_drip(self):  # a whole answer, one byte every 50 ms
        data = json.dumps(ok_body(self.anthropic, "x" * 500)).encode()
        self.head("application/json", Content_Length=str(len(data)))
        for b in data:
            if self.server.stopping:
                return
            self.wfile.write(bytes([b]))
            self.wfile.flush()
            time.sleep(0.05)

    # shapes ------------------------------------------------------------------------------------
    def m_texthtml(self):
        self.send(200, b"<html><body><h1>Hello from a captive portal</h1></body></html>", "text/html")

    def m_emptychoices(self):
        body = {**ok_body(True), "content": []} if self.anthropic else {**ok_body(False), "choices": []}
        self.send(200, json.dumps(body).encode())

    def m_jsonnull(self):
        self.send(200, b"null")

    def m_numcontent(self):
        body = ok_body(self.anthropic)
        if self.anthropic:
            body["content"] = [{"type": "text", "text": 42}]
        else:
            body["choices"][0]["message"]["content"] = 42
        self.send(200, json.dumps(body).encode())

    def m_truncsse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(sse_start(self.anthropic, "Partial ans"))
        self.close_connection = True

    # size --------------------------------------------------------------------------------------
    def m_huge(self):
        if self.streaming:  # one event as big as the whole answer
            self.head("text/event-stream", Connection="close")
            self.wfile.write(sse_start(self.anthropic, "a" * SIZE))
            self.close_connection = True
            return
        self.send(200, json.dumps(ok_body(self.anthropic, "a" * SIZE)).encode())

    def m_gzipbomb(self):  # 30 kB on the wire, 30 MB inflated
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = z.compress(json.dumps(ok_body(self.anthropic, "0" * 30_000_000)).encode()) + z.flush()
        self.send(200, data, "text/event-stream" if self.streaming else "application/json",
                  headers=[("Content-Encoding", "gzip")])

    def m_endless(self):  # a chunked body that never ends
        self.head("text/event-stream" if self.streaming else "application/json", Transfer_Encoding="chunked")
        chunk = sse_start(self.anthropic, "a" * 5000) if self.streaming else b"a" * 8192
        while not self.server.stopping:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    # statuses ----------------------------------------------------------------------------------
    def m_html403(self):
        self.send(403, b"<html><body><h1>Access denied</h1><p>Ray ID: 1234</p></body></html>", "text/html")

    def m_html502(self):
        self.send(502, b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
                       b"<hr>nginx</body></html>" + b" " * 5000, "text/html")

    def m_r503big(self):
        self.send(503, b'{"error": {"message": "overloaded", "type": "api_error"}}', headers=[("Retry-After", "999999")])


class Hostile:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.seen, self.httpd.stopping = [], False
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def use(self, monkeypatch, vendor: str, mode: str) -> str:
        """Point ``vendor`` at the misbehaviour ``mode``; returns the model id to ask."""
        suffix = "/v1" if vendor == "openai" else ""
        monkeypatch.setenv(f"ORC_{vendor.upper()}_BASE_URL", f"http://{self.host}/{mode}{suffix}")
        monkeypatch.setenv(f"{vendor.upper()}_API_KEY", f"sk-hostile-{vendor}-0123456789")
        return f"{vendor}:m"

    def stop(self):
        self.httpd.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()
