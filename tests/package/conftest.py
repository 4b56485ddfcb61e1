"""Fixtures of the package tests: the two amd64 builds, a clean root with the first installed, the dev CSMS."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The dev CSMS the installed station talks to: the integration tests' fixture.
from tests.integration.conftest import csms  # noqa: F401
from tests.package.debian_root import in_root, unpack_root
from tests.package.helpers import build_package, project_version

ARCH = "amd64"


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two builds of the amd64 package, in build order: the project's version, then a bumped one."""
    first = project_version()
    return {
        version: build_package(ARCH, version, tmp_path_factory.mktemp("dist"))
        for version in (first, f"{first}+upgrade1")
    }


@pytest.fixture
def root(tmp_path: Path, debs: dict[str, Path]) -> Iterator[Path]:
    """A clean Debian root with the first build installed by dpkg (no network: the dependencies are there)."""
    path = unpack_root(ARCH, tmp_path / "root")
    first = next(iter(debs.values()))
    shutil.copy(first, path / "tmp" / first.name)
    in_root(path, f"dpkg -i /tmp/{first.name}")
    yield path
    shutil.rmtree(path)  # a root is ~300 MB and pytest keeps three runs of tmp_path
