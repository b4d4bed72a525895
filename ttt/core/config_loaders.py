"""Extra config sources: ``ConfigLoader`` plugins, registered in code or by entry point.

Their layers sit after the config files and before the environment.
"""

from __future__ import annotations

from typing import Any, Protocol

from ttt.core.errors import ConfigurationError
from ttt.core.plugins import plugin_entry_points


class ConfigLoader(Protocol):
    def load(self) -> dict[str, Any]: ...


_registered: dict[str, ConfigLoader] = {}


def register_loader(name: str, loader: ConfigLoader) -> None:
    _registered[name] = loader


def unregister_loader(name: str) -> None:
    _registered.pop(name, None)


def loader_layers() -> list[tuple[str, dict[str, Any]]]:
    """Each loader's data, in registration order then entry-point order; errors name the loader."""
    loaders: dict[str, Any] = dict(_registered)
    for ep in plugin_entry_points("ttt.config_loaders"):
        if ep.name not in loaders:
            loaders[ep.name] = ep
    layers = []
    for name, loader in loaders.items():
        try:
            if hasattr(loader, "load") and not hasattr(loader, "group"):
                data = loader.load()
            else:
                target = loader.load()  # an entry point: a class or an instance
                data = (target() if isinstance(target, type) else target).load()
        except ConfigurationError:
            raise
        except Exception as exc:  # a plugin's failure must name the plugin
            raise ConfigurationError(f"config loader '{name}' failed: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"config loader '{name}' returned {type(data).__name__}, not a table")
        layers.append((name, data))
    return layers
