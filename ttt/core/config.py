"""Typed, hierarchical configuration.

Precedence, lowest first: defaults < user file (platformdirs config dir) < ./ttt.toml <
config loaders (plugins) < ``TTT_*`` environment < program (flags, ``configure()``).
Every field is documented here; ``ttt.toml.example`` shows them in use. Bad files are rejected
with the file, key and line, and nothing is half-applied.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin, get_type_hints

from ttt.core.config_ranges import AtLeastOne, Count, Range, Seconds, Temperature
from ttt.core.config_sections import (
    DEFAULT_POOL_SIZE,
    AttachmentsConfig,
    Connection,
    ConnectionConfig,
    McpConfig,
    ModelConfig,
    RoutingConfig,
)
from ttt.core.errors import ConfigurationError

Permission = Literal["allow", "ask", "deny"]


@dataclass
class ProviderConfig:
    """An OpenAI-compatible endpoint (``[providers.<name>]``); ``<name>/model`` routes to it."""

    base_url: str = ""
    api_key_env: str = ""  # name of the environment variable that holds the key (never the key)


@dataclass
class OllamaConfig:
    host: str = ""  # empty: $OLLAMA_HOST, else http://localhost:11434


@dataclass
class LlamaCppConfig:
    model_path: str = ""  # a GGUF file; empty: the bundled SmolLM2 if installed
    binary: str = ""  # llama-server executable; empty: the bundled one if installed
    base_url: str = ""  # attach to a llama-server that already runs instead of starting one
    api_key: str = ""  # the key that server was started with (--api-key), if any
    ctx_size: AtLeastOne = 4096
    threads: Count = 0  # 0: llama-server's default
    startup_timeout: Seconds = 60.0


@dataclass
class ToolsConfig:
    workspace: str = ""  # root for file tools; empty: the current directory (home or /: every file asks)
    max_rounds: Count = 8  # tool-call rounds per turn before the engine stops
    timeout: Seconds = 30.0  # seconds per tool call
    permissions: dict[str, Permission] = field(default_factory=dict)  # tool or "category:x"
    python_timeout: Seconds = 10.0
    python_memory_mb: AtLeastOne = 256
    http_max_bytes: AtLeastOne = 1_000_000
    allow_private_hosts: bool = False  # let http_request reach loopback/private addresses
    search_url: str = ""  # SearXNG-style JSON endpoint for web_search


@dataclass
class SessionsConfig:
    cache: bool = False  # answer identical temperature-0 requests from the store


@dataclass
class TuiConfig:
    theme: str = "textual-dark"
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys


@dataclass
class Config:
    model: str = ""  # default model or alias ("auto": chosen per request); empty: from what is set up
    system: str = ""  # default system prompt
    temperature: Temperature | None = None
    max_tokens: AtLeastOne | None = None
    offline: bool = False  # local backends only
    fallbacks: list[str] = field(default_factory=list)  # tried in order when a model fails
    aliases: dict[str, str] = field(default_factory=dict)
    timeout: Seconds = 120.0  # seconds without progress before a request fails
    connect_timeout: Seconds = 10.0
    retries: Count = 2  # on rate limits and server errors, with backoff honouring Retry-After
    log_level: str = "WARNING"
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    ollama: OllamaConfig = field(default_factory=OllamaConfig)
    llamacpp: LlamaCppConfig = field(default_factory=LlamaCppConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    models: dict[str, ModelConfig] = field(default_factory=dict)  # definitions added to the registry
    backends: dict[str, ConnectionConfig] = field(default_factory=dict)  # by backend name
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)
    metrics: bool = True  # keep per-request metrics in the store for `ttt stats`
    mcp: McpConfig = field(default_factory=McpConfig)  # MCP tool servers

    def connection(self, backend: str) -> Connection:
        """The connection settings of ``backend``: its own table over the global values."""
        own = self.backends.get(backend) or ConnectionConfig()

        def pick(value: Any, default: Any) -> Any:
            return default if value is None else value

        return Connection(
            pool_size=pick(own.pool_size, DEFAULT_POOL_SIZE),
            connect_timeout=pick(own.connect_timeout, self.connect_timeout),
            read_timeout=pick(own.read_timeout, self.timeout),
            first_token_timeout=pick(own.first_token_timeout, self.timeout),
            retries=pick(own.retries, self.retries),
            ca_bundle=own.ca_bundle,
            allow_private_http=own.allow_private_http,
        )


# --- paths ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def user_config(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "ttt.db"


def paths() -> Paths:
    """Where ttt keeps files; ``TTT_HOME`` relocates all of them."""
    home = os.environ.get("TTT_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "logs")
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir("ttt")),
        Path(platformdirs.user_data_dir("ttt")),
        Path(platformdirs.user_log_dir("ttt")),
    )


def private_dir(path: Path) -> None:
    """Make ``path`` and any missing parents readable by the owner only (0700): the store and
    logs hold whole conversations. Folders that already exist keep their mode."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def private_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_opener)`` creates the file readable by the owner only (0600)."""
    return os.open(path, flags, 0o600)


# --- validation -----------------------------------------------------------------------------


@dataclass
class _Source:
    name: str  # a file path, "environment", a loader's name ...
    text: str = ""  # the TOML text, for line numbers

    def line_of(self, key_path: list[str]) -> int | None:
        """Best-effort line number of a dotted key in TOML text."""
        table: list[str] = []
        for number, line in enumerate(self.text.splitlines(), 1):
            stripped = line.strip()
            header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", stripped)
            if header:
                table = [part.strip().strip("\"'") for part in header.group(1).split(".")]
                if table == key_path:
                    return number
                continue
            assign = re.match(r"^([A-Za-z0-9_\-\.\"' ]+?)\s*=", stripped)
            if assign:
                key = [part.strip().strip("\"'") for part in assign.group(1).split(".")]
                if table + key in (key_path, key_path[:-1]):
                    return number
        return None

    def error(self, key_path: list[str], problem: str) -> ConfigurationError:
        where = self.name
        line = self.line_of(key_path) if self.text else None
        if line:
            where += f", line {line}"
        return ConfigurationError(f"{where}: '{'.'.join(key_path)}' {problem}")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return _type_name(get_args(tp)[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(value: Any, tp: Any, key_path: list[str], source: _Source) -> Any:
    """Check ``value`` against the annotation ``tp``; returns the value to store."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *bounds = get_args(tp)
        value = _convert(value, base, key_path, source)
        for problem in (b.problem(value) for b in bounds if isinstance(b, Range)):
            if problem:
                raise source.error(key_path, f"{problem}, not {value!r}")
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) == 1:  # an optional setting: its own error says more than "must be ..."
            return _convert(value, options[0], key_path, source)
        for option in options:
            try:
                return _convert(value, option, key_path, source)
            except ConfigurationError:
                continue
        raise source.error(key_path, f"must be {_type_name(tp)}, not {value!r}")
    if origin is Literal:
        if value not in get_args(tp):
            raise source.error(key_path, f"must be one of {_type_name(tp)}, not {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise source.error(key_path, f"must be a list, not {value!r}")
        (item,) = get_args(tp)
        return [_convert(v, item, key_path, source) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise source.error(key_path, f"must be a table, not {value!r}")
        _, item = get_args(tp)
        return {k: _convert(v, item, [*key_path, k], source) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise source.error(key_path, f"must be a table, not {value!r}")
        return _merge(cast(Any, tp)(), value, key_path, source)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        raise source.error(key_path, f"must be a finite number, not {value!r}")
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise source.error(key_path, f"must be {_type_name(tp)}, not {value!r}")
    return value


# Settings that once existed: a file that still sets one loads, with a warning in the log.
RETIRED = {"routing.chars_per_token": "ttt now estimates tokens one way everywhere"}


def _merge(target: Any, data: dict[str, Any], prefix: list[str], source: _Source) -> Any:
    """Return a copy of the dataclass ``target`` with ``data`` applied (tables merge key by key)."""
    hints = get_type_hints(type(target), include_extras=True)
    changes: dict[str, Any] = {}
    for key, value in data.items():
        key_path = [*prefix, key]
        if ".".join(key_path) in RETIRED:
            from ttt.core.logs import get_logger

            reason = RETIRED[".".join(key_path)]
            get_logger("config").warning(
                "%s: %s is no longer used (%s)", source.name, ".".join(key_path), reason
            )
            continue
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise source.error(key_path, f"is not a known setting (known here: {known})")
        tp = hints[key]
        current = getattr(target, key)
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            changes[key] = _merge(current, value, key_path, source)
        elif get_origin(tp) is dict and isinstance(value, dict):
            merged = dict(current)
            merged.update(_convert(value, tp, key_path, source))
            changes[key] = merged
        else:
            changes[key] = _convert(value, tp, key_path, source)
    return dataclasses.replace(target, **changes)


# --- sources --------------------------------------------------------------------------------

_ENV: dict[str, tuple[str, Any]] = {
    "TTT_MODEL": ("model", str),
    "TTT_SYSTEM": ("system", str),
    "TTT_TEMPERATURE": ("temperature", float),
    "TTT_MAX_TOKENS": ("max_tokens", int),
    "TTT_OFFLINE": ("offline", bool),
    "TTT_TIMEOUT": ("timeout", float),
    "TTT_LOG_LEVEL": ("log_level", str),
}


MAX_CONFIG_BYTES = 1_000_000


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; errors name the file and line."""
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):  # a folder, or a FIFO that would block the read
            raise ConfigurationError(f"{path}: is not a regular file")
        if found.st_size > MAX_CONFIG_BYTES:
            raise ConfigurationError(f"{path}: is {found.st_size:,} bytes, too large for a config file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path}: is not UTF-8 text") from None
    import tomllib  # only when a config file exists

    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise ConfigurationError(f"{path}: invalid TOML: nested too deeply") from None


def _env_layer() -> dict[str, Any]:
    data: dict[str, Any] = {}
    for var, (key, tp) in _ENV.items():
        raw = os.environ.get(var)
        if raw is None or raw == "":
            continue
        try:
            if tp is bool:
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                value: Any = raw.lower() in ("1", "true", "yes")
            else:
                value = tp(raw)
        except ValueError:
            raise ConfigurationError(f"environment: {var}={raw!r} must be {_type_name(tp)}") from None
        data[key] = value
    return data


def config_files(cwd: Path | None = None) -> list[Path]:
    """The config files that apply, lowest precedence first."""
    return [paths().user_config, (cwd or Path.cwd()) / "ttt.toml"]


def files_signature(cwd: Path | None = None) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of each config file present: cheap to poll, changes when one is edited."""
    found = []
    for path in config_files(cwd):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def load_config(overrides: dict[str, Any] | None = None, cwd: Path | None = None) -> Config:
    """Build the effective configuration from every layer."""
    from ttt.core.config_loaders import loader_layers

    config = Config()
    for path in config_files(cwd):
        if os.path.lexists(path):  # a folder, a dangling link or a link loop is an error, not absent
            data, text = read_toml(path)
            config = _merge(config, data, [], _Source(str(path), text))
    for name, data in loader_layers():
        config = _merge(config, data, [], _Source(f"config loader '{name}'"))
    config = _merge(config, _env_layer(), [], _Source("environment"))
    if overrides:
        config = _merge(config, overrides, [], _Source("program"))
    return config


def apply(config: Config, overrides: dict[str, Any], source: str = "program") -> Config:
    """A copy of ``config`` with overrides validated and applied."""
    return _merge(config, overrides, [], _Source(source))


def to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def get_value(config: Config, dotted: str) -> Any:
    value: Any = to_dict(config)
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ConfigurationError(f"'{dotted}' is not a known setting")
        value = value[part]
    return value


def parse_value(raw: str) -> Any:
    """A command-line value: TOML syntax if it parses (numbers, booleans, lists), else a string."""
    import tomllib

    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def set_user_value(dotted: str, raw: str) -> Path:
    """Set one key in the user config file, edited in place: the user's comments, order and
    other keys stay as written. The file is private (0600)."""
    import tomlkit

    path = paths().user_config
    if path.exists() and not path.is_file():
        raise ConfigurationError(f"{path}: is not a file, so the setting cannot be saved there")
    _, text = read_toml(path) if path.exists() else ({}, "")
    document = tomlkit.parse(text)
    node: Any = document
    parts = dotted.split(".")
    for part in parts[:-1]:
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigurationError(f"'{dotted}': '{part}' is not a table")
    node[parts[-1]] = parse_value(raw)
    _merge(Config(), document.unwrap(), [], _Source(str(path)))  # validate before writing anything
    try:
        private_dir(path.parent)
        tmp = path.with_suffix(".toml.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(document))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path
