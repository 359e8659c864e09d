"""A webhook receiver on 127.0.0.1 for tests and demos: records every POST, answers as scripted.

    with WebhookReceiver() as hook:           # hook.url -> http://127.0.0.1:PORT/hook
        hook.answers = [503, 503]             # the next answers (then 200): a status, or "hang"
        ...
        hook.wait_for(2)                      # until 2 payloads arrived (or a timeout)
        hook.payloads                         # the JSON bodies received with 2xx, in order

``received`` lists every request (path, headers, body, the status answered, None for a hang), in
the order they arrived, recorded before the answer goes out.
A ``"hang"`` answer keeps the connection open without answering until the receiver closes.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, path: str = "/hook"):
        self.path = path
        self.answers: list = []
        self.received: list[dict] = []
        self._lock = threading.Condition()
        self._closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver._lock:  # recorded before the answer: a sender that got it finds it here
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                    status = None if answer == "hang" else int(answer)
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "status": status, "at": time.time()})
                    receiver._lock.notify_all()
                if status is None:
                    receiver._closing.wait(60)  # never answers
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def payloads(self) -> list:
        with self._lock:
            return [r["body"] for r in self.received if r["status"] and 200 <= r["status"] < 300]

    def wait_for(self, n: int, timeout: float = 10.0) -> list:
        """The delivered payloads once there are ``n`` of them (or after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([r for r in self.received if r["status"] and 200 <= r["status"] < 300]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
        return self.payloads
