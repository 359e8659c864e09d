"""A fake web search API on 127.0.0.1 for the `search` tool: Brave's and Tavily's wire formats.

    with FakeSearch() as srv:
        srv.configure("brave")        # ORC_BRAVE_BASE_URL + a fake BRAVE_API_KEY for this process
        srv.results["tides"] = [{"title": "Tides", "url": "https://example.org/tides", "snippet": "..."}]
        ...                           # run a pipeline whose steps search; srv.requests lists the queries

``GET /res/v1/web/search?q=...&count=n`` (Brave, key in ``x-subscription-token``) and ``POST
/search {query, max_results}`` (Tavily, key as a bearer token) answer with the results listed for
the query (or for ``"*"``), else none. A wrong key gets a 401 that echoes it (as some real APIs
do: our side must never show it).
"""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeSearch:
    def __init__(self):
        self.results: dict[str, list[dict]] = {}
        self.requests: list[dict] = []  # {"provider", "query", "count", "key"}
        self.key: str | None = None
        self._httpd = None
        self._undo: list = []

    def start(self) -> "FakeSearch":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="fake-search").start()
        return self

    def stop(self) -> None:
        for name, old in reversed(self._undo):
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        self._undo.clear()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def configure(self, provider: str = "brave", key: str | None = None) -> str:
        """Point ``provider`` (brave or tavily) here with a fake key; undone by ``stop``."""
        self.key = key or f"fake-{provider}-key-0123456789"
        env = {"brave": "BRAVE_API_KEY", "tavily": "TAVILY_API_KEY"}[provider]
        for name, value in ((f"ORC_{provider.upper()}_BASE_URL", self.url), (env, self.key)):
            self._undo.append((name, os.environ.get(name)))
            os.environ[name] = value
        return self.key

    def found(self, query: str, n: int) -> list[dict]:
        return (self.results.get(query) or self.results.get("*") or [])[:n]


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeSearch

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path != "/res/v1/web/search":
            return self._send(404, {"error": "not found"})
        q = parse_qs(parts.query)
        query, n = q.get("q", [""])[0], int(q.get("count", ["10"])[0])
        key = self.headers.get("x-subscription-token")
        if not self._authorized("brave", query, n, key):
            return
        rows = self.server_fake.found(query, n)
        self._send(200, {"type": "search", "query": {"original": query},
                         "web": {"type": "search", "results": [
                             {"title": r["title"], "url": r["url"], "description": r.get("snippet", "")}
                             for r in rows]}})

    def do_POST(self):
        if urlsplit(self.path).path != "/search":
            return self._send(404, {"error": "not found"})
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        auth = self.headers.get("authorization", "")
        key = auth[7:] if auth.lower().startswith("bearer ") else None
        query, n = body.get("query", ""), int(body.get("max_results", 5))
        if not self._authorized("tavily", query, n, key):
            return
        rows = self.server_fake.found(query, n)
        self._send(200, {"query": query, "results": [
            {"title": r["title"], "url": r["url"], "content": r.get("snippet", ""), "score": 0.9} for r in rows]})

    def _authorized(self, provider, query, n, key) -> bool:
        fake = self.server_fake
        fake.requests.append({"provider": provider, "query": query, "count": n, "key": key})
        if fake.key is not None and key != fake.key:
            self._send(401, {"error": f"invalid key {key}"})
            return False
        return True

    def _send(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
