"""Clean Debian roots for the package tests: made once per machine by mmdebstrap, unpacked fresh per test.

A root is Debian 12 ``minbase`` plus what the package depends on (python3, adduser; libyaml-0-2 for armhf's
natively built PyYAML) and systemd (for ``systemd-analyze verify``), so installing the .deb with dpkg needs
no network. The tarball is cached under ``$EVSE_DEB_CACHE`` (default /var/tmp/evse-deb), named after its
package list; building it takes about half a minute for amd64, minutes for a foreign architecture
(qemu-user-static runs its maintainer scripts).

Commands run in the root inside a private mount namespace (``unshare -m``): the /proc mount and the
read-only bind mounts vanish with the command, whatever happens to the test.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("EVSE_DEB_CACHE", "/var/tmp/evse-deb"))
SUITE = "bookworm"
PACKAGES = "python3,adduser,libyaml-0-2,systemd"
REPO = Path(__file__).resolve().parents[2]


def root_tarball(arch: str) -> Path:
    """The cached clean root for ``arch``; built on first use (needs Debian's package registry)."""
    packages = hashlib.sha256(PACKAGES.encode()).hexdigest()[:8]
    tarball = CACHE / f"{SUITE}-{arch}-{packages}.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(f".{os.getpid()}.partial.tar")  # test runs in parallel build apart
        subprocess.run(
            ["mmdebstrap", f"--arch={arch}", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(partial)],
            check=True,
            capture_output=True,
        )
        partial.rename(tarball)  # only a complete root is ever cached
    return tarball


def unpack_root(arch: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(dest), "-xf", str(root_tarball(arch))], check=True)
    return dest


def in_root(
    root: Path,
    command: str,
    *,
    user: str | None = None,
    read_only: bool = False,
    writable: dict[str, Path] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a shell ``command`` chrooted in ``root`` (as ``user``), optionally with the root read-only.

    ``writable`` maps paths inside the root to host directories bind-mounted there writable: the
    read/write partition of a read-only system.
    """
    argv = root_command(root, command, user=user, read_only=read_only, writable=writable)
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{command!r} exited {result.returncode}:\n{result.stdout[-1000:]}{result.stderr[-2000:]}")
    return result


def root_command(
    root: Path,
    command: str,
    *,
    user: str | None = None,
    read_only: bool = False,
    writable: dict[str, Path] | None = None,
) -> list[str]:
    """The argv of ``in_root``; every step execs the next, so its pid is ``command``'s own (for signals)."""
    script = root_script(root, command, user, read_only, writable)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def root_script(root: Path, command: str, user: str | None, read_only: bool, writable: dict[str, Path] | None) -> str:
    """The shell lines that set up the mounts and exec ``command`` in the root (run inside ``unshare -m``)."""
    r = shlex.quote(str(root))
    lines = ["set -e"]
    if read_only:
        # A bind mount of the root onto itself, then made read-only: the whole tree below is refused writes.
        lines += [f"mount --bind {r} {r}", f"mount -o remount,bind,ro {r}"]
    for inside, host in (writable or {}).items():
        lines.append(f"mount --bind {shlex.quote(str(host))} {shlex.quote(str(root / inside.lstrip('/')))}")
    lines.append(f"mount -t proc proc {r}/proc")
    env = "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8"
    if user is None:
        lines.append(f"exec chroot {r} {env} HOME=/root sh -c {shlex.quote(command)}")
    else:
        lines.append(f"exec chroot --userspec={user}:{user} {r} {env} HOME=/nonexistent sh -c {shlex.quote(command)}")
    return "\n".join(lines)


def ids(root: Path, user: str) -> tuple[int, int]:
    """``user``'s uid and gid in the root (its own /etc/passwd, not the host's)."""
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise KeyError(user)
