"""http_request refuses private networks after DNS resolution; web_search against a local endpoint."""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from ttt.core.config import ToolsConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.builtins import http_request, web_search
from ttt.core.tools.net import blocked_reason

from .conftest import Handler, call


@pytest.fixture
def private(config: ToolsConfig) -> ToolsConfig:
    return dataclasses.replace(config, allow_private_hosts=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hello", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/hello", "is a loopback address"),  # a name that resolves to loopback
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://[::1]:{port}/", "::1 is a loopback address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is a"),
        ("http://[::ffff:127.0.0.1]:{port}/", "is a loopback address"),
    ],
)
async def test_private_addresses_are_refused(
    config: ToolsConfig, http_server: str, url: str, reason: str
) -> None:
    port = http_server.rsplit(":", 1)[1]
    with pytest.raises(ToolExecutionError, match="refusing to connect") as caught:
        await call(http_request, config, url=url.format(port=port))
    assert reason in str(caught.value) and "allow_private_hosts" in str(caught.value)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "multicast"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x", "http://", "not a url"]
)
async def test_only_http_urls(config: ToolsConfig, url: str) -> None:
    with pytest.raises(ToolExecutionError, match=r"only http:// and https://|invalid URL"):
        await call(http_request, config, url=url)


async def test_allowed_private_host_works_with_the_real_host_header(
    private: ToolsConfig, http_server: str
) -> None:
    result = await call(http_request, private, url=f"{http_server}/hello")
    assert result.startswith("HTTP 200 OK\n") and "content-type: text/plain" in result.lower()
    assert result.endswith("\n\nhello from ttt")
    port = http_server.rsplit(":", 1)[1]
    # connected to the resolved address, but the server still sees the name the model asked for
    assert (await call(http_request, private, url=f"http://localhost:{port}/host")).endswith(
        f"\n\nlocalhost:{port}"
    )


async def test_post_with_headers_and_body(private: ToolsConfig, http_server: str) -> None:
    result = await call(
        http_request,
        private,
        url=f"{http_server}/echo",
        method="post",
        headers={"X-Test": "yes"},
        body="payload",
    )
    assert result.endswith("POST payload yes")
    with pytest.raises(ToolExecutionError, match="method must be one of"):
        await call(http_request, private, url=f"{http_server}/echo", method="TRACE")


async def test_redirects_are_followed_and_bounded(private: ToolsConfig, http_server: str) -> None:
    assert (await call(http_request, private, url=f"{http_server}/redirect")).endswith("hello from ttt")
    with pytest.raises(ToolExecutionError, match="more than 5 redirects"):
        await call(http_request, private, url=f"{http_server}/loop")


async def test_oversized_responses_are_cut(private: ToolsConfig, http_server: str) -> None:
    big = await call(http_request, private, url=f"{http_server}/big")
    assert "a" * 10_000 in big and "a" * 10_001 not in big
    assert big.endswith("[... response cut at 10000 bytes (tools.http_max_bytes)]")
    endless = await call(http_request, private, url=f"{http_server}/endless")  # would be 80 MB
    assert endless.endswith("[... response cut at 10000 bytes (tools.http_max_bytes)]")


async def test_connection_failures_are_tool_errors(private: ToolsConfig) -> None:
    with pytest.raises(ToolExecutionError, match=r"request to 127\.0\.0\.1 failed: ConnectError"):
        await call(http_request, private, url="http://127.0.0.1:9/")


async def test_web_search(config: ToolsConfig, http_server: str) -> None:
    searching = dataclasses.replace(config, search_url=f"{http_server}/search")
    result = await call(web_search, searching, query="terminal llm")
    lines = result.splitlines()
    assert lines[:3] == ["1. Result 1 for terminal llm", "   https://example.org/1", "   snippet 1"]
    assert "5. Result 5" in result and "6. Result 6" not in result
    assert "2. Result 2" in await call(web_search, searching, query="x", max_results=2)


async def test_web_search_unconfigured_and_broken_endpoints(config: ToolsConfig, http_server: str) -> None:
    with pytest.raises(ToolExecutionError, match="web search is not configured: set search_url under"):
        await call(web_search, config, query="anything")
    forbidden = dataclasses.replace(config, search_url=f"{http_server}/forbidden")
    with pytest.raises(ToolExecutionError, match=r"HTTP 403 .*search\.formats"):
        await call(web_search, forbidden, query="x")
    html = dataclasses.replace(config, search_url=f"{http_server}/page")
    with pytest.raises(ToolExecutionError, match="did not return SearXNG-style JSON"):
        await call(web_search, html, query="x")


async def test_https_sends_the_host_name_as_sni_and_verifies_certificates(
    private: ToolsConfig, tmp_path: Path
) -> None:
    """The connection goes to the checked IP, yet TLS still names (and verifies) the host asked for."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(ToolExecutionError, match="CERTIFICATE_VERIFY_FAILED"):  # self-signed: refused
            await call(http_request, private, url=f"https://localhost:{server.server_port}/hello")
    finally:
        server.shutdown()
        server.server_close()
    assert names == ["localhost"]
