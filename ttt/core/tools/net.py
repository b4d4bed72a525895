"""Network tools: ``http_request`` (guarded against reaching private networks) and ``web_search``.

``http_request`` resolves the host itself, refuses the request if any address is loopback,
private, link-local (cloud metadata), multicast, reserved or otherwise not public, then connects
to the checked address — sending the real Host header and TLS server name — so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect it. Redirects are
followed by hand, each hop checked the same way. Bodies are read in a stream up to
``tools.http_max_bytes``. httpx is imported on first use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import TYPE_CHECKING

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import tool
from ttt.core.tools.context import current_tools_config

if TYPE_CHECKING:
    import httpx

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_REDIRECTS = 5
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def blocked_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a model may not reach ``address`` (None: it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    checks = (
        ("cloud metadata", address in METADATA_ADDRESSES),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


async def checked_address(host: str, port: int, allow_private: bool) -> str:
    """Resolve ``host`` and return the address to connect to; raises if any address is off limits."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ToolExecutionError(f"cannot resolve '{host}': {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ToolExecutionError(f"cannot resolve '{host}'")
    for address in addresses if not allow_private else []:
        reason = blocked_reason(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise ToolExecutionError(
                f"refusing to connect to '{host}': {address} is a {reason} address "
                "(set tools.allow_private_hosts = true to allow it)"
            )
    return addresses[0]


@tool(category="network", permission="ask", register=False)
async def http_request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: str | None = None
) -> str:
    """Make an HTTP request to a public http(s) URL; returns the status, headers and body.

    Args:
        url: An http:// or https:// URL.
        method: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
        headers: Extra request headers.
        body: Request body text, for POST, PUT and PATCH.
    """
    import httpx

    config = current_tools_config()
    method = method.upper()
    if method not in METHODS:
        raise ToolExecutionError(f"method must be one of {', '.join(METHODS)}, not '{method}'")
    target = _parse_url(url)
    extra_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    async with httpx.AsyncClient(timeout=config.timeout, trust_env=False, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host = target.raw_host.decode("ascii")
            port = target.port or (443 if target.scheme == "https" else 80)
            address = await checked_address(host, port, config.allow_private_hosts)
            request = client.build_request(
                method,
                target.copy_with(host=address),
                headers={**extra_headers, "Host": target.netloc.decode("ascii")},
                content=body,
                extensions={"sni_hostname": host} if target.scheme == "https" else {},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise ToolExecutionError(f"request to {target.host} failed: {_error_text(exc)}") from None
            try:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    target = _parse_url(str(target.join(location)))
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, body = "GET", None
                    continue
                data, cut = await read_limited(response, config.http_max_bytes)
            except httpx.HTTPError as exc:
                raise ToolExecutionError(
                    f"reading the response from {target.host} failed: {_error_text(exc)}"
                ) from None
            finally:
                await response.aclose()
            return _format_response(response, data, cut)
    raise ToolExecutionError(f"more than {MAX_REDIRECTS} redirects")


@tool(category="network", permission="ask", register=False)
async def web_search(query: str, max_results: int = 5) -> str:
    """Search the web; returns the top results with title, URL and snippet.

    Args:
        query: What to search for.
        max_results: How many results to return (1-20).
    """
    import httpx

    config = current_tools_config()
    if not config.search_url:
        raise ToolExecutionError(
            "web search is not configured: set search_url under [tools] in ttt.toml to a SearXNG "
            'search endpoint, e.g. search_url = "http://localhost:8888/search" (with the json format enabled)'
        )
    params = {"q": query, "format": "json"}
    try:
        async with (
            httpx.AsyncClient(timeout=config.timeout) as client,
            client.stream(
                "GET", config.search_url, params=params, headers={"Accept": "application/json"}
            ) as response,
        ):
            data, cut = await read_limited(response, config.http_max_bytes)
    except httpx.HTTPError as exc:
        raise ToolExecutionError(f"web search failed: {_error_text(exc)}") from None
    if response.status_code != 200:
        hint = (
            " (SearXNG answers 403 until 'json' is listed in search.formats)"
            if response.status_code == 403
            else ""
        )
        raise ToolExecutionError(f"the search endpoint answered HTTP {response.status_code}{hint}")
    try:
        payload = json.loads(data) if not cut else None
    except ValueError:
        payload = None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ToolExecutionError(
            "the search endpoint did not return SearXNG-style JSON with a 'results' list"
        )
    lines = []
    for number, item in enumerate(results[: max(1, min(max_results, 20))], 1):
        title, link, snippet = (str(item.get(key) or "").strip() for key in ("title", "url", "content"))
        lines.append(f"{number}. {title}\n   {link}" + (f"\n   {snippet}" if snippet else ""))
    return "\n".join(lines) or f"no results for {query!r}"


async def read_limited(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` decoded body bytes, and whether the body was longer (reading stops there)."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > limit:
            return bytes(data[:limit]), True
    return bytes(data), False


def _parse_url(url: str) -> httpx.URL:
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ToolExecutionError(f"invalid URL '{url}': {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ToolExecutionError(f"only http:// and https:// URLs with a host can be requested, not '{url}'")
    return parsed


def _format_response(response: httpx.Response, data: bytes, cut: bool) -> str:
    lines = [f"HTTP {response.status_code} {response.reason_phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items() if name.lower() != "set-cookie"]
    if b"\0" in data[:1024]:
        text = f"[binary body: {len(data)} bytes of {response.headers.get('content-type', 'unknown type')}]"
    else:
        text = data.decode(response.encoding or "utf-8", errors="replace")
    if cut:
        text += f"\n[... response cut at {len(data)} bytes (tools.http_max_bytes)]"
    return "\n".join(lines) + "\n\n" + text


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
