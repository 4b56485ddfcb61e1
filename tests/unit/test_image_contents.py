"""What a firmware image installs: the packages setuptools discovers from pyproject, and their imports.

The device emulators are test equipment (hil/emulators); a wheel built for a board must carry only the
station and its drivers, and nothing it installs may need the test equipment to import.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

REPO = Path(__file__).resolve().parents[2]

#: Module names of the emulators and their helpers before they moved to hil/emulators.
EMULATOR_MODULES = {"emulator", "emulator_cli", "pty_link", "mcu_model", "pn532_chip", "fd_stream"}


def shipped_packages() -> list[str]:
    """The packages `pip install .` puts in the wheel, found the way setuptools finds them for pyproject
    (``[tool.setuptools.packages.find]`` discovers namespace packages too)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    return find_namespace_packages(where=str(REPO), include=find["include"], exclude=find.get("exclude", ()))


def shipped_modules() -> list[str]:
    modules = []
    for package in shipped_packages():
        folder = REPO.joinpath(*package.split("."))
        modules += [f"{package}.{path.stem}" for path in sorted(folder.glob("*.py"))]
    return modules


def test_the_image_carries_the_station_and_its_drivers() -> None:
    modules = shipped_modules()
    # Guards the two assertions below against a discovery that finds nothing.
    assert "evse.daemon" in modules
    assert "drivers.meter.modbus" in modules
    assert "drivers.pilot.safety_mcu" in modules


def test_no_emulator_is_shipped_in_the_image() -> None:
    packages = shipped_packages()
    assert not [p for p in packages if p == "hil" or p.startswith(("hil.", "tests"))]
    shipped = [m for m in shipped_modules() if m.rsplit(".", 1)[1] in EMULATOR_MODULES or "emulat" in m]
    assert shipped == []


def test_every_registered_driver_is_in_the_image() -> None:
    """An entry point naming a module outside the wheel would install and then fail to load."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    drivers = pyproject["project"]["entry-points"]["evse.drivers"]
    modules = set(shipped_modules())
    assert drivers
    assert {name: target for name, target in drivers.items() if target.split(":")[0] not in modules} == {}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_nothing_in_the_image_imports_test_equipment() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(n for n in imported_modules(path) if n.split(".")[0] in {"hil", "tests"})
        for top in ("evse", "drivers")
        for path in sorted((REPO / top).rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}
