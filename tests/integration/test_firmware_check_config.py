"""`evse check-config` finds a firmware section that would make every update fail: one line per problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.firmware_kit import make_manufacturer

ROOT = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, firmware: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "station.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "station": {"id": "CS1", "vendor": "V", "model": "M"},
                "csms": {"url": "ws://127.0.0.1:9000/ocpp", "security_profile": 0},
                "evses": [{"id": 1, "connectors": [{"id": 1}]}],
                "state_dir": str(tmp_path / "state"),
                "firmware": firmware,
            }
        )
    )
    return subprocess.run(
        [sys.executable, "-m", "evse", "check-config", str(config)],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip


def test_a_usable_section_is_ok(tmp_path: Path) -> None:
    root = tmp_path / "root.pem"
    root.write_text(make_manufacturer().root_pem)
    result = check(tmp_path, {"installer": "command", "command": ["/bin/true"], "factory_root": str(root)})
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "ok", "")


def test_every_problem_is_one_line_naming_its_key(tmp_path: Path) -> None:
    bad_root = tmp_path / "root.pem"
    bad_root.write_text("not a certificate")
    result = check(
        tmp_path, {"installer": "command", "command": [str(tmp_path / "flash")], "factory_root": str(bad_root)}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "firmware.factory_root" in lines[0] and "not a PEM certificate" in lines[0]
    assert "firmware.command" in lines[1] and "not found or not executable" in lines[1]


def test_rauc_must_be_on_the_path(tmp_path: Path) -> None:
    result = check(tmp_path, {"installer": "rauc", "factory_root": str(tmp_path / "missing.pem")})
    assert result.returncode == 2
    assert "firmware.factory_root" in result.stderr and "cannot read" in result.stderr
    if "rauc" not in result.stderr:  # a machine with RAUC installed: only the root is wrong
        assert result.stderr.count("\n") == 1
    else:
        assert "firmware.installer: rauc: not found" in result.stderr
