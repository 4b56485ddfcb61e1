"""SetNetworkProfile (B09): validate, store, answer; the profile is used once NetworkConfigurationPriority
puts its slot first and the station reboots (B10), see evse.ocpp.network_profiles."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from evse.devicemodel.model import DeviceModel
from evse.ocpp.network_profiles import NetworkProfiles, check_profile
from evse.ocpp.rpc import Router
from evse.ocpp.v201 import messages as m

log = logging.getLogger(__name__)


def register(
    router: Router,
    profiles: NetworkProfiles,
    dm: DeviceModel,
    *,
    offered_slots: Callable[[], list[str]],
) -> None:
    async def set_network_profile(request: m.SetNetworkProfileRequest) -> m.SetNetworkProfileResponse:
        rejection = check_profile(
            request.configurationSlot,
            request.connectionData,
            offered_slots=offered_slots(),
            security_profile_in_use=dm.get_int("SecurityCtrlr", "SecurityProfile"),
        )
        if rejection is not None:
            log.info("network profile slot=%s rejected: %s", request.configurationSlot, rejection.detail)
            return m.SetNetworkProfileResponse(
                status=m.SetNetworkProfileStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode=rejection.reason, additionalInfo=rejection.detail),
            )
        try:
            profiles.store(request.configurationSlot, request.connectionData)
        except sqlite3.Error as exc:  # a valid profile that could not be kept (B09.FR.03)
            log.error("network profile slot=%s not stored: %s", request.configurationSlot, exc)
            return m.SetNetworkProfileResponse(
                status=m.SetNetworkProfileStatusEnumType.Failed, statusInfo=m.StatusInfoType(reasonCode="WriteError")
            )
        log.info("network profile slot=%s stored url=%s", request.configurationSlot, request.connectionData.ocppCsmsUrl)
        return m.SetNetworkProfileResponse(status=m.SetNetworkProfileStatusEnumType.Accepted)

    router.register(m.SetNetworkProfileRequest, set_network_profile)
