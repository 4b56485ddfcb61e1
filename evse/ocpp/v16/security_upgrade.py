"""A SecurityProfile raised by ChangeConfiguration under 1.6 (security whitepaper edition 3, A05, 1.6 flavour).

1.6 has no network connection profiles: the CSMS raises the profile of the one connection it knows. Once the
ChangeConfiguration.conf has left, the station reconnects to the same CSMS URL with the new profile
(ws:// becomes wss:// for 2 and 3; 3 sends the client certificate, chosen by the daemon as for 2.0.1). The
profile in use (SecurityCtrlr.SecurityProfile) is recorded by evse.ocpp.network_slots once that connection
came up, and from then on no connection below it is made, after a restart either. When the new profile
fails NetworkProfileConnectionAttempts times in a row the station falls back to the profile in use (A05.FR.08).
"""

from __future__ import annotations

import logging

from evse.devicemodel.model import DeviceModel

log = logging.getLogger(__name__)


def url_for(url: str, security_profile: int) -> str:
    """The CSMS URL for `security_profile`: profiles 2 and 3 are TLS, so ws:// becomes wss://."""
    if security_profile >= 2 and url.startswith("ws://"):
        return "wss://" + url.removeprefix("ws://")
    return url


class SecurityProfileUpgrade:
    """The security profile each connection attempt of a 1.6 station uses."""

    def __init__(self, dm: DeviceModel) -> None:
        self._dm = dm
        #: The profile the CSMS asked for and no connection has come up with yet.
        self.pending: int | None = None
        self._attempts = 0

    @property
    def in_use(self) -> int:
        return self._dm.get_int("SecurityCtrlr", "SecurityProfile")

    def request(self, security_profile: int) -> None:
        """The CSMS accepted a higher profile: the next attempts use it."""
        self.pending, self._attempts = security_profile, 0

    def endpoint(self, url: str, security_profile: int) -> tuple[str, int]:
        """(url, security profile) of the next attempt, from the configured ones."""
        in_use = self.in_use
        if self.pending is not None and in_use >= self.pending:
            self.pending = None  # a connection with it came up: it is the profile in use now
        if self.pending is not None:
            if self._attempts < self._dm.get_int("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"):
                self._attempts += 1
                return url_for(url, self.pending), self.pending
            log.warning("security profile %s failed %s times: back to %s", self.pending, self._attempts, in_use)
            self.pending = None
        profile = max(security_profile, in_use)  # never below the profile a connection came up with
        return url_for(url, profile), profile
