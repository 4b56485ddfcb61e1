"""Network connection profiles (OCPP 2.0.1 B09/B10): the slots SetNetworkProfile fills, and the slot the
station connects with.

- Slot "1" holds the technician's `csms` section of the YAML until the CSMS stores another profile there;
  other slots hold only what SetNetworkProfile stored. Profiles live in the station database, so they
  survive the reboot that activates a new OCPPCommCtrlr.NetworkConfigurationPriority (B10).
- The station tries the slots in NetworkConfigurationPriority order, skipping empty ones, and moves on to
  the next after NetworkProfileConnectionAttempts failed connection attempts (B10 fallback); after the
  last it starts over with the first.
- A new profile is validated before it is stored (B09): an offered slot, OCPP 2.0.1 over JSON, no
  security downgrade below the SecurityProfile in use, and a URL scheme that fits its security profile.
  TLS profiles (2, 3) also need the certificates to use them (A05: see check_priority).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from evse.ocpp.v201 import messages as m
from evse.storage import Migration, migrate

YAML_SLOT = "1"

MIGRATIONS = [
    Migration(
        "network_profiles",
        1,
        ["CREATE TABLE network_profiles (slot TEXT PRIMARY KEY, profile TEXT NOT NULL)"],
    )
]


@dataclass(frozen=True)
class Rejection:
    """Why a SetNetworkProfile is Rejected: a StatusInfo reasonCode and a line for the CSMS's log."""

    reason: str
    detail: str


def check_profile(
    slot: int,
    profile: m.NetworkConnectionProfileType,
    *,
    offered_slots: Collection[str],
    security_profile_in_use: int,
) -> Rejection | None:
    """None when the profile may be stored in `slot`, else why not (B09: validate before storing). The
    certificates a TLS profile needs are checked when NetworkConfigurationPriority lists the slot (A05)."""
    if str(slot) not in offered_slots:
        return Rejection("InvalidConfSlot", f"slot {slot} is not one of {', '.join(sorted(offered_slots))}")
    if (
        profile.ocppVersion not in (m.OCPPVersionEnumType.OCPP20, m.OCPPVersionEnumType.OCPP16)
        or profile.ocppTransport is not m.OCPPTransportEnumType.JSON
    ):
        # A slot may move the station to OCPP 1.6J (issue 13): it restarts into it when the slot comes first.
        return Rejection("UnsupportedProtocol", "this station speaks OCPP 2.0.1 or 1.6 over JSON only")
    if profile.securityProfile < security_profile_in_use:
        return Rejection(
            "NoSecurityDowngrade",
            f"securityProfile {profile.securityProfile} is below the one in use ({security_profile_in_use})",
        )
    if not 0 <= profile.securityProfile <= 3:
        return Rejection("InvalidSecProfile", f"securityProfile {profile.securityProfile} is not 0-3")
    scheme = profile.ocppCsmsUrl.split("://", 1)[0].lower()
    wanted = "wss" if profile.securityProfile >= 2 else "ws"
    if scheme != wanted:
        return Rejection("InvalidURL", f"securityProfile {profile.securityProfile} needs a {wanted}:// URL")
    return None


def slot_to_try(priority: Sequence[str], usable: Collection[str], failures: int, attempts_per_slot: int) -> str | None:
    """The slot for the next connection attempt after `failures` failed ones in a row (B10 fallback)."""
    slots = [slot for slot in priority if slot in usable]
    if not slots:
        return None
    return slots[(failures // max(1, attempts_per_slot)) % len(slots)]


class NetworkProfiles:
    """The profiles the CSMS stored, by slot, in the shared database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def store(self, slot: int, profile: m.NetworkConnectionProfileType) -> None:
        """Persist `profile` in `slot`, replacing what was there; raises sqlite3.Error when it cannot."""
        self._conn.execute(
            "INSERT INTO network_profiles(slot, profile) VALUES(?, ?) "
            "ON CONFLICT(slot) DO UPDATE SET profile = excluded.profile",
            (str(slot), profile.model_dump_json(exclude_none=True)),
        )

    def get(self, slot: str) -> m.NetworkConnectionProfileType | None:
        row = self._conn.execute("SELECT profile FROM network_profiles WHERE slot = ?", (slot,)).fetchone()
        return None if row is None else m.NetworkConnectionProfileType.model_validate_json(row[0])

    def filled(self) -> set[str]:
        """Slots that can be connected with: those the CSMS set, and slot 1 (the YAML) in any case."""
        return {str(row[0]) for row in self._conn.execute("SELECT slot FROM network_profiles")} | {YAML_SLOT}


def check_priority(
    slots: Sequence[str],
    security_of: Callable[[str], int | None],
    *,
    security_profile_in_use: int,
    csms_root: Callable[[], bool],
    station_certificate: Callable[[], bool],
) -> Rejection | None:
    """None when NetworkConfigurationPriority may list `slots`, else why not (A05 security profile upgrade).

    `security_of` gives a filled slot's securityProfile (None for an empty slot, which the station skips).
    A slot below the profile in use would be a downgrade; profile 2 and 3 need a CSMS root to check the
    server with (A05.FR.02), profile 3 a ChargingStationCertificate to present (A05.FR.03). The two
    certificate checks are callables so files are read only when a TLS slot is listed.
    """
    for slot in slots:
        profile = security_of(slot)
        if profile is None:
            continue
        if profile < security_profile_in_use:
            return Rejection(
                "NoSecurityDowngrade",
                f"slot {slot} has securityProfile {profile}, below the one in use ({security_profile_in_use})",
            )
        if profile >= 2 and not csms_root():
            return Rejection(
                "InvalidCertificate", f"slot {slot} needs securityProfile {profile}: no valid CSMS root certificate"
            )
        if profile == 3 and not station_certificate():
            return Rejection(
                "InvalidCertificate", f"slot {slot} needs securityProfile 3: no valid ChargingStationCertificate"
            )
    return None


def slots_at_or_above(filled: Collection[str], security_of: Callable[[str], int | None], floor: int) -> set[str]:
    """The filled slots the station may connect with: none below the security profile in use, so a
    fallback (B10) never undoes an upgrade (A05). When the technician's YAML itself went below it, the
    YAML slot is all there is: a change made on site, not a remote downgrade."""
    usable = {slot for slot in filled if (security_of(slot) or 0) >= floor}
    return usable or {YAML_SLOT}
