"""The prerequisites of a 1.6 SecurityProfile upgrade (security whitepaper edition 3, A05.FR.02-04).

Under 1.6 the CSMS raises the security profile with ChangeConfiguration(SecurityProfile); under 2.0.1
it lists a slot with a higher profile in NetworkConfigurationPriority, judged by
evse.ocpp.network_profiles.check_priority. The certificate checks are the same callables the daemon
builds for 2.0.1 (evse.security_wiring.tls_readiness). The daemon registers the guard on the variable
(`dm.add_guard("SecurityCtrlr", "SecurityProfile", security_profile_guard(...))`); the 1.6 configuration
view applies it after its own "only upwards" check (A05.FR.01). 2.0.1 SetVariables never reaches it:
the variable is ReadOnly there.
"""

from __future__ import annotations

from collections.abc import Callable

from evse.devicemodel.model import Guard
from evse.devicemodel.validation import ReasonCode, Rejection, parse_integer


def security_profile_guard(
    *,
    password_set: Callable[[], bool],
    csms_root: Callable[[], bool],
    station_certificate: Callable[[], bool],
) -> Guard:
    """The check of a new SecurityProfile: profiles 1 and 2 need an AuthorizationKey (A05.FR.02),
    2 and 3 a valid CSMS root certificate (A05.FR.03), 3 a valid station certificate (A05.FR.04)."""

    def guard(value: str) -> Rejection | None:
        profile = parse_integer(value)
        if profile is None:
            return Rejection(ReasonCode.INVALID_VALUE, f"{value!r} is not a security profile")
        if profile in (1, 2) and not password_set():
            return Rejection(ReasonCode.INVALID_VALUE, f"security profile {profile} needs an AuthorizationKey")
        if profile in (2, 3) and not csms_root():
            return Rejection(
                ReasonCode.INVALID_CERTIFICATE, f"security profile {profile} needs a valid CSMS root certificate"
            )
        if profile == 3 and not station_certificate():
            return Rejection(ReasonCode.INVALID_CERTIFICATE, "security profile 3 needs a valid station certificate")
        return None

    return guard
