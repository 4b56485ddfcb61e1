"""The development CSMS speaking OCPP 2.0.1, and ``evse dev-csms`` for humans (either version).

The server itself (websocket, basic auth, journal, scripting) is ``CsmsServer`` in csms_server.py;
this module names what is 2.0.1 about it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections.abc import Collection
from typing import Any, Literal

from websockets.asyncio.server import ServerConnection
from websockets.typing import Subprotocol

from evse.clock import Clock
from evse.devcsms.csms_server import CsmsServer, station_id_from_path
from evse.devcsms.ev_planning import EvSchedulePlanner
from evse.devcsms.responses import CsmsBehaviour, RegistrationStatus
from evse.devcsms.server16 import DevCsms16
from evse.devcsms.session import StationSession
from evse.devcsms.session201 import StationSession201

__all__ = ["OCPP201", "DevCsms", "serve_forever", "station_id_from_path"]

_log = logging.getLogger("evse.devcsms")

OCPP201 = Subprotocol("ocpp2.0.1")


class DevCsms(CsmsServer[CsmsBehaviour]):
    """A programmable, observable OCPP 2.0.1 CSMS for developers and integration tests.

    ``behaviour.pnc`` is its Plug & Charge side (contracts, OCSP, EV certificates).
    """

    SUBPROTOCOL = OCPP201

    def _create_behaviour(
        self, clock: Clock, tokens: Collection[str] | None, boot_status: RegistrationStatus, boot_interval: int
    ) -> CsmsBehaviour:
        return CsmsBehaviour.create(clock, tokens, boot_status, boot_interval)

    def _create_session(self, station: str, websocket: ServerConnection) -> StationSession:
        return StationSession201(station, websocket, self.journal, self.behaviour)


async def serve_forever(
    host: str,
    port: int,
    *,
    tokens: Collection[str] | None = None,
    ssl: ssl_module.SSLContext | None = None,
    ocpp_version: Literal["2.0.1", "1.6"] = "2.0.1",
) -> None:
    """Run the development CSMS for humans until cancelled (Ctrl-C in ``evse dev-csms``)."""
    if not logging.getLogger().handlers:
        # The message log is the point of running this by hand; without a handler configured by
        # the caller, Python would print only warnings.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    csms: CsmsServer[Any]
    if ocpp_version == "1.6":
        csms = DevCsms16(tokens=tokens)
    else:
        csms = DevCsms(tokens=tokens)
        # An ISO 15118 EV's needs get a planned TxProfile back (K15), so the demo shows a schedule reach the EV.
        EvSchedulePlanner(csms)
    await csms.start(host, port, ssl=ssl)
    _log.info("csms accepting idTokens: %s", ", ".join(sorted(csms.tokens)))
    try:
        await asyncio.Future()
    finally:
        await csms.stop()
