"""The `evse` command: run, check-config, status, sim, certs, dev-csms, demo.

Errors a technician can cause (bad config, daemon not running, unknown EVSE) print one line on stderr
and exit non-zero: 2 for configuration errors, 1 for the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from evse import control
from evse.errors import ConfigError, EvseError

if TYPE_CHECKING:
    from evse.config import Settings
    from evse.devicemodel.model import DeviceModel

DEFAULT_CONFIG = Path("/etc/evse/evse.yaml")
DEFAULT_SOCKET = Path("/var/lib/evse/control.sock")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The websockets library logs every frame at DEBUG; ours says what matters.
    logging.getLogger("websockets").setLevel(logging.WARNING)


def load_settings(path: Path) -> Settings:
    # Imported on use: pydantic is the slowest import of the command, and `run` must install its
    # signal handlers before anything slow happens.
    from evse.config import load_settings as load

    return load(path)


def _socket_path(config: Path | None) -> Path:
    if config is None:
        return DEFAULT_SOCKET
    return load_settings(config).socket_path


class StopRequest:
    """SIGTERM/SIGINT received before the daemon's event loop runs: remembered, honoured once it runs.

    systemd may stop the unit while it is still importing and building; without a handler that early
    the default action kills the process mid-build (exit by signal, a traceback for SIGINT) instead of
    the orderly stop with exit 0 that every later SIGTERM gets.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, self._on_signal)
        # A parent that left these blocked would make the daemon unstoppable; one already pending is
        # delivered to the handler above right here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def cmd_run(args: argparse.Namespace) -> int:
    stop = StopRequest()
    stop.install()  # first: everything below can take a while on a small board
    from evse.daemon import Exit, build  # the daemon's imports are not needed by the other commands

    settings = load_settings(args.config)
    _setup_logging(args.log_level or settings.log_level)
    logging.getLogger(__name__).info("starting station=%s config=%s", settings.station.id, args.config)
    daemon = build(settings, override_origin=str(args.config), config_path=args.config.resolve())
    result = asyncio.run(daemon.run(stop_requested=lambda: stop.requested))
    if result is Exit.RESET:
        logging.getLogger(__name__).info("re-executing for reset")
        logging.shutdown()
        os.execv(sys.executable, [sys.executable, "-m", "evse", *sys.argv[1:]])
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from evse.config_check import check_config

    result = check_config(args.file)
    if result.settings is None:  # the first problem ends the check (one line, like main's ConfigError)
        raise ConfigError(result.errors[0])
    for line in result.errors:
        print(f"error: {line}", file=sys.stderr)
    if result.errors:
        return 2
    print("ok")
    return 0


def _check_device_model(settings: Settings, origin: Path) -> DeviceModel:
    from evse.config_check import check_device_model

    return check_device_model(settings, origin)


def cmd_status(args: argparse.Namespace) -> int:
    answer = control.request(_socket_path(args.config), {"cmd": "status"})
    answer.pop("ok", None)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"csms: {'connected' if answer['connected'] else 'offline'}, registration {answer['registration']}")
    print(f"queued messages: {answer['queued_messages']}")
    for evse in answer["evses"]:
        tx = evse["transaction_id"] or "-"
        faults = ",".join(evse["faults"]) or "-"
        offer = evse.get("offered_current_a")
        offered = f"{offer:g} A" if offer is not None else "none"
        print(
            f"evse {evse['id']}: {evse['status']:<11} pilot {evse['pilot']} {evse['charging_state']:<11} "
            f"tx {tx} power {evse['power_w']:.0f} W energy {evse['energy_wh']:.1f} Wh faults {faults} "
            f"offer {offered} (limited by {evse.get('limited_by') or '-'})"
        )
        if evse.get("display"):
            print(f"  screen | {' | '.join(line.rstrip() for line in evse['display'])} |")
    for limit in answer.get("external_limits", []):
        where = f"evse {limit['evse_id']}" if limit["evse_id"] else "station"
        caps = [f"{limit[key]:g} {unit}" for key, unit in (("amps", "A"), ("watts", "W")) if limit[key] is not None]
        critical = " (grid critical)" if limit["is_grid_critical"] else ""
        print(f"external limit {limit['source']} {where}: {' '.join(caps)}{critical}")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"cmd": f"sim.{args.sim_cmd}", "evse": args.evse}
    if args.sim_cmd == "ev-state":
        request["state"] = args.state
    elif args.sim_cmd == "swipe":
        request["id_token"] = args.id_token
        request["type"] = args.type
    elif args.sim_cmd == "meter":
        request["power"] = args.power
    elif args.sim_cmd in ("fault", "clear"):
        request["name"] = args.name
    elif args.sim_cmd == "input":
        request["name"] = args.name
        request["active"] = args.state == "on"
    elif args.sim_cmd == "iso15118" and args.stop:
        request["stop"] = True
    elif args.sim_cmd == "iso15118":
        request.update(emaid=args.emaid, energy_wh=args.energy_wh, departure_s=args.departure_s)
        if args.certificate is not None:
            try:
                request["certificate"] = args.certificate.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise SystemExit(f"evse sim iso15118: cannot read {args.certificate}: {exc}") from None
    answer = control.request(_socket_path(args.config), request)
    if args.sim_cmd == "status":
        print(json.dumps(answer["sim"], indent=2))
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    from evse import selftest  # builds the board's drivers: not needed by the other commands

    settings = load_settings(args.config)
    _setup_logging("ERROR")  # the result lines carry the details; the drivers' warnings would repeat them
    selftest.refuse_while_daemon_runs(settings)

    def report(result: selftest.CheckResult) -> None:
        print(result.line(), flush=True)

    def prompt(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results = asyncio.run(
        selftest.run_selftest(
            settings, card_timeout_s=args.card_timeout, no_card=args.no_card, report=report, prompt=prompt
        )
    )
    return selftest.exit_code(results)


def cmd_certs_list(args: argparse.Namespace) -> int:
    """Read-only: the files in state_dir, never the daemon's database, so it works while the daemon runs."""
    from datetime import UTC, datetime

    from evse.security.cert_listing import certificate_rows, listing_lines
    from evse.security.cert_store import CertificateStore

    store = CertificateStore(load_settings(args.config).state_dir)
    rows = certificate_rows(store, datetime.now(UTC))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(listing_lines(rows, store)))
    return 0


def cmd_certs_csr(args: argparse.Namespace) -> int:
    """Factory provisioning: a new station key in state_dir (0600, never printed) and its PEM CSR."""
    from evse.security.provisioning import factory_csr

    settings = load_settings(args.config)
    dm = _check_device_model(settings, args.config)
    csr = factory_csr(settings.state_dir, settings.station.id, dm.get_str("SecurityCtrlr", "OrganizationName"))
    if args.out is not None:
        args.out.write_text(csr)
        print(f"CSR for CN={settings.station.id} written to {args.out}", file=sys.stderr)
    else:
        print(csr, end="")
    return 0


def cmd_certs_install(args: argparse.Namespace) -> int:
    """Factory provisioning: install the chain signed for `evse certs csr` as the station certificate."""
    from datetime import UTC, datetime

    from evse.security.provisioning import install_signed, trusted_roots

    settings = load_settings(args.config)
    try:
        chain = args.chain.read_text()
    except OSError as exc:
        print(f"error: {args.chain}: {exc.strerror}", file=sys.stderr)
        return 2
    roots = trusted_roots(settings.csms.ca_file, settings.state_dir, args.ca)
    try:
        leaf = install_signed(settings.state_dir, chain, roots, datetime.now(UTC))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"station certificate installed: {leaf.subject.rfc4514_string()} expires {leaf.not_valid_after_utc:%Y-%m-%d}")
    return 0


def cmd_dev_csms(args: argparse.Namespace) -> int:
    from evse.devcsms.server import serve_forever

    _setup_logging("INFO")
    tokens = args.tokens.split(",") if args.tokens else None
    context = None
    port = args.port if args.port is not None else (9443 if args.tls else 9000)
    if args.tls:
        from evse.devcsms.tls import DevPki

        pki = DevPki(args.tls_dir.resolve())
        # A fresh CA each start: nothing to keep safe, and a station trusting an old one fails loudly.
        hosts = tuple(dict.fromkeys(("localhost", "127.0.0.1", args.host)))
        pki.create(hosts, station_ids=tuple(args.tls_station))
        context = pki.server_context()
        print(f"dev-csms TLS: csms.ca_file: {pki.ca_file}", file=sys.stderr)
        for station_id in args.tls_station:
            print(
                f"dev-csms TLS: profile 3 for {station_id}: csms.client_cert: {pki.station_cert(station_id)}"
                f" csms.client_key: {pki.station_key(station_id)}",
                file=sys.stderr,
            )
        sys.stderr.flush()
    try:
        asyncio.run(serve_forever(args.host, port, tokens=tokens, ssl=context, ocpp_version=args.ocpp))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from evse.demo import run_demo

    return run_demo(args.config, port=args.port)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evse", description="OCPP 2.0.1 charging-station daemon")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the station daemon in the foreground")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a configuration file, print ok")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_check_config)

    status = sub.add_parser("status", help="connection and EVSE state of the running daemon")
    status.add_argument("--config", type=Path)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    sim = sub.add_parser("sim", help="drive the simulated board of a running daemon")
    sim.add_argument("--config", type=Path)
    sim_sub = sim.add_subparsers(dest="sim_cmd", required=True)
    for name in ("plug", "unplug", "status"):
        sim_sub.add_parser(name).add_argument("evse", type=int)
    ev_state = sim_sub.add_parser("ev-state")
    ev_state.add_argument("evse", type=int)
    ev_state.add_argument("state", choices=list("ABCDEF"))
    swipe = sim_sub.add_parser("swipe")
    swipe.add_argument("evse", type=int)
    swipe.add_argument("id_token")
    swipe.add_argument("--type", default="ISO14443")
    meter = sim_sub.add_parser("meter")
    meter.add_argument("evse", type=int)
    meter.add_argument("--power", type=float, required=True, help="what the EV draws, W")
    for name in ("fault", "clear"):
        fault = sim_sub.add_parser(name)
        fault.add_argument("evse", type=int)
        fault.add_argument("name")
    digital_input = sim_sub.add_parser("input", help="open or close a named digital input (grid_limit ...)")
    digital_input.add_argument("name", help="the input's name, e.g. grid_limit, parking_bay, start_button")
    digital_input.add_argument("state", choices=["on", "off"], help="on: closed (active), off: open")
    digital_input.add_argument("--evse", type=int, default=1, help="the EVSE whose board has the input (default 1)")
    iso15118 = sim_sub.add_parser("iso15118", help="a Plug & Charge EV: plug in, ISO 15118 session, contract")
    iso15118.add_argument("evse", type=int)
    iso15118.add_argument("--emaid", help="the contract's eMAID (e.g. DE8EOCAET5E43X1)")
    iso15118.add_argument("--certificate", type=Path, metavar="FILE", help="the contract chain, PEM, leaf first")
    iso15118.add_argument("--energy-wh", type=int, metavar="N", help="energy the EV asks for, Wh")
    iso15118.add_argument("--departure-s", type=int, metavar="N", help="departure in N seconds")
    iso15118.add_argument("--stop", action="store_true", help="the EV ends its session (SessionStop Terminate)")
    for child in sim_sub.choices.values():
        child.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    sim.set_defaults(func=cmd_sim)

    selftest = sub.add_parser("selftest", help="bring-up self-test of a real board's devices (daemon stopped)")
    selftest.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    selftest.add_argument("--card-timeout", type=float, default=30.0, metavar="S", help="wait for a card (s)")
    selftest.add_argument("--no-card", action="store_true", help="skip the card check")
    selftest.set_defaults(func=cmd_selftest)

    certs = sub.add_parser("certs", help="certificates installed on the station")
    certs_sub = certs.add_subparsers(dest="certs_cmd", required=True)
    certs_list = certs_sub.add_parser("list", help="installed CA certificates: type, subject, expiry, hash data")
    certs_list.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    certs_list.add_argument("--json", action="store_true")
    certs_list.set_defaults(func=cmd_certs_list)
    certs_csr = certs_sub.add_parser(
        "csr", help="factory provisioning: make the station key and print its CSR (before the daemon runs)"
    )
    certs_csr.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    certs_csr.add_argument("--out", type=Path, help="write the CSR to this file instead of stdout")
    certs_csr.set_defaults(func=cmd_certs_csr)
    certs_install = certs_sub.add_parser(
        "install", help="factory provisioning: install the chain signed for `evse certs csr` as the station certificate"
    )
    certs_install.add_argument("chain", type=Path, help="PEM chain, leaf first")
    certs_install.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    certs_install.add_argument("--ca", type=Path, help="the CA the chain leads to (default: the CSMS roots)")
    certs_install.set_defaults(func=cmd_certs_install)

    csms = sub.add_parser("dev-csms", help="run the bundled development CSMS")
    csms.add_argument("--host", default="127.0.0.1")
    csms.add_argument("--port", type=int, help="default 9000, 9443 with --tls")
    csms.add_argument("--tokens", help="comma-separated idTokens to accept (default: demo tokens)")
    csms.add_argument(
        "--ocpp", choices=["2.0.1", "1.6"], default="2.0.1", help="OCPP version to speak (1.6: OCPP 1.6J)"
    )
    csms.add_argument("--tls", action="store_true", help="serve wss:// with a CA and certificates made at start")
    csms.add_argument("--tls-dir", type=Path, default=Path("state/dev-csms-tls"), help="where they are written")
    csms.add_argument(
        "--tls-station",
        action="append",
        default=["CS001"],
        metavar="ID",
        help="also issue a profile 3 client certificate for this station id (default CS001; repeatable)",
    )
    csms.set_defaults(func=cmd_dev_csms)

    demo = sub.add_parser("demo", help="dev CSMS + station on the simulated board + one charging session")
    demo.add_argument("--config", type=Path, default=Path("config/sim.yaml"))
    demo.add_argument("--port", type=int, default=9000)
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EvseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
