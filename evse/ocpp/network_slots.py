"""Which network connection profile slot the station connects with, and the security profile it is at
(B10 fallback, A05 upgrade): the stateful side of evse.ocpp.network_profiles.

SecurityCtrlr.SecurityProfile is the profile of the last connection that came up (station-set,
persisted). An upgrade takes hold only once a connection with the higher profile succeeded; from then
on no slot below it is tried, so neither a fallback nor a CSMS can take the station back down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evse.devicemodel.model import DeviceModel
from evse.devicemodel.validation import ReasonCode, Rejection
from evse.ocpp.network_profiles import YAML_SLOT, NetworkProfiles, check_priority, slot_to_try, slots_at_or_above
from evse.ocpp.v201 import messages as m

log = logging.getLogger(__name__)


class NetworkSlots:
    """The slots of one station: its stored profiles, the YAML's csms section as slot 1, the device model."""

    def __init__(
        self, profiles: NetworkProfiles, dm: DeviceModel, yaml_security_profile: int, ocpp_version: str = "2.0.1"
    ) -> None:
        self.profiles = profiles
        self.dm = dm
        self.yaml_security_profile = yaml_security_profile
        #: The OCPP version this run speaks: slots of another version are not tried (the station restarts
        #: into a version, evse.ocpp.version_switch; it does not fall back across versions).
        self.ocpp_version = ocpp_version
        #: (slot, securityProfile) of the connection attempt under way, once `choose` has run.
        self.attempting: tuple[str, int] | None = None

    def security_of(self, slot: str) -> int | None:
        """The securityProfile the slot connects with; None for an empty slot."""
        stored = self.profiles.get(slot)
        if stored is not None:
            return stored.securityProfile
        return self.yaml_security_profile if slot == YAML_SLOT else None

    @property
    def in_use(self) -> int:
        return self.dm.get_int("SecurityCtrlr", "SecurityProfile")

    def choose(self, failures: int) -> tuple[str | None, m.NetworkConnectionProfileType | None]:
        """(slot, the profile the CSMS stored there or None for the YAML's) for the next attempt after
        `failures` failed ones in a row: NetworkConfigurationPriority order, the next slot after
        NetworkProfileConnectionAttempts (B10), never one below the security profile in use (A05)."""
        usable = {
            slot
            for slot in slots_at_or_above(self.profiles.filled(), self.security_of, self.in_use)
            if self._speaks(slot)
        }
        slot = slot_to_try(
            self.dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority"),
            usable,
            failures,
            self.dm.get_int("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"),
        )
        if slot is None:
            # Every slot in the priority list is empty or below the profile in use: the YAML's.
            log.warning("no network profile slot in NetworkConfigurationPriority is usable, using slot 1")
            slot = YAML_SLOT
        stored = self.profiles.get(slot)
        self.attempting = (slot, stored.securityProfile if stored is not None else self.yaml_security_profile)
        return slot, stored

    def _speaks(self, slot: str) -> bool:
        stored = self.profiles.get(slot)
        wanted = "OCPP16" if self.ocpp_version == "1.6" else "OCPP20"
        return stored is None or stored.ocppVersion.value == wanted

    def connected(self) -> bool:
        """The connection attempted last came up: OCPPCommCtrlr.ActiveNetworkProfile names its slot (B10);
        True when that changed the security profile in use (A05)."""
        if self.attempting is None:
            return False
        slot, security_profile = self.attempting
        self.dm.set_station_value("OCPPCommCtrlr", "ActiveNetworkProfile", slot)
        if security_profile == self.in_use:
            return False
        log.info("security profile in use %s -> %s", self.in_use, security_profile)
        self.dm.set_station_value("SecurityCtrlr", "SecurityProfile", security_profile)
        return True

    def priority_guard(
        self, csms_root: Callable[[], bool], station_certificate: Callable[[], bool]
    ) -> Callable[[str], Rejection | None]:
        """The check of a NetworkConfigurationPriority the CSMS sets (A05.FR.02/03, no downgrade)."""

        def guard(value: str) -> Rejection | None:
            rejection = check_priority(
                [slot.strip() for slot in value.split(",") if slot.strip()],
                self.security_of,
                security_profile_in_use=self.in_use,
                csms_root=csms_root,
                station_certificate=station_certificate,
            )
            return None if rejection is None else Rejection(ReasonCode(rejection.reason), rejection.detail)

        return guard
