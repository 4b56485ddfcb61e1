"""The web page's login: one password from YAML, random session tokens, and a brake on guessing.

After `max_failures` wrong passwords from one client address the address is refused for `lockout_s`
seconds, even with the right password: a guesser gets a handful of tries a minute, not thousands.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "evse_session"
USER = "technician"  # one account: the person holding the charger's page password
MAX_CLIENTS = 1000  # addresses whose failures are remembered


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginRefused(Exception):
    """A login that did not open a session; `locked` tells a lockout from a wrong password."""

    def __init__(self, locked: bool) -> None:
        super().__init__("too many wrong passwords, try later" if locked else "wrong password")
        self.locked = locked


class Sessions:
    """Checks the password and keeps the sessions it opened (in memory: a restart logs everyone out)."""

    def __init__(
        self,
        password: str,
        monotonic: Callable[[], float],
        *,
        max_failures: int = 5,
        lockout_s: float = 60.0,
        idle_timeout_s: float = 8 * 3600.0,
    ) -> None:
        self._password = password.encode()
        self._monotonic = monotonic
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._idle_timeout_s = idle_timeout_s
        self._sessions: dict[str, float] = {}  # token -> last use
        self._failures: dict[str, _Failures] = {}

    def login(self, password: str, client: str) -> str:
        """A new session token, or LoginRefused."""
        now = self._monotonic()
        failures = self._failures.setdefault(client, _Failures())
        if failures.locked_until > now:
            raise LoginRefused(locked=True)
        # Constant time: the answer's timing tells nothing about how much of the password was right.
        if not hmac.compare_digest(password.encode(), self._password):
            if len(self._failures) > MAX_CLIENTS:  # many addresses guessing: forget those not locked out
                self._failures = {k: v for k, v in self._failures.items() if v.locked_until > now or k == client}
            failures.count += 1
            if failures.count >= self._max_failures:
                failures.count, failures.locked_until = 0, now + self._lockout_s
            raise LoginRefused(locked=False)
        self._failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = now
        return token

    def valid(self, token: str | None) -> bool:
        """Whether `token` is an open session; using it keeps it open."""
        if token is None:
            return False
        now = self._monotonic()
        last = self._sessions.get(token)
        if last is None:
            return False
        if now - last > self._idle_timeout_s:
            del self._sessions[token]
            return False
        self._sessions[token] = now
        return True

    def logout(self, token: str | None) -> None:
        if token is not None:
            self._sessions.pop(token, None)
