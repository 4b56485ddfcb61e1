"""`make hil`, Plug & Charge part: one Plug & Charge session through the emulated SECC module, over the CAN
bridge (python-can virtual bus) and over the serial bridge (a raw pty), each against the dev CSMS.

The rig and the station are those of :mod:`hil.run_hil` (real drivers, emulated meter, safety MCU and GPIO);
only the authorization differs: no card, the EV's contract. Each step prints one line; the first failing
step prints why and the run exits 1.

    python -m hil.run_pnc [--transport can|serial|both] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from drivers.interfaces import HashAlgorithm, Iso15118StopReason, OcspRequestData
from evse.config import load_settings
from evse.daemon import Exit, build
from evse.devcsms.server import DevCsms
from hil.rig import EmulatedBoard
from hil.run_hil import PASSWORD, STATION, HilResult, HilStep, Session, StepFailed, _event, until, write_config

EMAID = "DE8EOCAET5E43X1"  # a contract the dev CSMS knows
EVCC_ID = "0A1B2C3D4E5F"
Transport = Literal["can", "serial"]


def _chain() -> tuple[OcspRequestData, ...]:
    def entry(issuer: bytes, serial: str) -> OcspRequestData:
        return OcspRequestData(
            HashAlgorithm.SHA256,
            hashlib.sha256(b"CN=" + issuer).hexdigest(),
            hashlib.sha256(issuer + b" key").hexdigest(),
            serial,
            "http://ocsp.mo.example/",
        )

    return entry(b"MO Sub-CA 2", "2f9a4c"), entry(b"MO Sub-CA 1", "5157")


class PncSession(Session):
    """The Plug & Charge steps; the shared ones (boot, plug, charging, contactor) come from the card session."""

    async def contract(self) -> str:
        secc = self.rig.secc
        await secc.start_session(EVCC_ID)
        await secc.present_contract(EMAID, _chain())
        request = await self.expect("Authorize", f"Authorize for {EMAID}", lambda p: p["idToken"]["type"] == "eMAID")
        hashes = request.get("iso15118CertificateHashData", [])
        if request["idToken"]["idToken"] != EMAID or len(hashes) != 2:
            raise StepFailed(f"Authorize carries {request['idToken']} with {len(hashes)} hash entries")
        asked = len(self.csms.received("GetCertificateStatus", station=STATION))
        return f"Authorize eMAID {EMAID} with 2 hash entries, after {asked} GetCertificateStatus (OCSP)"

    async def authorization(self) -> str:
        secc = self.rig.secc
        try:
            await secc.wait_until(lambda: bool(secc.authorizations), timeout=10)
        except TimeoutError:
            raise StepFailed("no AUTHORIZATION reached the module") from None
        if not secc.authorizations[-1].accepted:
            raise StepFailed("the module was told the contract is refused")
        return f"AUTHORIZATION(session {secc.authorizations[-1].session_id}, accepted) at the module"

    async def started(self) -> str:
        event = await self.expect("TransactionEvent", "TransactionEvent Started", _event("Started"))
        if event.get("idToken") != {"idToken": EMAID, "type": "eMAID"}:
            raise StepFailed(f"Started carries idToken {event.get('idToken')}, expected the eMAID")
        self.tx_id = event["transactionInfo"]["transactionId"]
        return f"TransactionEvent Started tx {self.tx_id[:8]} with idToken {EMAID} (eMAID)"

    async def ev_stops(self) -> str:
        await self.rig.secc.stop_session(Iso15118StopReason.STOPPED_BY_EV)
        self.rig.unplug()
        event = await self.expect("TransactionEvent", "TransactionEvent Ended", _event("Ended"))
        if event["transactionInfo"]["transactionId"] != self.tx_id:
            raise StepFailed("Ended names another transaction")
        return f"TransactionEvent Ended, stoppedReason {event['transactionInfo'].get('stoppedReason')}"

    async def contactor_open_after_unplug(self) -> str:
        await until(lambda: not self.rig.coil_energized, "the contactor coil output low")
        return "coil low"


async def run_pnc(workdir: Path, transport: Transport, out: Callable[[str], None] = print) -> HilResult:
    """One Plug & Charge session on ``transport``; prints each step and returns the result."""
    result = HilResult()
    async with (
        DevCsms(basic_auth={STATION: PASSWORD}) as csms,
        EmulatedBoard(iso15118_transport=transport) as rig,
    ):
        settings = load_settings(write_config(workdir, rig, csms.port))
        daemon = build(settings, pin_factory=rig.pin_factory)
        task: asyncio.Task[Exit] = asyncio.create_task(daemon.run())
        session = PncSession(csms, rig, daemon)
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("station boots against the dev CSMS", session.boot),
            ("EV plugged (CP A->B, 32 A cable)", session.plug),
            (f"EV opens its ISO 15118 session and offers contract {EMAID} ({transport})", session.contract),
            ("the module gets the authorization", session.authorization),
            ("EV asks for energy (CP B->C)", session.ev_charging),
            ("contactor closes", session.contactor_closed),
            ("transaction starts with the eMAID", session.started),
            ("EV ends its session and is unplugged", session.ev_stops),
            ("contactor opens", session.contactor_open_after_unplug),
            ("CSMS record", session.record),
        ]
        try:
            for number, (title, run) in enumerate(steps, start=1):
                try:
                    step = HilStep(number, title, True, await run())
                except StepFailed as exc:
                    step = HilStep(number, title, False, str(exc))
                result.steps.append(step)
                out(step.line().replace("HIL step", f"HIL PnC {transport} step"))
                if not step.ok:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            result.transaction_events = csms.received("TransactionEvent", station=STATION)
            result.csms_failures = list(csms.failures)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hil.run_pnc", description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["can", "serial", "both"], default="both")
    parser.add_argument("--verbose", action="store_true", help="the daemon's and drivers' INFO log on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    transports: list[Transport] = ["can", "serial"] if args.transport == "both" else [args.transport]
    failed: list[str] = []
    for transport in transports:
        workdir = Path(tempfile.mkdtemp(prefix="evse-hil-pnc-"))
        try:
            result: Any = asyncio.run(run_pnc(workdir, transport))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not result.ok:
            failed.append(transport)
    if failed:
        print(f"HIL PnC FAILED over {', '.join(failed)}")
        return 1
    print(f"HIL PnC passed over {' and '.join(transports)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
