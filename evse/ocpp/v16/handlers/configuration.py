"""GetConfiguration and ChangeConfiguration (OCPP 1.6 edition 2, 5.8 and 5.3) on the device model.

Thin: the keys, their values and every decision live in evse.ocpp.v16.configuration_view, which reads
and writes the same variables 2.0.1 GetVariables/SetVariables do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from evse.devicemodel.model import DeviceModel
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.configuration_view import ConfigurationChange, ConfigurationView

log = logging.getLogger(__name__)

#: What the station does once a ChangeConfiguration.conf accepting this change has left, if anything:
#: a new AuthorizationKey or a higher SecurityProfile means reconnecting (whitepaper A01, A05).
AfterSet = Callable[[ConfigurationChange], Callable[[], Awaitable[None]] | None]


def register(
    router: Router, dm: DeviceModel, *, after_set: AfterSet | None = None, profiles: Sequence[str]
) -> ConfigurationView:
    """Serve the 1.6 configuration keys of `dm`; `profiles` are the feature profiles the station serves
    (SupportedFeatureProfiles). Returns the view, for the daemon's other 1.6 needs."""
    view = ConfigurationView(dm, profiles)

    async def get_configuration(request: m16.GetConfigurationRequest) -> m16.GetConfigurationResponse:
        if request.key is None or not request.key:
            values = view.read_all()
            unknown: list[str] = []
        else:
            requested = list(dict.fromkeys(request.key))
            limit = view.max_keys()
            if limit is not None and len(requested) > limit:
                # 1.6 5.8: the station MAY limit how many keys one request asks for (GetConfigurationMaxKeys)
                # but names no error for more; the first that many are served and the rest left out, so a
                # CSMS that asks for too many still gets an answer it can use.
                log.info("GetConfiguration asked for %d keys, serving the first %d", len(requested), limit)
                requested = requested[:limit]
            values, unknown = [], []
            for key in requested:
                mapping = view.lookup(key)
                if mapping is None:
                    unknown.append(key)
                else:
                    values.append(view.read(mapping))
        return m16.GetConfigurationResponse(
            configurationKey=[m16.KeyValue(key=v.key, readonly=v.readonly, value=v.value) for v in values] or None,
            unknownKey=unknown or None,
        )

    async def change_configuration(request: m16.ChangeConfigurationRequest) -> m16.ChangeConfigurationResponse | Reply:
        # Persisted synchronously on the loop, as SetVariables is: the station database is one connection.
        outcome = view.change(request.key, request.value)
        # The value stays out of the log: AuthorizationKey is a password (whitepaper A01.FR.12).
        log.info("ChangeConfiguration key=%s status=%s %s", request.key, outcome.status, outcome.reason)
        response = m16.ChangeConfigurationResponse(status=m16.ConfigurationStatus(outcome.status.value))
        job = after_set(outcome.change) if after_set is not None and outcome.change is not None else None
        return response if job is None else Reply(response, then=job)

    router.register(m16.GetConfigurationRequest, get_configuration)
    router.register(m16.ChangeConfigurationRequest, change_configuration)
    return view
