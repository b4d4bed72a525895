"""The config sections of routing, model definitions, connections and attachments.

Plain dataclasses (documented field by field, like the rest of ``ttt.core.config``, which uses
them as types); kept here so the config module stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ttt.core.config_ranges import AtLeastOne, Count, NonNegative, Seconds


@dataclass
class ModelConfig:
    """A model definition (``[models."<provider>/<name>"]``); unset fields keep the built-in values."""

    provider: str = ""  # empty: the name's prefix
    capabilities: list[str] | None = None  # e.g. ["text", "code", "vision", "tools"]
    context_length: AtLeastOne | None = None  # tokens
    input_price: NonNegative | None = None  # USD per million input tokens
    output_price: NonNegative | None = None  # USD per million output tokens


DEFAULT_POOL_SIZE = 10


@dataclass
class ConnectionConfig:
    """Per-backend connection settings (``[backends.<name>]``); unset ones use the global values."""

    pool_size: AtLeastOne | None = None  # most open HTTP connections (default DEFAULT_POOL_SIZE)
    connect_timeout: Seconds | None = None  # default: connect_timeout
    read_timeout: Seconds | None = None  # seconds without a chunk once a reply streams; default: timeout
    first_token_timeout: Seconds | None = None  # seconds until the first token; default: timeout
    retries: Count | None = None  # default: retries
    ca_bundle: str = ""  # a PEM file of CAs to trust for https (default: $SSL_CERT_FILE, else the system's)
    allow_private_http: bool = False  # let an API key go over plain http to a private-network host


@dataclass(frozen=True)
class Connection:
    """One backend's effective connection settings (``Config.connection(name)``)."""

    pool_size: int
    connect_timeout: float
    read_timeout: float
    first_token_timeout: float
    retries: int
    ca_bundle: str = ""
    allow_private_http: bool = False


# A prompt that looks like code or asks about programming (the default "code" rule's pattern).
CODE_PATTERN = (
    r"```|\bdef \w+\(|\bclass \w+[(:]|\bimport \w|#include|\bfunction\b|\bTraceback\b|"
    r"\b(python|javascript|typescript|rust|golang|java|kotlin|swift|c\+\+|sql|regex|bash|shell script)\b|"
    r"\b(code|compile|compiler|debug|refactor|stack trace|segfault|unit test|exception)\b"
)


@dataclass
class RoutingRule:
    """A smart-routing rule for ``-m auto``: applies when all its set conditions hold."""

    name: str = ""
    pattern: str = ""  # condition: a regular expression found in the prompt (case-insensitive)
    images: bool = False  # condition: the request has image attachments
    private: bool = False  # condition: the request is private (marker, --private or offline)
    require: list[str] = field(default_factory=list)  # capabilities the model must have
    prefer: list[str] = field(default_factory=list)  # models or aliases, best first


def _default_rules() -> list[RoutingRule]:
    return [
        RoutingRule("private", private=True, prefer=["local", "offline"]),
        RoutingRule(
            "images",
            images=True,
            require=["vision"],
            prefer=[
                "openai/gpt-4o-mini",
                "anthropic/claude-haiku-4-5",
                "gemini/gemini-2.5-flash",
                "ollama/llava",
            ],
        ),
        RoutingRule(
            "code",
            pattern=CODE_PATTERN,
            require=["code"],
            prefer=[
                "anthropic/claude-sonnet-4-5",
                "openai/gpt-4.1",
                "gemini/gemini-2.5-pro",
                "ollama/qwen2.5-coder",
            ],
        ),
    ]


@dataclass
class RoutingConfig:
    """How ``-m auto`` chooses: rules in order, then ``default``; see ttt.core.smart_routing."""

    default: str = ""  # the model when no rule applies; empty: the usual default
    private_marker: str = "#private"  # a prompt containing it goes to local models only
    reply_tokens: Count = 1024  # room kept for the reply when fitting a window (unless max_tokens)
    rules: list[RoutingRule] = field(default_factory=_default_rules)  # replaces the defaults when set


@dataclass
class AttachmentsConfig:
    max_image_bytes: AtLeastOne = 20_000_000  # per image file
    max_text_bytes: AtLeastOne = 1_000_000  # per text file


@dataclass
class McpServerConfig:
    """One MCP tool server (``[mcp.servers.<name>]``): a command (stdio) or a ``url`` (Streamable HTTP).

    Values in ``env`` and ``headers`` may be ``${VAR}`` references, read from the environment
    when the server starts, so a token need not be written in the file.
    """

    command: str = ""  # stdio: the program to run
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # added to a minimal environment (PATH, HOME, ...)
    cwd: str = ""  # working directory of the command; empty: the current one
    url: str = ""  # Streamable HTTP: the endpoint, e.g. http://127.0.0.1:8000/mcp
    headers: dict[str, str] = field(default_factory=dict)  # sent with every HTTP request
    enabled: bool = True
    permission: Literal["allow", "ask", "deny"] = "ask"  # its tools' default; [tools.permissions] wins
    timeout: Seconds = 30.0  # seconds to start and initialize, and per tool call


@dataclass
class McpConfig:
    servers: dict[str, McpServerConfig] = field(default_factory=dict)
