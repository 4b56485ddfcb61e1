"""The development CSMS speaking OCPP 1.6J (``evse dev-csms --ocpp 1.6``, the ``csms16`` test fixture).

Same server, journal and scripting as the 2.0.1 ``DevCsms``; what differs is the subprotocol, the
library's 1.6 ChargePoint validating every frame against the official 1.6 schemas, the 1.6 answers,
and the record of the transactionIds this Central System hands out.
"""

from __future__ import annotations

import json
import string
from collections.abc import Collection, Mapping
from typing import Any

from ocpp.v16 import call
from websockets.asyncio.server import ServerConnection
from websockets.typing import Subprotocol

from evse.clock import Clock
from evse.devcsms.csms_server import CsmsServer
from evse.devcsms.responses import RegistrationStatus
from evse.devcsms.responses16 import CsmsBehaviour16, Transaction16
from evse.devcsms.session import StationSession
from evse.devcsms.session16 import StationSession16
from evse.ocpp.v16.pnc import VENDOR_ID as PNC_VENDOR_ID

OCPP16 = Subprotocol("ocpp1.6")


class DevCsms16(CsmsServer[CsmsBehaviour16]):
    """A programmable, observable OCPP 1.6J Central System for developers and integration tests.

    ``call`` takes ``ocpp.v16.call`` payloads; ``respond`` takes dicts or ``ocpp.v16.call_result``
    instances; ``transactions16`` is the record of every transaction it assigned an id to.
    """

    SUBPROTOCOL = OCPP16

    def _password_bytes(self, configured: str) -> bytes:
        """`basic_auth` holds what this Central System sent as AuthorizationKey: 32-40 hex digits are the
        spelling of a 16-20 byte password (1.6 security whitepaper), anything else a text password."""
        if len(configured) in range(32, 41, 2) and all(c in string.hexdigits for c in configured):
            return bytes.fromhex(configured)
        return configured.encode()

    def _create_behaviour(
        self, clock: Clock, tokens: Collection[str] | None, boot_status: RegistrationStatus, boot_interval: int
    ) -> CsmsBehaviour16:
        return CsmsBehaviour16.create(clock, tokens, boot_status, boot_interval)

    def _create_session(self, station: str, websocket: ServerConnection) -> StationSession:
        return StationSession16(station, websocket, self.journal, self.behaviour)

    async def call_pnc(self, station_id: str, action: str, payload: Mapping[str, Any]) -> tuple[str, Any]:
        """A 2.0.1 `action` request sent as the Plug & Charge whitepaper says (DataTransfer); returns the
        DataTransfer.conf status and its data parsed from JSON (None when there is none)."""
        data = json.dumps(payload, separators=(",", ":"))
        answer = await self.call(station_id, call.DataTransfer(vendor_id=PNC_VENDOR_ID, message_id=action, data=data))
        return str(answer.status), json.loads(answer.data) if answer.data else None

    @property
    def transactions16(self) -> dict[int, Transaction16]:
        """transactionId -> its StartTransaction, StopTransaction(s) and MeterValues, in id order."""
        return self.behaviour.transactions

    def assert_transactions_complete(self, station: str | None = None) -> None:
        """Fail unless every transaction has exactly one StopTransaction with meterStop >= meterStart
        and no StopTransaction/MeterValues named an id this Central System never handed out."""
        problems = [
            problem
            for record in self.transactions16.values()
            if station is None or record.station == station
            for problem in record.problems()
        ]
        problems += [
            f"{who}: {action} for unknown transactionId {payload.get('transactionId')}"
            for who, action, payload in self.behaviour.strays
            if station is None or who == station
        ]
        if problems:
            raise AssertionError("1.6 transactions:\n" + "\n".join(problems))
