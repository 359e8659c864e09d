"""`fetch`: an HTTP(S) GET of a page, given back as readable Markdown (HTML) or text.

Limits: ``max_bytes`` read at most (default 2 MB; the rest is cut), ``timeout`` seconds for the
whole download, 5 redirects. A URL chosen by a model never reaches this machine or a private
network (loopback, private, link-local and reserved addresses, checked for every address the name
resolves to and at every redirect) unless the pipeline allows it with
``tools: {fetch: {allow_private: true}}``. HTML is cleaned (scripts, styles, navigation) and turned
into Markdown by ``markdownify``.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from .base import Tool, ToolError, need, object_schema

MAX_BYTES = 2_000_000
TIMEOUT = 20.0
MAX_REDIRECTS = 5
USER_AGENT = "orchestrator-nb-fetch/1.0 (+https://pypi.org/project/orchestrator-nb/)"
_NOISE = ("script", "style", "noscript", "svg", "nav", "footer", "header", "form", "iframe", "template")


class Fetch(Tool):
    def __init__(self, settings: dict, max_chars: int):
        super().__init__("fetch", "Download a web page (http or https URL) and read it as Markdown text.",
                         object_schema({"url": {"type": "string", "description": "the page's http(s) URL"}}, ["url"]))
        self.max_bytes = int(settings.get("max_bytes") or MAX_BYTES)
        self.timeout = float(settings.get("timeout") or TIMEOUT)
        self.allow_private = bool(settings.get("allow_private"))
        self.max_chars = max_chars

    async def run(self, arguments, ctx):
        url = need(arguments, "url").strip()
        try:
            return await asyncio.wait_for(self._get(url), self.timeout)
        except asyncio.TimeoutError:
            raise ToolError(f"{url}: no complete answer within {self.timeout:g} s") from None

    async def _get(self, url: str) -> str:
        import httpx
        headers = {"user-agent": USER_AGENT, "accept": "text/html, text/*;q=0.9, */*;q=0.5"}
        async with httpx.AsyncClient(follow_redirects=False, timeout=self.timeout, headers=headers) as client:
            for _ in range(MAX_REDIRECTS + 1):
                await self._check_target(url)
                try:
                    async with client.stream("GET", url) as resp:
                        if resp.is_redirect and resp.headers.get("location"):
                            url = urljoin(url, resp.headers["location"])
                            continue
                        if resp.status_code >= 400:
                            raise ToolError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
                        body, cut = await _read_limited(resp, self.max_bytes)
                        kind = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                        text = readable(body, kind, resp.encoding or "utf-8", url)
                except httpx.HTTPError as e:
                    raise ToolError(f"{url}: {type(e).__name__}: {str(e) or 'request failed'}") from None
                if cut:
                    text += f"\n\n… (the page is larger than {self.max_bytes} bytes; the rest was not read)"
                if len(text) > self.max_chars:
                    text = text[:self.max_chars] + f"\n… (cut at {self.max_chars} characters)"
                return text
        raise ToolError(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ToolError(f"{url!r} is not an http(s) URL")
        if self.allow_private:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                                 type=socket.SOCK_STREAM)
        except OSError as e:
            raise ToolError(f"{parts.hostname}: cannot resolve ({e.strerror or e})") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if not address.is_global or address.is_multicast:
                raise ToolError(f"{url}: {parts.hostname} is a local or private address; the pipeline must allow "
                                "that with `tools: {fetch: {allow_private: true}}`")


async def _read_limited(resp, limit: int) -> tuple[bytes, bool]:
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def readable(body: bytes, content_type: str, encoding: str, url: str = "") -> str:
    """A page's bytes as text: HTML -> Markdown (with its title), text and JSON as they are."""
    if content_type in ("text/html", "application/xhtml+xml") or (not content_type and b"<html" in body[:2048].lower()):
        return html_to_markdown(body.decode(encoding, errors="replace"), url)
    if content_type.startswith("text/") or content_type in ("application/json", "application/xml", "") \
            or content_type.endswith(("+json", "+xml")):
        return body.decode(encoding, errors="replace")
    raise ToolError(f"{url}: {content_type} is not text ({len(body)} bytes)")


def html_to_markdown(html: str, url: str = "") -> str:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(list(_NOISE)):
        tag.decompose()
    main = soup.find("main") or soup.find("article") or soup.body or soup
    text = MarkdownConverter(heading_style="ATX", strip=["img"]).convert_soup(main)
    lines = [ln.rstrip() for ln in text.splitlines()]
    out, blank = [], False
    for ln in lines:  # collapse runs of blank lines
        if ln.strip():
            out.append(ln)
            blank = False
        elif not blank:
            out.append("")
            blank = True
    head = f"# {title}\n\n" if title and not any(ln.lstrip("# ").strip() == title for ln in out[:3]) else ""
    return (head + "\n".join(out)).strip()
