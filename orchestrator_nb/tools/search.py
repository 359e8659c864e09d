"""`search`: web search behind one small interface, ``await provider.search(query, n)`` ->
[{title, url, snippet}].

Providers: ``duckduckgo`` (the ``ddgs`` package, no key; the ``[search]`` extra), ``brave``
(``BRAVE_API_KEY``, the Brave Search API) and ``tavily`` (``TAVILY_API_KEY``). ``auto`` (the
default) takes the first keyed provider whose key is set, else DuckDuckGo. ``ORC_BRAVE_BASE_URL``
and ``ORC_TAVILY_BASE_URL`` point a provider elsewhere (a proxy, or the fake search server of
``orchestrator_nb.testing``). Keys never appear in results, errors or records.
"""
from __future__ import annotations

import asyncio

from ..credentials import getenv, redact
from ..errors import OrcError
from .base import Tool, ToolError, need, object_schema

MAX_RESULTS = 5
TIMEOUT = 20.0


class SearchProvider:
    name = ""
    key_env: str | None = None

    @classmethod
    def ready(cls) -> bool:
        return cls.key_env is None or bool(getenv(cls.key_env))

    async def search(self, query: str, max_results: int) -> list[dict]:
        raise NotImplementedError


class DuckDuckGo(SearchProvider):
    name = "duckduckgo"

    async def search(self, query, max_results):
        try:
            from ddgs import DDGS
        except ImportError:
            raise OrcError("search with DuckDuckGo needs the `ddgs` package: pip install 'orchestrator-nb[search]' "
                           "(or set BRAVE_API_KEY / TAVILY_API_KEY for a keyed provider)") from None

        def run():
            return DDGS(timeout=int(TIMEOUT)).text(query, max_results=max_results) or []
        rows = await asyncio.to_thread(run)
        return [{"title": r.get("title", ""), "url": r.get("href") or r.get("url", ""),
                 "snippet": r.get("body") or r.get("snippet", "")} for r in rows][:max_results]


class _Keyed(SearchProvider):
    base_url = ""

    def url(self) -> str:
        return (getenv(f"ORC_{self.name.upper()}_BASE_URL") or self.base_url).rstrip("/")

    def key(self) -> str:
        key = getenv(self.key_env)
        if not key:
            raise OrcError(f"search provider {self.name} needs {self.key_env} (in the environment or .env)")
        return key

    async def _request(self, method: str, path: str, **kw) -> dict:
        import httpx
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                resp = await client.request(method, self.url() + path, **kw)
        except httpx.HTTPError as e:
            raise ToolError(redact(f"{self.name} search: {type(e).__name__}: {e}")) from None
        if resp.status_code >= 400:
            raise ToolError(redact(f"{self.name} search: HTTP {resp.status_code}: {resp.text[:200]}"))
        try:
            return resp.json()
        except ValueError:
            raise ToolError(f"{self.name} search: the answer is not JSON") from None


class Brave(_Keyed):
    name = "brave"
    key_env = "BRAVE_API_KEY"
    base_url = "https://api.search.brave.com"

    async def search(self, query, max_results):
        data = await self._request("GET", "/res/v1/web/search", params={"q": query, "count": max_results},
                                   headers={"x-subscription-token": self.key(), "accept": "application/json"})
        rows = ((data.get("web") or {}).get("results")) or []
        return [{"title": r.get("title", ""), "url": r.get("url", ""), "snippet": r.get("description", "")}
                for r in rows][:max_results]


class Tavily(_Keyed):
    name = "tavily"
    key_env = "TAVILY_API_KEY"
    base_url = "https://api.tavily.com"

    async def search(self, query, max_results):
        data = await self._request("POST", "/search", json={"query": query, "max_results": max_results},
                                   headers={"authorization": f"Bearer {self.key()}"})
        return [{"title": r.get("title", ""), "url": r.get("url", ""), "snippet": r.get("content", "")}
                for r in data.get("results") or []][:max_results]


PROVIDERS = {p.name: p for p in (Brave, Tavily, DuckDuckGo)}


def pick(name: str | None) -> SearchProvider:
    """The provider a pipeline asked for; ``auto``: the first keyed one with a key, else DuckDuckGo."""
    if name and name != "auto":
        return PROVIDERS[name]()
    for cls in (Brave, Tavily):
        if cls.ready():
            return cls()
    return DuckDuckGo()


class Search(Tool):
    def __init__(self, settings: dict):
        super().__init__("search", "Search the web. Returns titles, URLs and snippets; fetch a URL to read it.",
                         object_schema({"query": {"type": "string", "description": "what to search for"}},
                                       ["query"]))
        self.provider = pick(settings.get("provider") or "auto")
        self.max_results = int(settings.get("max_results") or MAX_RESULTS)
        self.identity = f"search@{self.provider.name}/{self.max_results}"

    async def run(self, arguments, ctx):
        query = need(arguments, "query").strip()
        if not query:
            raise ToolError("the query is empty")
        return await self.provider.search(query, self.max_results)
