"""Security events (OCPP 2.0.1 A04): every event goes to the security log, critical ones also to the CSMS.

A04.FR.01/02: a critical event is sent as SecurityEventNotification, through the durable outbox so that an
event raised offline (or just before a reset) arrives once a connection exists again. Which events are
critical is the spec's list (Part 2, Appendices, security events); a caller may decide otherwise for an
event of its own. techInfo is the caller's text and must never carry a password or key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from evse.clock import Clock, ocpp_timestamp
from evse.ocpp.v201 import messages as m
from evse.security.security_log import SecurityLog

log = logging.getLogger(__name__)

# The security events the OCPP 2.0.1 appendix marks critical. Not critical (log only):
# FailedToAuthenticateAtCsms, CsmsFailedToAuthenticate, ReconfigurationOfSecurityParameters,
# InvalidMessages, AttemptedReplayAttacks.
CRITICAL_EVENTS = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
        "InvalidFirmwareSignature",
        "InvalidFirmwareSigningCertificate",
        "InvalidCsmsCertificate",
        "InvalidChargingStationCertificate",
        "InvalidTLSVersion",
        "InvalidTLSCipherSuite",
    }
)

TYPE_MAX = 50  # SecurityEventNotificationRequest.type maxLength
TECH_INFO_MAX = 255  # SecurityEventNotificationRequest.techInfo maxLength


class SecurityEvents:
    """Reports security events: the log always, the CSMS (via `send`, the outbox) for critical ones."""

    def __init__(self, security_log: SecurityLog, clock: Clock, send: Callable[[m.OcppRequest], None]) -> None:
        self.log = security_log
        self._clock = clock
        self._send = send

    def report(self, type: str, tech_info: str | None = None, critical: bool | None = None) -> None:
        """Record one event; ``critical=None`` takes the spec's classification of ``type``."""
        if critical is None:
            critical = type in CRITICAL_EVENTS
        now: datetime = self._clock.now()
        info = tech_info[:TECH_INFO_MAX] if tech_info else None
        self.log.append({"timestamp": ocpp_timestamp(now), "type": type[:TYPE_MAX], "techInfo": info})
        log.info("security event type=%s critical=%s", type, critical)
        if critical:
            self._send(m.SecurityEventNotificationRequest(type=type[:TYPE_MAX], timestamp=now, techInfo=info))


class InvalidMessages:
    """A04 InvalidMessages, at most one log entry per `interval` seconds: a CSMS (or an attacker) sending a
    flood of garbage must not rewrite the whole bounded security log. The entry says how many were
    folded into it."""

    def __init__(self, events: SecurityEvents, monotonic: Callable[[], float], interval: float = 60.0) -> None:
        self._events = events
        self._monotonic = monotonic
        self._interval = interval
        self._last: float | None = None
        self._folded = 0

    def __call__(self, description: str) -> None:
        now = self._monotonic()
        if self._last is not None and now - self._last < self._interval:
            self._folded += 1
            return
        folded, self._folded, self._last = self._folded, 0, now
        more = f" (+{folded} more since the last entry)" if folded else ""
        self._events.report("InvalidMessages", f"{description}{more}")
