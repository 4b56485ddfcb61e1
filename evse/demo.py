"""`evse demo` (what `make run` starts): the dev CSMS and the station as real processes, one session.

It drives the simulated board through the same control socket a technician uses, so the demo is an
end-to-end run of the shipped commands, then keeps both processes running until Ctrl-C.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evse import control
from evse.config import Settings, load_settings
from evse.errors import ControlError

DEMO_TOKEN = "AABBCCDD"


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except ControlError:
            pass
        time.sleep(0.2)
    raise ControlError(f"demo: timed out waiting for {what}")


def _say(text: str) -> None:
    print(f"\n=== demo: {text}", file=sys.stderr, flush=True)


def _screen(evse: dict[str, Any]) -> str:
    return " | ".join(line.rstrip() for line in evse.get("display") or [] if line.strip())


def _web_page(settings: Settings) -> str | None:
    """Where the technician's page is and how to log in, when the configuration enables it."""
    web = settings.web
    if not web.enabled or web.password is None:
        return None
    scheme, host = ("https" if web.tls else "http"), f"[{web.host}]" if ":" in web.host else web.host
    # The demo's own dev password (config/sim.yaml), printed so a newcomer can log in and play.
    return f"technician's web page: {scheme}://{host}:{web.port}/ password {web.password.get_secret_value()}"


def run_demo(config: Path, *, port: int) -> int:
    settings = load_settings(config)
    sock = settings.socket_path
    exe = [sys.executable, "-m", "evse"]
    children = [
        subprocess.Popen([*exe, "dev-csms", "--port", str(port), "--ocpp", settings.csms.ocpp_version]),
    ]
    time.sleep(1.0)
    children.append(subprocess.Popen([*exe, "run", "--config", str(config)]))

    def ask(cmd: str, **kw: Any) -> dict[str, Any]:
        return control.request(sock, {"cmd": cmd, **kw})

    def evse1() -> dict[str, Any]:
        evses: list[dict[str, Any]] = ask("status")["evses"]
        return evses[0]

    try:
        _wait_for(lambda: ask("status")["registration"] == "Accepted", 30, "the boot to be accepted")
        page = _web_page(settings)
        if page:
            _say(f"{page} (plug, swipe and charge from the browser too)")
        _say(f"station booted and accepted (OCPP {settings.csms.ocpp_version}); plugging an EV into EVSE 1")
        ask("sim.plug", evse=1)
        time.sleep(1.5)
        _say(f"driver swipes card {DEMO_TOKEN}")
        ask("sim.swipe", evse=1, id_token=DEMO_TOKEN)
        # Authorized: the pilot offers current and waits for the EV (SuspendedEV) before any power flows.
        _wait_for(lambda: evse1()["charging_state"] == "SuspendedEV", 10, "the card to be authorized")
        _say("EV asks for energy (pilot C), charging for 8 s")
        ask("sim.ev-state", evse=1, state="C")
        for _ in range(4):
            time.sleep(2)
            e = evse1()
            _say(f"charging: {e['charging_state']} power {e['power_w']:.0f} W energy {e['energy_wh']:.1f} Wh")
            _say(f"the driver's screen: {_screen(e)}")
        _say("EV is full (pilot B), driver unplugs")
        ask("sim.ev-state", evse=1, state="B")
        time.sleep(1)
        ask("sim.unplug", evse=1)
        _wait_for(lambda: evse1()["transaction_id"] is None, 10, "the transaction to end")
        time.sleep(1.5)  # the screen redraws once a second
        _say(f"the driver's screen: {_screen(evse1())}")
        _say(
            "session over; station and CSMS keep running. Try `evse status --config "
            f"{config}` or `evse sim plug 1 --config {config}`; Ctrl-C stops both"
        )
        if page:
            _say(page)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
