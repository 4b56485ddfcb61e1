"""M06: OCSP answers kept in the station database (a real SQLite file) survive a restart until their
nextUpdate; a stale one is not taken back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from drivers.interfaces import OcspRequestData
from evse.clock import SystemClock
from evse.devcsms.pnc import PlugAndChargeCsms
from evse.ocpp.v201.wire.tokens import request_data
from evse.station.core.contract_auth import OcspStatus
from evse.station.shell.ocsp_cache import OcspCache
from evse.station.shell.wire_tokens import OcspAnswer
from evse.storage import open_database
from tests.cert_factory import stand_in_request_data


def entry(serial: str) -> OcspRequestData:
    return stand_in_request_data(serial, "MO Sub-CA 2", "http://ocsp.example/")


async def test_answers_survive_a_restart_until_their_next_update(tmp_path: Path) -> None:
    clock = SystemClock()
    csms = PlugAndChargeCsms(clock)
    csms.revoked_serials.add("bad")
    asked: list[str] = []

    async def ask(asked_entry: OcspRequestData) -> OcspAnswer:
        asked.append(asked_entry.serial_number)
        payload = {"ocspRequestData": request_data(asked_entry).model_dump(exclude_none=True)}
        answer = csms.certificate_status(payload)
        return OcspAnswer(answer.status, answer.ocsp_result)

    db = open_database(tmp_path)
    first = OcspCache(clock)
    first.attach(db)
    await first.refresh((entry("900d"), entry("bad")), ask)
    csms.ocsp_validity = timedelta(seconds=-1)
    await first.refresh((entry("57a1e"),), ask)  # already stale: not kept
    db.close()

    db = open_database(tmp_path)  # the restart
    second = OcspCache(clock)
    second.attach(db)
    good, revoked = second.lookup(entry("900d")), second.lookup(entry("bad"))
    assert good is not None and good.status is OcspStatus.GOOD
    assert revoked is not None and revoked.status is OcspStatus.REVOKED
    assert second.lookup(entry("57a1e")) is None
    await second.refresh((entry("900d"), entry("bad")), ask)
    assert asked == ["900d", "bad", "57a1e"]  # nothing asked again after the restart
    db.close()
