"""Entry points: installed packages are scanned once per ``sys.path``, not once per lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ttt.core import plugins


def test_one_scan_serves_every_group_until_sys_path_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[int] = []
    real = plugins.entry_points

    def counting() -> Any:
        scans.append(1)
        return real()

    monkeypatch.setattr(plugins, "entry_points", counting)
    plugins._scan.cache_clear()
    for group in ("ttt.backends", "ttt.config_loaders", "ttt.tools", "ttt.backends"):
        plugins.plugin_entry_points(group)
    assert len(scans) == 1
    dist = tmp_path / "late_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: late-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ttt.backends]\nlate = late_plugin:Backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "late" in [ep.name for ep in plugins.plugin_entry_points("ttt.backends")]
    assert len(scans) == 2
