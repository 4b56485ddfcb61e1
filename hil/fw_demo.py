"""`make fw-demo`: one signed firmware update end to end on the simulated board.

The dev CSMS, a loopback HTTP server holding the image, and `evse run` as a real process. The CSMS sends
UpdateFirmware with an image signed here by a throw-away manufacturer PKI (its root is the station's
factory_root); the station downloads, verifies, installs with the sim installer, re-executes itself, boots
with reason FirmwareUpdate and the new version, and reports Installed. Everything is checked; the exit
status says whether it all happened.

    python -m hil.fw_demo
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

import yaml

from evse.devcsms.server import DevCsms
from tests.firmware_kit import make_manufacturer, sim_image, update_firmware
from tests.http_server import LoopbackHttpServer

STATION = "FWDEMO01"
PASSWORD = "fw-demo-password-01"
ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"]


def write_config(base: Path, port: int, root: Path) -> Path:
    path = base / "fw-demo.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "station": {
                    "id": STATION,
                    "vendor": "Demo",
                    "model": "FwDemo",
                    "firmware_version": "1.0.0",
                    "firmware_version_file": str(base / "running-version"),
                },
                "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
                "evses": [{"id": 1, "connectors": [{"id": 1}]}],
                "state_dir": str(base / "state"),
                "log_level": "WARNING",
                "firmware": {"installer": "sim", "factory_root": str(root)},
            }
        )
    )
    return path


async def demo(base: Path) -> list[str]:
    """Run the update; returns the problems found (none when it all happened)."""
    maker = make_manufacturer("rsa")
    root = base / "manufacturer-root.pem"
    root.write_text(maker.root_pem)
    image = sim_image("2.0.0", 2 * 1024 * 1024)
    csms = DevCsms(basic_auth={STATION: PASSWORD})
    port = await csms.start()
    problems: list[str] = []
    with LoopbackHttpServer() as http:
        http.files["/firmware-2.0.0.img"] = image
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "evse", "run", "--config", str(write_config(base, port, root)), cwd=ROOT
        )
        try:
            boot = await csms.wait_for("BootNotification", timeout=30)
            print(f"boot: reason={boot['reason']} firmwareVersion={boot['chargingStation'].get('firmwareVersion')}")
            request = update_firmware(1, http.url("/firmware-2.0.0.img"), manufacturer=maker, image=image)
            started = time.monotonic()
            answer = await csms.call(STATION, request)
            print(f"UpdateFirmware requestId=1 ({len(image) // 1024} KiB, RSA/SHA-256) -> {answer.status}")
            seen: list[str] = []
            while not seen or seen[-1] != "Installed":
                status = await csms.wait_for("FirmwareStatusNotification", timeout=60)
                seen.append(status["status"])
                print(f"  {time.monotonic() - started:5.2f} s  FirmwareStatusNotification {status['status']}")
                if status["status"].endswith("Failed") or status["status"] == "InvalidSignature":
                    break
            boots = csms.received("BootNotification")
            after = boots[-1]
            print(f"boot: reason={after['reason']} firmwareVersion={after['chargingStation'].get('firmwareVersion')}")
            if seen != EXPECTED:
                problems.append(f"statuses {seen}, expected {EXPECTED}")
            if (after["reason"], after["chargingStation"].get("firmwareVersion")) != ("FirmwareUpdate", "2.0.0"):
                problems.append(f"the last boot was {after['reason']} with version {after['chargingStation']}")
            problems += csms.failures
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
            await csms.stop()
    return problems


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        problems = asyncio.run(demo(Path(tmp)))
    for problem in problems:
        print("PROBLEM:", problem)
    print("fw-demo:", "FAILED" if problems else "ok, signed image installed over the wire with a reboot in between")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
