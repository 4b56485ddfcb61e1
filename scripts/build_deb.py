"""Build the Debian package: ``dist/evse_<version>_<arch>.deb`` for amd64, arm64 and armhf (``make deb``).

The Python dependencies travel inside the package as a private virtual environment, /opt/evse/venv, filled
from wheels *for the target*: pip resolves the same pins as pyproject.toml against the target's platform tags
(manylinux for glibc, cp311 for Debian 12's python3.11), so a foreign architecture needs no emulator to build.
Debian's own python3-* packages are too old for the pins (bookworm: cryptography 38, pydantic 1.10,
websockets 10), hence the venv; the system only provides the interpreter (Depends: python3.11).

Where PyPI has no wheel for an architecture (armhf: cffi and PyYAML), ``--find-links`` points at wheels built
natively for it (scripts/build_armhf_wheels.sh, in an armhf Debian root under qemu-user).
The package is assembled in a plain directory and archived by ``dpkg-deb``; the maintainer scripts are in
packaging/deb/.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging" / "deb"
PYTHON_VERSION = "3.11"  # Debian 12 (bookworm); the compiled wheels and the .pyc files are for this one
VENV = Path("opt/evse/venv")
SITE = VENV / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
# Read by the code from the repository's config/ through paths relative to the packages (evse/daemon.py,
# evse/ocpp/v16/configuration_keys.py, drivers/meter/register_map.py): they go beside the packages.
DATA_DIRS = ("device_model", "meters", "ocpp16")


@dataclasses.dataclass(frozen=True)
class Target:
    """One Debian architecture and the wheel platform tags that run on it (newest glibc first)."""

    deb_arch: str
    machine: str
    manylinux: tuple[str, ...]
    # Debian packages of the shared libraries that natively built (``linux_*``) wheels link against;
    # manylinux wheels carry their own copies.
    native_depends: tuple[str, ...] = ()

    def pip_platforms(self) -> list[str]:
        tags = [f"manylinux_{v}_{self.machine}" for v in self.manylinux]
        # The legacy aliases of 2_17 and 2_5, which older wheels still carry alone.
        tags += [f"manylinux2014_{self.machine}", f"manylinux1_{self.machine}", f"linux_{self.machine}"]
        args: list[str] = []
        for tag in tags:
            args += ["--platform", tag]
        return args


# Debian 12 has glibc 2.36: every manylinux tag up to 2_36 runs there.
_GLIBC = tuple(f"2_{minor}" for minor in range(36, 4, -1))
TARGETS = {
    "amd64": Target("amd64", "x86_64", _GLIBC),
    "arm64": Target("arm64", "aarch64", _GLIBC),
    "armhf": Target("armhf", "armv7l", _GLIBC, native_depends=("libffi8", "libyaml-0-2")),
}


def run(*cmd: str | Path, **kwargs: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)  # type: ignore[call-overload]


def project_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def build_project_wheel(out: Path) -> Path:
    """The evse-stack wheel itself (pure Python, one for every architecture)."""
    shutil.rmtree(out, ignore_errors=True)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, REPO)
    (wheel,) = out.glob("evse_stack-*.whl")
    return wheel


def fetch_wheels(target: Target, project_wheel: Path, out: Path, find_links: list[Path]) -> list[Path]:
    """Every wheel the target needs, resolved for its platform; no source build (that would be the host's)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    links: list[str | Path] = []
    for link in find_links:
        links += ["--find-links", link]
    run(
        sys.executable, "-m", "pip", "download", "--quiet", "--dest", out, "--only-binary=:all:",
        "--python-version", PYTHON_VERSION, "--implementation", "cp",
        "--abi", "cp" + PYTHON_VERSION.replace(".", ""), "--abi", "abi3", "--abi", "none",
        *target.pip_platforms(), *links, project_wheel,
    )  # fmt: skip
    return sorted(out.glob("*.whl"))


def glibc_floor(wheels: list[Path]) -> str:
    """The oldest glibc every compiled wheel accepts: the package's libc6 dependency."""
    floor = (2, 17)
    for wheel in wheels:
        platform = wheel.stem.split("-")[-1]
        if platform == "any":
            continue
        versions = [(int(a), int(b)) for a, b in re.findall(r"manylinux_(\d+)_(\d+)", platform)]
        versions += [(2, 17)] * platform.count("manylinux2014") + [(2, 5)] * platform.count("manylinux1")
        if versions:
            floor = max(floor, min(versions))
    return f"{floor[0]}.{floor[1]}"


def install_venv(root: Path, target: Target, wheels_dir: Path, project_wheel: Path) -> None:
    """/opt/evse/venv: the wheels unpacked into its site-packages, pointing at the target's python3.11."""
    site = root / SITE
    run(
        sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", wheels_dir,
        "--target", site, "--no-compile", "--only-binary=:all:",
        "--python-version", PYTHON_VERSION, "--implementation", "cp",
        "--abi", "cp" + PYTHON_VERSION.replace(".", ""), "--abi", "abi3", "--abi", "none",
        *target.pip_platforms(), project_wheel,
    )  # fmt: skip
    # pip wrote console scripts with this build host's interpreter in their #! line: ours replace them.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for name in DATA_DIRS:
        shutil.copytree(REPO / "config" / name, site / "config" / name)

    venv = root / VENV
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {PYTHON_VERSION}\n"
        f"executable = /usr/bin/python{PYTHON_VERSION}\n"
    )
    (venv / "bin" / "python3").symlink_to(f"/usr/bin/python{PYTHON_VERSION}")
    (venv / "bin" / "python").symlink_to("python3")
    evse = venv / "bin" / "evse"
    # -I would also drop PYTHONFAULTHANDLER, which the unit sets on purpose; -s keeps ~/.local out.
    evse.write_text(f"#!/{VENV}/bin/python3 -s\nimport sys\n\nfrom evse.cli import main\n\nsys.exit(main())\n")
    evse.chmod(0o755)

    # Byte-compiled here, for the target's 3.11 (.pyc files do not depend on the architecture): a read-only
    # root cannot cache them at run time, and compiling pydantic and the models on every start of a small
    # board costs seconds. unchecked-hash: valid whatever the files' mtimes become in an image build.
    host = shutil.which(f"python{PYTHON_VERSION}")
    if host is None:
        raise SystemExit(f"python{PYTHON_VERSION} is needed to byte-compile for the target")
    run(
        host, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
        "-s", root, "-p", "/", site,
    )  # fmt: skip


def install_files(root: Path) -> None:
    """The command, the unit, the default configuration and the documentation."""
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/evse").symlink_to(f"/{VENV}/bin/evse")
    unit_dir = root / "lib/systemd/system"
    unit_dir.mkdir(parents=True)
    shutil.copy(REPO / "systemd/evse.service", unit_dir / "evse.service")
    etc = root / "etc/evse"
    etc.mkdir(parents=True)
    shutil.copy(REPO / "config/package-default.yaml", etc / "evse.yaml")
    (etc / "evse.yaml").chmod(0o640)  # holds the CSMS password; postinst gives group evse read access
    doc = root / "usr/share/doc/evse"
    (doc / "examples").mkdir(parents=True)
    shutil.copy(REPO / "README.md", doc / "README.md")
    (doc / "copyright").write_text(
        "evse-stack: Apache-2.0.\nThe wheels under /opt/evse/venv keep their own licences in their *.dist-info.\n"
    )
    for example in sorted((REPO / "config").glob("*.yaml")):
        shutil.copy(example, doc / "examples" / example.name)


def depends(target: Target, wheels: list[Path]) -> str:
    """The interpreter, the C library every compiled wheel accepts, and the libraries native wheels need."""
    items = [f"python{PYTHON_VERSION}", f"libc6 (>= {glibc_floor(wheels)})", "adduser"]
    if any(wheel.stem.split("-")[-1].startswith("linux_") for wheel in wheels):
        items += target.native_depends
    return ", ".join(items)


def write_control(root: Path, target: Target, version: str, depends: str) -> None:
    debian = root / "DEBIAN"
    debian.mkdir()
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = (PACKAGING / "control").read_text()
    fields = {
        "version": version,
        "arch": target.deb_arch,
        "installed_size": str(size_kib),
        "depends": depends,
    }
    for key, value in fields.items():
        control = control.replace("{" + key + "}", value)
    (debian / "control").write_text(control)
    shutil.copy(PACKAGING / "conffiles", debian / "conffiles")
    for script in ("postinst", "prerm", "postrm"):
        shutil.copy(PACKAGING / script, debian / script)
        (debian / script).chmod(0o755)
    sums = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == "DEBIAN" or path.is_symlink() or not path.is_file():
            continue
        sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {rel}\n")  # dpkg --verify reads md5sums
    (debian / "md5sums").write_text("".join(sums))


def build(arch: str, version: str, out: Path, work: Path, find_links: list[Path]) -> Path:
    target = TARGETS[arch]
    project_wheel = build_project_wheel(work / "project")
    wheels = fetch_wheels(target, project_wheel, work / arch / "wheels", find_links)
    root = work / arch / "root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    install_venv(root, target, work / arch / "wheels", project_wheel)
    install_files(root)
    write_control(root, target, version, depends(target, wheels))
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"evse_{version}_{arch}.deb"
    # --root-owner-group: every file root:root whoever builds; the evse user's files are made by postinst.
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "1700000000")}
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb, env=env)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="all", choices=[*TARGETS, "all"])
    parser.add_argument("--version", default=None, help="package version (default: pyproject's)")
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "deb")
    parser.add_argument(
        "--find-links", type=Path, action="append", default=[], help="extra wheels (armhf: built natively)"
    )
    args = parser.parse_args(argv)
    arches = list(TARGETS) if args.arch == "all" else [args.arch]
    version = args.version or project_version()
    for arch in arches:
        print(build(arch, version, args.out, args.work, args.find_links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
