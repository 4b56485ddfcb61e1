"""Wire codes of the bridge's enumerations (version 1): the one place that maps bytes to OCPP names.

The enums themselves are OCPP 2.0.1 vocabulary and live in :mod:`drivers.interfaces`; a code never
changes meaning within a protocol version (docs/iso15118-bridge.md, "Code tables").
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Final

from drivers.interfaces import EnergyTransferMode, HashAlgorithm, Iso15118Protocol, Iso15118StopReason

PROTOCOL_CODES: Final[Mapping[Iso15118Protocol, int]] = {
    Iso15118Protocol.DIN_70121: 1,
    Iso15118Protocol.ISO_15118_2: 2,
    Iso15118Protocol.ISO_15118_20: 3,
}
ENERGY_MODE_CODES: Final[Mapping[EnergyTransferMode, int]] = {
    EnergyTransferMode.AC_SINGLE_PHASE: 1,
    EnergyTransferMode.AC_TWO_PHASE: 2,
    EnergyTransferMode.AC_THREE_PHASE: 3,
    EnergyTransferMode.DC: 4,
}
STOP_REASON_CODES: Final[Mapping[Iso15118StopReason, int]] = {
    Iso15118StopReason.OTHER: 0,
    Iso15118StopReason.STOPPED_BY_EV: 1,
    Iso15118StopReason.EV_DISCONNECTED: 2,
    Iso15118StopReason.TIMEOUT: 3,
    Iso15118StopReason.DEAUTHORIZED: 4,
}
HASH_ALGORITHM_CODES: Final[Mapping[HashAlgorithm, int]] = {
    HashAlgorithm.SHA256: 1,
    HashAlgorithm.SHA384: 2,
    HashAlgorithm.SHA512: 3,
}


class ModuleFaultCode(IntEnum):
    """Fault codes the module reports; other values (up to 255) are passed on by number."""

    PLC_MODEM = 1  # the HomePlug Green PHY modem / SLAC does not work
    V2G_STACK = 2  # the ISO 15118 / DIN stack crashed or cannot start
    CERTIFICATES = 3  # SECC certificate missing or expired: no TLS, no Plug & Charge
    INTERNAL = 4  # anything else inside the module (memory, watchdog)
