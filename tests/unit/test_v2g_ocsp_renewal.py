"""M06 scheduling of the V2G Sub-CA OCSP responses (evse.station.shell.v2g_ocsp), on a clock the test moves:
renewed before nextUpdate, asked again after retry_interval_s when the CSMS fails, and withdrawn from the
module once a response it could not renew has run out. The responses are real ones signed by the dev CSMS's
responder; the module's side is a recording bridge (the bridge itself is tested in test_iso15118_ocsp.py)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from drivers.interfaces import OcspRequestData
from evse.devcsms.pnc import PlugAndChargeCsms
from evse.ocpp.v201.wire.tokens import request_data
from evse.station.shell.ocsp_cache import OcspCache
from evse.station.shell.v2g_ocsp import RENEW_MARGIN, V2gOcsp, V2gOcspTiming
from evse.station.shell.wire_tokens import OcspAnswer
from tests.cert_factory import stand_in_request_data


class MovingClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()


CHAIN = tuple(stand_in_request_data(serial, "CPO Sub-CA 1", "http://ocsp.cpo.example/") for serial in ("2a", "1a"))


class Csms:
    """GetCertificateStatus as the dev CSMS answers it, or Failed while `failing`."""

    def __init__(self, clock: MovingClock) -> None:
        self.responder = PlugAndChargeCsms(clock)
        self.failing = False
        self.asked: list[str] = []

    async def certificate_status(self, entry: OcspRequestData) -> OcspAnswer:
        self.asked.append(entry.serial_number)
        if self.failing:
            return OcspAnswer("Failed")
        payload = {"ocspRequestData": request_data(entry).model_dump(exclude_none=True)}
        return OcspAnswer("Accepted", self.responder.certificate_status(payload).ocsp_result)


class Module:
    def __init__(self) -> None:
        self.sets: list[tuple[bytes, ...]] = []

    async def set_v2g_ocsp_responses(self, responses: Sequence[bytes]) -> None:
        self.sets.append(tuple(responses))


def renewal(clock: MovingClock, csms: Csms, module: Module) -> V2gOcsp:
    return V2gOcsp(
        cache=OcspCache(clock),
        wire=csms,  # type: ignore[arg-type]  # only certificate_status is used
        bridges=lambda: {1: module},  # type: ignore[dict-item]
        chain_entries=lambda: {1: CHAIN},
        is_online=lambda: True,
        clock=clock,
        timing=V2gOcspTiming(update_interval_s=7 * 24 * 3600, retry_interval_s=3600),
    )


async def test_renewed_before_next_update_retried_after_a_failure_withdrawn_when_run_out() -> None:
    clock = MovingClock()
    csms, module = Csms(clock), Module()
    v2g = renewal(clock, csms, module)

    wait = await v2g.renew({1: CHAIN})
    assert csms.asked == ["2a", "1a"] and len(module.sets) == 1 and len(module.sets[0]) == 2
    assert wait == (timedelta(hours=1) - RENEW_MARGIN).total_seconds()  # the dev CSMS's responses last an hour

    clock.at += timedelta(minutes=10)
    assert await v2g.renew({1: CHAIN}) > 0 and csms.asked == ["2a", "1a"]  # nothing due: nothing asked

    clock.at += timedelta(minutes=46)  # within RENEW_MARGIN of nextUpdate
    csms.failing = True
    assert await v2g.renew({1: CHAIN}) == 4 * 60  # retry_interval_s (an hour), but the responses end in 4 min
    assert csms.asked[2:] == ["2a", "1a"] and len(module.sets) == 1  # the module keeps what is valid

    clock.at += timedelta(minutes=5)  # past nextUpdate, the CSMS still failing
    assert await v2g.renew({1: CHAIN}) == 3600  # nothing left to run out: retry_interval_s
    assert module.sets[-1] == ()  # withdrawn: a stale response must not be stapled

    csms.failing = False
    clock.at += timedelta(minutes=1)
    await v2g.renew({1: CHAIN})
    fresh = module.sets[-1]
    assert len(fresh) == 2 and fresh != module.sets[0]  # newly signed responses
    assert all(base64.b64encode(der) for der in fresh)
