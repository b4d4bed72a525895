"""Keys travel only over TLS, and TLS trusts exactly what the user configured.

The URL rules are checked without resolving a name or opening a socket; every request a test
makes goes to 127.0.0.1, and tests that point a backend at another address route all traffic
through a proxy on a closed local port, so a regression fails there instead of leaving the
machine. TLS is real: the project's servers wrapped in TLS with a certificate made per session.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.backends.conftest import FAKE_KEY, KEY_ENV, ask
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.backends import http
from ttt.core.backends.cloud import CloudBackend
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, ProviderConfig, apply
from ttt.core.config_sections import Connection
from ttt.core.errors import BackendNotAvailableError, CertificateError, ConfigurationError

LOOPBACK = "loopback"
PRIVATE = "private"
PUBLIC = "public"
URL_RULES = [
    ("http://127.0.0.1:8080/v1", LOOPBACK),
    ("http://127.8.9.10", LOOPBACK),
    ("http://localhost:11434", LOOPBACK),
    ("http://LOCALHOST.:11434", LOOPBACK),
    ("http://api.localhost", LOOPBACK),
    ("http://[::1]:8000/v1", LOOPBACK),
    ("http://[::ffff:127.0.0.1]/v1", LOOPBACK),
    ("http://0.0.0.0:11434", LOOPBACK),
    ("localhost:11434", LOOPBACK),  # OLLAMA_HOST without a scheme
    ("http://10.1.2.3:8000/v1", PRIVATE),
    ("http://192.168.1.20/v1", PRIVATE),
    ("http://172.16.0.5/v1", PRIVATE),
    ("http://172.31.255.254/v1", PRIVATE),
    ("http://[fe80::1%25eth0]:8000", PRIVATE),
    ("http://[fd00::5]/v1", PRIVATE),
    ("http://169.254.1.1", PRIVATE),
    ("http://gpu.local:8000", PRIVATE),
    ("http://box.home.arpa", PRIVATE),
    ("192.168.1.9:11434", PRIVATE),
    ("http://172.32.0.1/v1", PUBLIC),
    ("http://8.8.8.8/v1", PUBLIC),
    ("http://api.example.com/v1", PUBLIC),
    ("HTTP://API.EXAMPLE.COM/v1", PUBLIC),
    ("http://127.0.0.1@evil.com/v1", PUBLIC),  # userinfo: the host is evil.com
    ("http://user:pw@evil.com:80/v1", PUBLIC),
    ("http://127.0.0.1.nip.io/v1", PUBLIC),  # a name that looks like an address
    ("http://localhost.evil.com/v1", PUBLIC),
    ("http://0x7f.1/v1", PUBLIC),  # not a canonical address: a name, so not trusted
    ("http://2130706433/v1", PUBLIC),
    ("http://[2606:4700:4700::1111]/v1", PUBLIC),
    ("http://myserver:8000", PUBLIC),  # a search domain may send it anywhere
    ("http://[::1", PUBLIC),  # unparsable: no host to trust
    ("https://api.example.com/v1", "tls"),
    ("HTTPS://10.0.0.1/v1", "tls"),
]


@pytest.fixture
def no_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network used: {args}")

    for name in ("getaddrinfo", "gethostbyname", "create_connection"):
        monkeypatch.setattr(socket, name, refuse)


@pytest.mark.parametrize(("url", "expected"), URL_RULES)
def test_url_rules_without_resolving(url: str, expected: str, no_lookups: None) -> None:
    assert http.network(url) == expected


def connection(allow_private_http: bool = False) -> Connection:
    return Connection(10, 1.0, 1.0, 1.0, 0, allow_private_http=allow_private_http)


def check(url: str, allow: bool = False) -> None:
    http.check_key_transport(
        url,
        setting="OPENAI_BASE_URL",
        key_env="OPENAI_API_KEY",
        backend="cloud",
        connection=connection(allow),
    )


@pytest.mark.parametrize(("url", "kind"), [(u, k) for u, k in URL_RULES if k in (PUBLIC, PRIVATE)])
def test_a_key_never_goes_in_clear_text_off_this_machine(url: str, kind: str, no_lookups: None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check(url)
    message = caught.value.message
    assert "OPENAI_BASE_URL" in message and "plain HTTP" in message and "@" not in message
    assert ("allow_private_http" in message) == (kind == PRIVATE)


@pytest.mark.parametrize("url", [u for u, k in URL_RULES if k in (LOOPBACK, "tls")])
def test_loopback_and_https_take_a_key(url: str, no_lookups: None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(url)


def test_private_http_needs_the_opt_in_and_is_announced_once(no_lookups: None) -> None:
    with pytest.raises(ConfigurationError):
        check("http://192.168.77.2:8000/v1")
    with pytest.warns(http.InsecureTransportWarning, match="backends.cloud.allow_private_http"):
        check("http://192.168.77.2:8000/v1", allow=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check("http://192.168.77.2:8000/v1/models", allow=True)  # same server: said once
    with pytest.raises(ConfigurationError):
        check("http://8.8.4.4/v1", allow=True)  # the opt-in never covers a public host


# --- through the real clients -----------------------------------------------------------------


@pytest.fixture
def no_egress(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client sends through a proxy on a closed local port: nothing leaves this machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


async def cloud_ask(config: Config, model: str) -> None:
    backend = CloudBackend(config)
    try:
        await backend.ask(ask(model))
    finally:
        await backend.aclose()


async def test_openai_base_url_with_a_key_over_http_is_refused(
    no_egress: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://api.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with pytest.raises(ConfigurationError, match="OPENAI_BASE_URL") as caught:
        await cloud_ask(Config(timeout=2.0), "openai/gpt-4o-mini")
    assert FAKE_KEY not in str(caught.value)


async def test_a_keyless_server_on_the_lan_is_unaffected(no_egress: None) -> None:
    config = Config(timeout=2.0, providers={"lan": ProviderConfig(base_url="http://192.168.1.50:1234/v1")})
    with pytest.raises(BackendNotAvailableError):  # it went out (to the proxy guard): not refused
        await cloud_ask(config, "lan/some-model")


async def test_provider_table_and_model_listing_are_guarded(
    no_egress: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    config = Config(
        timeout=2.0, providers={"lan": ProviderConfig(base_url="http://10.9.8.7/v1", api_key_env=KEY_ENV)}
    )
    with pytest.raises(ConfigurationError, match=r"providers\.lan\.base_url.*allow_private_http"):
        await cloud_ask(config, "lan/some-model")
    backend = CloudBackend(config)
    try:
        status = await backend.status()  # `ttt status` and `ttt models` list the endpoint
    finally:
        await backend.aclose()
    assert "providers.lan.base_url" in status.detail


async def test_opt_in_lets_a_private_host_have_the_key(
    no_egress: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    config = apply(
        Config(timeout=2.0, providers={"lan": ProviderConfig("http://10.9.8.6/v1", KEY_ENV)}),
        {"backends": {"cloud": {"allow_private_http": True}}},
    )
    with pytest.warns(http.InsecureTransportWarning), pytest.raises(BackendNotAvailableError):
        await cloud_ask(config, "lan/some-model")


async def test_litellm_endpoint_from_its_own_variable_is_guarded(
    no_egress: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", "http://203.0.113.7/v1")
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", FAKE_KEY)
    with pytest.raises(ConfigurationError, match="hosted_vllm"):
        await cloud_ask(Config(timeout=2.0), "hosted_vllm/some-model")


@pytest.mark.parametrize("with_key", [True, False])
async def test_ollama_key_only_over_tls(
    with_key: bool, no_egress: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://ollama.example.com:11434")
    if with_key:
        monkeypatch.setenv("OLLAMA_API_KEY", FAKE_KEY)
    backend = LocalBackend(Config(timeout=2.0, connect_timeout=1.0))
    try:
        with pytest.raises(ConfigurationError if with_key else BackendNotAvailableError) as caught:
            await backend.ask(ask("llama3.2"))
    finally:
        await backend.aclose()
    assert ("plain HTTP" in str(caught.value)) == with_key


async def test_a_key_still_reaches_loopback(ollama: OllamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", FAKE_KEY)
    ollama.script.push(Reply(text="hello"))
    backend = LocalBackend(Config(timeout=5.0))
    try:
        assert (await backend.ask(ask("llama3.2"))).text == "hello"
    finally:
        await backend.aclose()
    assert ollama.chat_requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"


# --- real TLS on loopback -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ttt test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@contextmanager
def over_tls(server: OpenAIServer | OllamaServer, certificate: tuple[Path, Path]) -> Iterator[str]:
    """``server`` serving https on 127.0.0.1; yields its base URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    with server:
        httpd = server._httpd
        assert httpd is not None
        # the handshake happens in each connection's own thread, on its first read
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        yield server.url.replace("http://", "https://")


@pytest.fixture(scope="module")
def tls_openai(certificate: tuple[Path, Path]) -> Iterator[tuple[OpenAIServer, str]]:
    server = OpenAIServer(models=["gpt-4o-mini"], api_key=FAKE_KEY)
    with over_tls(server, certificate) as url:
        yield server, url


@pytest.fixture(scope="module")
def tls_ollama(certificate: tuple[Path, Path]) -> Iterator[tuple[OllamaServer, str]]:
    server = OllamaServer()
    with over_tls(server, certificate) as url:
        yield server, url


TRUST = ["none", "SSL_CERT_FILE", "ca_bundle"]


def trusting(how: str, backend: str, cert: Path, config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    if how == "none":
        monkeypatch.setenv("SSL_VERIFY", "false")  # LiteLLM's switch to stop verifying: not obeyed
    if how == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    if how == "ca_bundle":
        return apply(config, {"backends": {backend: {"ca_bundle": str(cert)}}})
    return config


@pytest.mark.parametrize("how", TRUST)
@pytest.mark.parametrize("path", ["openai", "litellm"])
async def test_cloud_trusts_exactly_the_configured_ca(
    how: str,
    path: str,
    tls_openai: tuple[OpenAIServer, str],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, url = tls_openai
    server.reset()
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    if path == "openai":
        config, model = (
            Config(timeout=5.0, providers={"tls": ProviderConfig(url + "/v1", KEY_ENV)}),
            "tls/gpt-4o-mini",
        )
    else:
        monkeypatch.setenv("HOSTED_VLLM_API_BASE", url + "/v1")
        monkeypatch.setenv("HOSTED_VLLM_API_KEY", FAKE_KEY)
        config, model = Config(timeout=5.0), "hosted_vllm/gpt-4o-mini"
    config = trusting(how, "cloud", certificate[0], config, monkeypatch)
    server.script.push(Reply(text="over tls"))
    backend = CloudBackend(config)
    try:
        if how == "none":
            with pytest.raises(CertificateError) as caught:
                await backend.ask(ask(model))
            assert "SSL_CERT_FILE" in caught.value.message and "ca_bundle" in caught.value.message
            assert not server.chat_requests
        else:
            assert (await backend.ask(ask(model))).text == "over tls"
            assert server.chat_requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"
    finally:
        await backend.aclose()


@pytest.mark.parametrize("how", TRUST)
async def test_ollama_trusts_exactly_the_configured_ca(
    how: str,
    tls_ollama: tuple[OllamaServer, str],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, url = tls_ollama
    server.reset()
    config = trusting(how, "local", certificate[0], Config(timeout=5.0), monkeypatch)
    server.script.push(Reply(text="over tls"))
    backend = LocalBackend(apply(config, {"ollama": {"host": url}}))
    try:
        if how == "none":
            with pytest.raises(CertificateError, match="ca_bundle"):
                await backend.ask(ask("llama3.2"))
        else:
            assert (await backend.ask(ask("llama3.2"))).text == "over tls"
    finally:
        await backend.aclose()


def test_an_unusable_ca_bundle_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"backends\.cloud\.ca_bundle"):
        CloudBackend(apply(Config(), {"backends": {"cloud": {"ca_bundle": str(not_pem)}}})).client(
            "https://127.0.0.1:1/v1", "k"
        )
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match="SSL_CERT_FILE"):
        http.tls_verify("https://127.0.0.1:1/v1")
