"""`evse sim iso15118` as a `make run` user types it: the CLI reads the certificate file and drives the
simulated Plug & Charge EV of a daemon running as its own process, against the dev CSMS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from evse.devcsms.server import DevCsms
from tests.cert_factory import make_certificate
from tests.integration.test_cli import csms, evse, start_daemon, stop_daemon, write_config

__all__ = ["csms"]

EMAID = "DE8EOCAET5E43X1"


async def test_evse_sim_iso15118_charges_by_contract(tmp_path: Path, csms: DevCsms) -> None:
    root = make_certificate("MO Root")
    leaf = make_certificate(EMAID, ca=False, issuer=root)
    chain = tmp_path / "contract.pem"
    chain.write_text(leaf.pem + root.pem)
    config = write_config(tmp_path, csms.port)
    proc = await start_daemon(config)
    try:
        await csms.wait_for("StatusNotification", timeout=20)
        c = str(config)
        args = ("sim", "iso15118", "1", "--emaid", EMAID, "--certificate", str(chain), "--energy-wh", "20000")
        result = await asyncio.to_thread(evse, *args, "--departure-s", "3600", "--config", c)
        assert result.returncode == 0, result.stderr
        request = await csms.wait_for("Authorize", timeout=10)
        assert request["idToken"] == {"idToken": EMAID, "type": "eMAID"}
        # One entry: the leaf named by its issuer, the root in the file.
        assert request["iso15118CertificateHashData"][0]["serialNumber"] == format(leaf.certificate.serial_number, "x")
        started = await csms.wait_for("TransactionEvent", predicate=lambda p: "idToken" in p, timeout=10)
        assert started["idToken"]["type"] == "eMAID"
        status = json.loads((await asyncio.to_thread(evse, "sim", "status", "1", "--config", c)).stdout)
        assert status["iso15118"] == {"emaid": EMAID, "authorizations": [True]}
        missing = await asyncio.to_thread(
            evse, "sim", "iso15118", "1", "--certificate", "/nonexistent.pem", "--config", c
        )
        assert missing.returncode != 0 and "cannot read /nonexistent.pem" in missing.stderr
    finally:
        assert await stop_daemon(proc) == 0
