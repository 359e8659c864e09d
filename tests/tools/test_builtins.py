"""The built-in `fetch` (a local HTTP server) and `search` (the fake search APIs) tools, run
directly by `call:` steps and by a model."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import orchestrator_nb as orc
from orchestrator_nb.testing.fake_search import FakeSearch
from toolkit import tool_calls

PAGE = b"""<!doctype html><html><head><title>Tides explained</title><script>var tracking = 1;</script>
<style>body { color: red }</style></head><body><nav>Home | About</nav><main><h1>Tides</h1>
<p>The <b>Moon</b> pulls the oceans. See <a href="/more">more</a>.</p><ul><li>spring</li><li>neap</li></ul>
</main><footer>(c) nobody</footer></body></html>"""


class Site(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/page.html":
            return self._send(200, "text/html; charset=utf-8", PAGE)
        if self.path == "/notes.txt":
            return self._send(200, "text/plain", b"plain notes\nline two")
        if self.path == "/big":
            return self._send(200, "text/plain", b"x" * 300_000)
        if self.path == "/image.png":
            return self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("location", "/page.html")
            self.send_header("content-length", "0")
            self.end_headers()
            return None
        if self.path == "/slow":
            time.sleep(3)
            return self._send(200, "text/plain", b"late")
        return self._send(404, "text/plain", b"no such page")

    def _send(self, status, kind, body):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, **settings) -> orc.RunResult:
    fetch_settings = {"allow_private": True, **settings}
    return orc.run({"name": "f", "tools": {"fetch": fetch_settings},
                    "steps": [{"id": "get", "call": "fetch", "params": {"url": url}}]})


def test_fetch_gives_readable_markdown(site):
    result = fetch(f"{site}/page.html")
    assert result.status == "succeeded", result.error
    text = result["get"]
    assert text.startswith("# Tides explained\n") and "# Tides" in text
    assert "The **Moon** pulls the oceans. See [more](/more)." in text and "* spring" in text
    assert "tracking" not in text and "color: red" not in text and "Home | About" not in text and "(c)" not in text
    assert fetch(f"{site}/moved")["get"] == text                      # redirects are followed
    assert fetch(f"{site}/notes.txt")["get"] == "plain notes\nline two"


def test_fetch_limits_size_time_and_kinds(site):
    big = fetch(f"{site}/big", max_bytes=1000)["get"]
    assert big.startswith("x" * 1000) and "larger than 1000 bytes; the rest was not read" in big
    slow = fetch(f"{site}/slow", timeout=0.5)
    assert slow.status == "failed" and "no complete answer within 0.5 s" in slow.error
    image = fetch(f"{site}/image.png")
    assert image.status == "failed" and "image/png is not text" in image.error
    missing = fetch(f"{site}/nothing")
    assert missing.status == "failed" and "HTTP 404" in missing.error
    assert "is not an http(s) URL" in fetch("file:///etc/passwd").error


def test_fetch_keeps_models_off_this_machine_unless_allowed(site):
    blocked = fetch(f"{site}/page.html", allow_private=False)
    assert blocked.status == "failed"
    assert "127.0.0.1 is a local or private address" in blocked.error
    assert "`tools: {fetch: {allow_private: true}}`" in blocked.error


def test_a_model_reads_pages_it_found_by_search(site, scripted, monkeypatch):
    with FakeSearch() as search:
        key = search.configure("brave")
        search.results["tides"] = [{"title": "Tides explained", "url": f"{site}/page.html", "snippet": "The Moon..."}]
        scripted([{"match": "Moon\\*\\* pulls", "reply": "The Moon pulls the oceans [1]."},
                  {"match": "example.org|Tides explained", "reply": {"tool_calls": [
                      {"name": "fetch", "arguments": {"url": f"{site}/page.html"}}]}},
                  {"match": "Research tides", "reply": {"tool_calls": [
                      {"name": "search", "arguments": {"query": "tides"}}]}}])
        result = orc.run({"name": "research", "tools": {"fetch": {"allow_private": True}},
                          "steps": [{"id": "r", "model": "scripted:echo", "tools": ["search", "fetch"],
                                     "prompt": "Research tides and cite sources"}]})
        assert result.status == "succeeded", result.error
        assert result["r"] == "The Moon pulls the oceans [1]."
        calls = tool_calls(result.run_id)
        assert [(c["turn"], c["tool"]) for c in calls] == [(1, "search"), (2, "fetch")]
        assert calls[0]["result"] == [{"title": "Tides explained", "url": f"{site}/page.html",
                                       "snippet": "The Moon..."}]
        assert search.requests == [{"provider": "brave", "query": "tides", "count": 5, "key": key}]


@pytest.mark.parametrize("provider", ["brave", "tavily"])
def test_keyed_search_providers_and_their_keys_stay_secret(provider):
    with FakeSearch() as search:
        key = search.configure(provider)
        search.results["*"] = [{"title": f"r{i}", "url": f"https://example.org/{i}", "snippet": "s"} for i in range(9)]
        spec = {"name": "s", "tools": {"search": {"max_results": 3}},
                "steps": [{"id": "s", "call": "search", "params": {"query": "anything"}}]}
        result = orc.run(spec)
        assert [r["title"] for r in result["s"]] == ["r0", "r1", "r2"]
        assert search.requests[-1]["provider"] == provider and search.requests[-1]["key"] == key
        search.key = "another-key"                      # our key is now wrong: the API echoes it back
        bad = orc.run(spec, use_cache=False)
        assert bad.status == "failed" and "HTTP 401" in bad.error and key not in bad.error
        from orchestrator_nb.store import Store
        with Store().connect() as con:
            dump = str(con.execute("SELECT * FROM tool_calls").fetchall()) + str(
                con.execute("SELECT * FROM steps").fetchall()) + str(con.execute("SELECT * FROM events").fetchall())
        assert key not in dump


def test_search_without_a_key_uses_duckduckgo():
    from orchestrator_nb.tools.search import DuckDuckGo, pick
    assert isinstance(pick("auto"), DuckDuckGo)  # no BRAVE_API_KEY / TAVILY_API_KEY in the test environment
