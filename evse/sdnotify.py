"""A tiny sd_notify(3) client, so the daemon runs as a systemd ``Type=notify`` service.

Dependency-free on purpose: the protocol is one datagram per state change on the socket named by
``NOTIFY_SOCKET``, and pulling in libsystemd bindings for that would complicate cross-builds for
boards. Outside systemd (development, tests) every function is a no-op. A failed send is logged and
swallowed: losing a READY or WATCHDOG ping must never take down the charging session; at worst
systemd restarts us, which is what the watchdog is for.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

_log = logging.getLogger(__name__)


def _socket_address(env: Mapping[str, str]) -> str | None:
    """The NOTIFY_SOCKET address, with '@' turned into the leading NUL of Linux's abstract namespace."""
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return None
    if address.startswith("@"):
        return "\0" + address[1:]
    if address.startswith("/"):
        return address
    # systemd also allows vsock:... for VMs; that is not a place this daemon runs.
    _log.warning("sd_notify ignored: unsupported NOTIFY_SOCKET=%r", address)
    return None


def notify(*states: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``states`` (e.g. ``"READY=1"``, ``"STATUS=..."``) as one datagram.

    Returns True when a datagram was sent, False when not under systemd or the send failed.
    Several states in one datagram are applied atomically by systemd (READY=1 with its STATUS).
    """
    address = _socket_address(os.environ if env is None else env)
    if address is None or not states:
        return False
    message = "\n".join(states).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError as exc:
        _log.warning("sd_notify failed: state=%s error=%s", states[0], exc)
        return False
    return True


def ready(text: str | None = None) -> bool:
    """Tell systemd start-up is complete: dependent units start, ``systemctl start`` returns."""
    return notify("READY=1", *_status(text))


def stopping(text: str | None = None) -> bool:
    """Tell systemd a clean shutdown began, so a slow stop is not mistaken for a hang."""
    return notify("STOPPING=1", *_status(text))


def watchdog() -> bool:
    """Ping the watchdog; send it only from a loop that proves the daemon is healthy."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """A free-form line shown by ``systemctl status`` (e.g. "connected to CSMS, 1 EVSE charging")."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings, or None when the watchdog is off or meant for another process.

    Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends, so one late ping is not fatal.
    WATCHDOG_PID, when set, names the process that must ping: a child that inherited the
    environment (e.g. a helper we spawn) must not ping on our behalf.
    """
    env = os.environ if env is None else env
    pid = env.get("WATCHDOG_PID")
    if pid is not None:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            _log.warning("sd_notify: invalid WATCHDOG_PID=%r", pid)
            return None
    usec = env.get("WATCHDOG_USEC")
    if usec is None:
        return None
    try:
        value = int(usec)
    except ValueError:
        _log.warning("sd_notify: invalid WATCHDOG_USEC=%r", usec)
        return None
    if value <= 0:
        return None
    return value / 1_000_000 / 2


def _status(text: str | None) -> tuple[str, ...]:
    return () if text is None else (f"STATUS={_one_line(text)}",)


def _one_line(text: str) -> str:
    # A newline would end the STATUS= assignment and start a bogus one in the same datagram.
    return " ".join(text.splitlines())
