"""Kill test: SIGKILL the daemon at random moments of charging sessions, CSMS online and offline.

Each round starts `evse run` as a real process, drives a session through the control socket (plug,
swipe, charge), and kills the process with SIGKILL after a random delay; the CSMS is taken down at
random too. After the last round the daemon runs once more until its outbox is empty. Then the CSMS's
record is checked: for every transaction, seqNo 0..n all arrived (no gap), a repeated seqNo is
byte-identical to its first copy, there is exactly one Started and one Ended, and the energy register
never decreases.

    python -m hil.kill_soak --rounds 200      # `make soak`
    python -m hil.kill_soak --ocpp 1.6        # the same against a 1.6J CSMS

Under OCPP 1.6 the check is the 1.6 one: every transaction the CSMS handed an id out for has exactly one
StartTransaction and one StopTransaction, meterStop >= meterStart, and nothing names an id it never gave
(a StartTransaction sent twice would show as a second transaction that never stops).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evse import control
from evse.devcsms.frames import Direction, MessageType
from evse.devcsms.server import DevCsms
from evse.devcsms.server16 import DevCsms16
from evse.errors import ControlError

STATION = "KILL01"
PASSWORD = "kill-test-password-01"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SoakResult:
    rounds: int
    kills: int
    transactions: int = 0
    events: int = 0
    resends: int = 0
    problems: list[str] = field(default_factory=list)
    #: 1.6: transactionIds the CSMS gave a StartTransaction resent byte for byte (see check16).
    resent_starts: list[int] = field(default_factory=list)


def write_config(state: Path, port: int, ocpp_version: str = "2.0.1") -> Path:
    path = state / "kill.yaml"
    csms = {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD}
    path.write_text(
        yaml.safe_dump(
            {
                "station": {"id": STATION, "vendor": "Kill", "model": "Kill"},
                "csms": {**csms, "ocpp_version": ocpp_version},
                "evses": [{"id": 1, "connectors": [{"id": 1}]}, {"id": 2, "connectors": [{"id": 1}]}],
                "state_dir": str(state / "state"),
                "log_level": "WARNING",
                "device_model": {
                    "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                    "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
                    "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0,
                    "SampledDataCtrlr.TxUpdatedInterval": 1,
                    "TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"],
                    "TxCtrlr.TxStopPoint": ["EVConnected", "Authorized"],
                    # Cards are accepted offline too, so rounds with the CSMS down start transactions
                    # (under 1.6 those are the offline starts whose StartTransaction waits for the link).
                    "AuthCtrlr.OfflineTxForUnknownIdEnabled": True,
                    "TxCtrlr.TxBeforeAcceptedEnabled": True,  # a round may end before the boot is accepted
                },
            }
        )
    )
    return path


async def _ask(sock: Path, **request: Any) -> None:
    with contextlib.suppress(ControlError):  # the daemon may be gone or not up yet: that is the test
        await asyncio.to_thread(control.request, sock, request, 2.0)


async def _drive(sock: Path, rng: random.Random, card_with_plug: bool = False) -> None:
    """A plausible stream of driver actions on both EVSEs until cancelled by the kill. `card_with_plug`: the
    driver presents the card right after plugging in (1.6 starts a transaction only on both)."""
    while True:
        evse = rng.choice([1, 2])
        step = rng.choice(["plug", "swipe", "charge", "pause", "unplug", "wait"])
        if step == "plug":
            await _ask(sock, cmd="sim.plug", evse=evse)
            if card_with_plug:
                await _ask(sock, cmd="sim.swipe", evse=evse, id_token="AABBCCDD")
        elif step == "swipe":
            await _ask(sock, cmd="sim.swipe", evse=evse, id_token=rng.choice(["AABBCCDD", "04A2B3C4D5E6F7"]))
        elif step == "charge":
            await _ask(sock, cmd="sim.ev-state", evse=evse, state="C")
        elif step == "pause":
            await _ask(sock, cmd="sim.ev-state", evse=evse, state="B")
        elif step == "unplug":
            await _ask(sock, cmd="sim.unplug", evse=evse)
        await asyncio.sleep(rng.uniform(0.05, 0.5))


async def _start(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evse", "run", "--config", str(config),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def run_kill_soak(
    rounds: int, *, seed: int = 1, workdir: Path | None = None, ocpp_version: str = "2.0.1"
) -> SoakResult:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = workdir or Path(tmp)
        csms: DevCsms | DevCsms16 = (
            DevCsms16(basic_auth={STATION: PASSWORD})
            if ocpp_version == "1.6"
            else DevCsms(basic_auth={STATION: PASSWORD})
        )
        port = await csms.start()
        config = write_config(base, port, ocpp_version)
        sock = base / "state" / "control.sock"
        online = True
        result = SoakResult(rounds=rounds, kills=0)
        for _ in range(rounds):
            if rng.random() < 0.3:  # flip the CSMS between online and offline
                if online:
                    await csms.stop()
                else:
                    await csms.start(port=port)
                online = not online
            proc = await _start(config)
            driver = asyncio.create_task(_drive(sock, rng, card_with_plug=ocpp_version == "1.6"))
            await asyncio.sleep(rng.uniform(0.3, 3.0))
            if proc.returncode is not None:
                result.problems.append(f"round {result.kills + 1}: the daemon exited by itself ({proc.returncode})")
            else:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
            result.kills += 1
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
        if not online:
            await csms.start(port=port)
        # A last, clean run delivers everything still queued (and ends what the last kill left open).
        proc = await _start(config)
        await _wait_drained(sock, proc)
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        await csms.stop()
        if isinstance(csms, DevCsms16):
            check16(csms, result)
        else:
            check(csms, result)
        return result


async def _wait_drained(sock: Path, proc: asyncio.subprocess.Process, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = await asyncio.to_thread(control.request, sock, {"cmd": "status"}, 2.0)
            if status["registration"] == "Accepted" and status["queued_messages"] == 0:
                return
        except ControlError:
            pass
        await asyncio.sleep(0.3)
    raise TimeoutError("the daemon did not empty its outbox after the last round")


def check(csms: DevCsms, result: SoakResult) -> None:
    """Every transaction complete, gapless, consistent; fills result.problems with what is not."""
    by_tx: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for frame in csms.log:
        received = frame.direction is Direction.RECEIVED and frame.message_type is MessageType.CALL
        if received and frame.action == "TransactionEvent":
            payload = frame.payload
            by_tx[payload["transactionInfo"]["transactionId"]][payload["seqNo"]].append(
                json.dumps(payload, sort_keys=True)
            )
    result.transactions = len(by_tx)
    for tx_id, by_seq in by_tx.items():
        seqs = sorted(by_seq)
        if seqs != list(range(len(seqs))):
            result.problems.append(f"{tx_id}: seqNo gap {seqs}")
        energy = -1.0
        types = []
        for seq in seqs:
            copies = by_seq[seq]
            result.events += 1
            result.resends += len(copies) - 1
            if len(set(copies)) != 1:
                result.problems.append(f"{tx_id} seqNo {seq}: a resend differs from the first send")
            payload = json.loads(copies[0])
            types.append(payload["eventType"])
            for meter_value in payload.get("meterValue", []):
                for sample in meter_value["sampledValue"]:
                    if sample.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register":
                        if sample["value"] < energy:
                            result.problems.append(f"{tx_id} seqNo {seq}: energy went down")
                        energy = max(energy, sample["value"])
        if types.count("Started") != 1 or types.count("Ended") != 1 or types[0] != "Started" or types[-1] != "Ended":
            result.problems.append(f"{tx_id}: events {types}")
    result.problems.extend(csms.failures)


def check16(csms: DevCsms16, result: SoakResult) -> None:
    """The 1.6 record: one StartTransaction and one StopTransaction per CSMS transactionId, meterStop >=
    meterStart, no id named that the CSMS never gave. A StartTransaction or StopTransaction received twice
    byte for byte is a resend (a SIGKILL between the CSMS's answer and the station's record of it; the
    payload's timestamp and meterStart make it recognisable, as seqNo does under 2.0.1) and counted as such:
    a resent start is the id nothing else ever names, its twin carries the transaction. Two that differ
    are a problem."""
    records = csms.transactions16
    starts: dict[str, list[int]] = defaultdict(list)
    for transaction_id, record in sorted(records.items()):
        starts[json.dumps(record.start, sort_keys=True)].append(transaction_id)
    resent = {
        transaction_id
        for ids in starts.values()
        for transaction_id in ids
        if len(ids) > 1 and not records[transaction_id].stops and not records[transaction_id].meter_values
    }
    result.transactions = len(records) - len(resent)
    result.resends += len(resent)
    result.resent_starts = sorted(resent)
    for transaction_id, record in records.items():
        if transaction_id in resent:
            continue
        result.events += 1 + len(record.stops) + len(record.meter_values)
        # Identical copies fold into one before the CSMS's own check (one stop, meter not backwards).
        distinct = list({json.dumps(stop, sort_keys=True): stop for stop in record.stops}.values())
        result.resends += len(record.stops) - len(distinct)
        result.problems.extend(dataclasses.replace(record, stops=distinct).problems())
    result.problems.extend(
        f"{action} for unknown transactionId {payload.get('transactionId')}"
        for who, action, payload in csms.behaviour.strays
        if who == STATION
    )
    result.problems.extend(csms.failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    parser.add_argument("--ocpp", choices=["2.0.1", "1.6"], default="2.0.1", help="the CSMS's OCPP version")
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(run_kill_soak(args.rounds, seed=args.seed, ocpp_version=args.ocpp))
    print(
        f"kill soak: {result.kills} SIGKILLs, {result.transactions} transactions, {result.events} distinct "
        f"TransactionEvents, {result.resends} identical resends, {len(result.problems)} problems, "
        f"{time.monotonic() - started:.0f} s"
    )
    if result.resent_starts:
        print("   StartTransactions resent (their ids are named by nothing else):", result.resent_starts)
    for problem in result.problems[:20]:
        print("  ", problem)
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
