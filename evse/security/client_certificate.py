"""Which client certificate a profile 3 connection presents: the ChargingStationCertificate the CSMS signed
(A02) from the next connection on, the YAML's factory certificate before that, and the previous one again
when the CSMS refuses a newly signed certificate in the handshake (nothing bricks a station remotely).

The choice is made per connection attempt; a connection that comes up settles it: with the new
certificate it is kept for good (`proven`), with the previous one the new one is given up (`revert`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from evse.security.tls import TlsFailure

if TYPE_CHECKING:  # X.509 loads only when a profile 3 connection needs it
    from evse.security.station_certificate import StationCertificate

log = logging.getLogger(__name__)

Files = tuple[Path | None, Path | None]


class ClientCertificateChoice:
    """The client certificate of each profile 3 attempt, and what a connection that came up settles."""

    def __init__(self, own: Callable[[], StationCertificate], factory: Files, now: Callable[[], datetime]) -> None:
        self._own = own
        self._factory = factory
        self._now = now
        self._using: str | None = None  # "new", "previous" or "settled" for the attempt under way
        self._new_refused = False

    def files(self, last_failure: TlsFailure | None) -> Files:
        """(certificate chain, key) for the next attempt; `last_failure` is why the last TLS attempt failed."""
        own = self._own()
        if self._using == "new" and last_failure is TlsFailure.CLIENT_CERT_REFUSED:
            log.warning("the CSMS refused the new station certificate: trying the previous one")
            self._new_refused = True
        if own.starts_later(self._now()):  # switch to it only once it is valid
            self._using = "settled"
            return own.previous_tls_files() or self._factory
        signed = own.tls_files()
        if signed is not None and own.unproven():
            if self._new_refused:
                self._using = "previous"
                return own.previous_tls_files() or self._factory
            self._using = "new"
            return signed
        self._using = "settled"
        return signed or self._factory

    def not_used(self) -> None:
        """The next attempt is not profile 3: it settles nothing about the client certificate."""
        self._using = None

    def connected(self) -> bool:
        """A connection came up; True when that gave up a new certificate the CSMS refused."""
        using, self._using = self._using, None
        if using == "new":
            self._own().proven()
        elif using == "previous":
            self._own().revert()
            self._new_refused = False
            return True
        return False
