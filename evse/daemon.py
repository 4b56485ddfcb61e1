"""Wiring: builds every part from the settings and owns the one TaskGroup of long-lived tasks.

Exit paths: SIGTERM/SIGINT (stop, contactors open, exit 0), a Reset from the CSMS (same, then the CLI
re-executes the process so everything boots afresh), or an unexpected error in any task (contactors
open, the error is logged, exit non-zero so systemd restarts us). On every path, cancellation of
:meth:`Daemon.run` included, the EVSEs are made safe (contactor open, then the pilot offer withdrawn)
while the drivers still run: they live in a TaskGroup of their own that outlives the station's.

A disk that refuses writes is not such an error: it raises the station's storage fault (no charging) and
the daemon keeps running; a task a refused write still escaped from is restarted, not the process. A
state_dir that cannot be written at start-up gives a degraded boot (evse.storage.open_state), and once
the probe finds it writable the daemon leaves as for a Reset, to boot afresh on the real database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.interfaces import Driver, DriverEvent, EvseDrivers, InputChanged
from drivers.sim.board import SimBoard
from evse import sdnotify, security_wiring
from evse.board import board_devices, build_drivers, parse_board, uses_sim
from evse.clock import Clock, SystemClock, ocpp_timestamp
from evse.config import Settings
from evse.control import ControlServer
from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.devicemodel.monitor_store import MonitorStore
from evse.devicemodel.preconfigured_monitors import load_preconfigured, preconfigured_file
from evse.devicemodel.store import ValueSource
from evse.errors import StorageError
from evse.firmware import wiring as firmware_wiring
from evse.firmware.job_store import JobStore
from evse.firmware.updater import FirmwareUpdater
from evse.firmware.version import with_running_version
from evse.logs.station_logs import StationLogs, build_station_logs
from evse.ocpp import version_switch
from evse.ocpp.calls import CallSender
from evse.ocpp.connection import Backoff, CsmsConnection, Endpoint
from evse.ocpp.dialect import V16, V201
from evse.ocpp.network_profiles import YAML_SLOT, NetworkProfiles
from evse.ocpp.network_slots import NetworkSlots
from evse.ocpp.outbox import Outbox
from evse.ocpp.rpc import Router
from evse.ocpp.signing_requests import SigningRequests
from evse.ocpp.v16 import authorization_key
from evse.ocpp.v201.display import DisplayRecords201
from evse.ocpp.v201.handlers import (
    authorization,
    availability,
    customer_information,
    data_transfer,
    display,
    firmware,
    logs,
    monitoring,
    network,
    provisioning,
    reservation,
    smart_charging,
    transactions,
)
from evse.ocpp.v201.handlers import device_model as device_model_handlers
from evse.ocpp.v201.tokens import IdTokenInfoJson
from evse.ocpp.v201.wire import Wire201
from evse.security.client_certificate import ClientCertificateChoice
from evse.security.clock_adjustment import ReportingClock
from evse.security.events import InvalidMessages, SecurityEvents
from evse.security.security_log import SecurityLog
from evse.sim_commands import add_no_sim_commands, add_sim_commands
from evse.smartcharging.external_sources import ExternalSources
from evse.smartcharging.profile_store import ProfileStore
from evse.station.shell.auth_store import AuthStore
from evse.station.shell.authorizer import Authorizer
from evse.station.shell.customer_data import CustomerData
from evse.station.shell.display_messages import DisplayMessageStore
from evse.station.shell.driver_screen import DriverScreen
from evse.station.shell.journal import Journal
from evse.station.shell.meter_variables import register_meter_variables
from evse.station.shell.registration import Registrar
from evse.station.shell.reservations import Reservations
from evse.station.shell.station import Station
from evse.station.shell.storage_fault import StorageFault
from evse.station.shell.tx_journal import TxJournal
from evse.station.shell.v2g_certificates import V2gCertificates
from evse.station.shell.v2g_ocsp import V2gOcsp, V2gOcspTiming
from evse.station.shell.variable_monitors import MonitorSink, VariableMonitors
from evse.storage import StorageHealth, open_state, seal

if TYPE_CHECKING:
    from evse.ocpp.v16.security_upgrade import SecurityProfileUpgrade
    from evse.ocpp.v16.wiring import Adapter16
    from evse.security.station_certificate import StationCertificate
    from evse.web.server import WebPage

log = logging.getLogger(__name__)

#: The digital input (by its configured name) whose activation is TamperDetectionActivated (A04).
TAMPER_INPUT = "tamper"
DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "config" / "device_model"


class Exit(Enum):
    STOPPED = "stopped"
    RESET = "reset"


class _Stop(Exception):
    """Ends the TaskGroup on purpose; carries why."""

    def __init__(self, why: Exit) -> None:
        super().__init__(why.value)
        self.why = why


@dataclass
class Daemon:
    """Everything one station process holds; built by `build`, run by `run`."""

    settings: Settings
    dm: DeviceModel
    station: Station
    connection: CsmsConnection
    control: ControlServer
    board: SimBoard | None  # None on real hardware; on a mixed board, the one its sim devices share
    drivers: dict[int, EvseDrivers]
    extra: list[Driver]  # inputs and ISO 15118 bridges
    storage_fault: StorageFault
    security: SecurityEvents
    signing: SigningRequests
    logs: StationLogs | None = None  # the diagnostics log file and GetLog (N01)
    firmware: FirmwareUpdater | None = None
    # Long-lived tasks of the optional blocks (variable monitoring ...), run like the station's own.
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    external: ExternalSources | None = None  # EMS over Modbus TCP, the grid operator's input (K11-K13)
    web: WebPage | None = None  # the technician's page (web.enabled)
    _safe: bool = field(default=False, init=False)  # the EVSEs were made safe for this shutdown

    async def run(self, stop_requested: Callable[[], bool] = lambda: False) -> Exit:
        """Run until stopped or reset; `stop_requested` tells of a SIGTERM that came before the loop ran."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        why = Exit.STOPPED
        self._safe = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if stop_requested():  # checked after the loop's handlers took over, so no signal falls in between
            stop.set()
        log_file = contextlib.ExitStack()  # the diagnostics log file, written while the daemon runs
        if self.logs is not None:
            log_file.enter_context(self.logs.diagnostics_file)
        # A04: queued now, sent once the boot is Accepted (the outbox waits for it).
        reason = self.station.registrar.boot_reason
        self.security.report("StartupOfTheDevice", f"boot reason {reason}")
        try:
            # The drivers' group outlives the station's: whatever ends the station (stop, reset, a crashed
            # task, cancellation), the contactors open and the offers are withdrawn while the drivers can
            # still carry it out (a stopped safety-MCU driver has no link to send the withdrawal on).
            async with asyncio.TaskGroup() as hardware:
                crashed = _DriverCrash()
                driver_tasks = [
                    hardware.create_task(self._run_driver(driver, crashed))
                    for driver in [*(d for e in self.drivers.values() for d in e.all()), *self.extra]
                ]
                try:
                    async with asyncio.TaskGroup() as group:
                        # First, so a degraded boot's fault is raised before any driver event is handled.
                        group.create_task(self.storage_fault.run())
                        tasks: list[Callable[[], Coroutine[Any, Any, None]]] = [
                            self.connection.run,
                            self._control,
                            self._watchdog,
                            crashed.reraise,
                        ]
                        if self.logs is not None:
                            tasks.append(self.logs.retrieval.run)
                        if self.external is not None:
                            tasks.append(self.external.run)
                        if self.web is not None:
                            tasks.append(self.web.run)
                        for make in tasks:
                            group.create_task(make())
                        for make in (
                            self.station.run_sender,
                            self.station.metering.run_metering,
                            self.station.run_timers,
                            self.station.smart_charging.run,
                            self.station.load_balancer.run,
                            self.station.registrar.run_heartbeat,
                            self.signing.run,
                            *self.background,
                        ):
                            group.create_task(_survive_storage(make))
                        if self.firmware is not None:
                            group.create_task(_survive_storage(self.firmware.run))
                        group.create_task(self._until(stop, Exit.STOPPED))
                        group.create_task(self._until(self.station.reset_requested, Exit.RESET))
                        sdnotify.notify("READY=1", f"STATUS=station {self.settings.station.id} running")
                        log.info("daemon ready station=%s evses=%s", self.settings.station.id, len(self.drivers))
                except* _Stop as stopped:
                    why = next(e.why for e in stopped.exceptions if isinstance(e, _Stop))
                finally:
                    crashed.close()
                    await self._make_safe()
                    for task in driver_tasks:
                        task.cancel()
        finally:
            sdnotify.notify("STOPPING=1")
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            log_file.close()
        return why

    async def _run_driver(self, driver: Driver, crashed: _DriverCrash) -> None:
        try:
            await _survive_storage(functools.partial(driver.run, self._on_driver_event))
        except Exception as exc:
            # Raised in the station's group, not here: the other drivers keep running until the EVSEs are safe.
            crashed.report(driver, exc)

    def _on_driver_event(self, event: DriverEvent) -> None:
        if isinstance(event, InputChanged) and event.name == TAMPER_INPUT and event.active:
            # A04: an enclosure switch or tamper loop wired as a digital input named "tamper".
            self.security.report("TamperDetectionActivated", f"evse {event.evse_id}: tamper input active")
        if self.external is not None:
            self.external.on_driver_event(event)
        self.station.on_driver_event(event)

    async def _make_safe(self) -> None:
        """Contactors open, then offers withdrawn: once per shutdown, while the drivers still run.

        A second call (the shutdown's ``finally`` after a stop already did it) does nothing, so no step is
        retried on a link that is closing and nothing warns about it."""
        if not self._safe:
            await self.station.open_all()
            self._safe = True

    async def _until(self, event: asyncio.Event, why: Exit) -> None:
        await event.wait()
        # Before anything is torn down (a reset first delivers the queued messages).
        await self._make_safe()
        if why is Exit.RESET:
            # Queued before the flush, so it usually leaves before the restart; if not, it is in the outbox.
            self.security.report("ResetOrReboot", f"reset reason {self.station.reset_reason}")
            log.info("reset: delivering queued messages, then restarting")
            await self.station.flush(timeout=5.0)
            await self.connection.disconnect()
        raise _Stop(why)

    async def _control(self) -> None:
        try:
            await self.control.run()
        except OSError as exc:
            # The socket lives in state_dir by default: a read-only card must not stop charging control.
            log.error("control socket unavailable, running without it: %s", exc)

    async def _watchdog(self) -> None:
        interval = sdnotify.watchdog_interval()
        if interval is None:
            return
        while True:
            sdnotify.notify("WATCHDOG=1")
            await asyncio.sleep(interval)


async def _survive_storage(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a long-lived task; one that a refused write escaped from is restarted (the storage fault is
    raised by then), because a process exit would only become a systemd restart loop on a full disk."""
    while True:
        try:
            await make()
            return
        except StorageError as exc:
            log.error(
                "task %s stopped by a storage failure, restarting it: %s", getattr(make, "__qualname__", make), exc
            )
            await asyncio.sleep(1.0)


class _DriverCrash:
    """Carries a driver's unexpected exception from the drivers' group into the station's group."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._error: Exception | None = None
        self._closed = False

    def report(self, driver: Driver, error: Exception) -> None:
        if self._closed:  # the station's group is gone (shutting down): nobody would re-raise it
            log.error("driver=%s crashed during shutdown", getattr(driver, "name", driver), exc_info=error)
        elif self._error is None:
            self._error = error
            self._event.set()

    def close(self) -> None:
        """The station's group has ended: a later crash is logged instead."""
        self._closed = True

    async def reraise(self) -> None:
        await self._event.wait()
        assert self._error is not None
        raise self._error


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    definitions_dir: Path = DEFINITIONS_DIR,
    override_origin: str | None = None,
    pin_factory: Any = None,
    config_path: Path | None = None,
) -> Daemon:
    """Construct every part; raises ConfigError/StorageError before anything runs.

    `config_path` is the file the settings came from: the web page shows and replaces it."""
    clock = clock or SystemClock()
    settings = with_running_version(settings)  # BootNotification reports what the installed image wrote
    csms = settings.csms
    if csms.ca_file or csms.client_cert or csms.client_key:
        # X.509 parsing (cryptography, ~11 MiB resident) only for a station that has TLS files.
        from evse.security.tls_files import check_tls_at_start

        check_tls_at_start(settings, clock.now(), override_origin or "configuration")
    health = StorageHealth(settings.state_dir)
    db = open_state(settings.state_dir, health)
    journal = Journal(db)
    tx_journal = TxJournal(db)
    outbox = Outbox(db, max_messages=settings.outbox_max_messages)
    dm = DeviceModel.open(
        definitions_dir,
        settings.layout,
        db,
        overrides=settings.device_model,
        identity=settings,
        override_origin=override_origin,
    )
    profiles = NetworkProfiles(db)
    # The version and CSMS of this run: the first slot of NetworkConfigurationPriority (a CSMS-set profile
    # may name OCPP 1.6), else the YAML's; a change waits until the old CSMS has all of its transactions.
    preferred = version_switch.preferred_endpoint(
        dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority"), profiles
    )
    if preferred is not None and preferred[0] == settings.csms.ocpp_version:
        preferred = None  # within one version the slots choose the CSMS at each connection (B10), not the run
    version_plan = version_switch.plan(settings, journal, outbox, tx_journal, preferred)
    settings = version_plan.settings
    dm.register_live_value("ClockCtrlr", "DateTime", lambda: ocpp_timestamp(clock.now()))
    board: SimBoard | None = None
    extra: list[Driver] = []
    evse_ids = [e.id for e in settings.evses]
    sim_meters = settings.state_dir / "sim-meters.json"
    if settings.board == "sim":
        board = SimBoard(evse_ids, clock=clock.monotonic, register_file=sim_meters)
        drivers = {e.id: board.drivers(e.id) for e in settings.evses}
    else:
        boards = parse_board(settings.board, evse_ids)
        if uses_sim(boards):  # a mixed board: its sim devices share one SimBoard, driven by `evse sim`
            board = SimBoard(evse_ids, clock=clock.monotonic, register_file=sim_meters, devices=board_devices(boards))
        built = build_drivers(boards, pin_factory=pin_factory, sim_board=board)
        drivers, extra = built.evses, built.extra

    router = Router()
    holder: dict[str, Station] = {}
    ocpp16 = settings.csms.ocpp_version == "1.6"

    network_slots = NetworkSlots(profiles, dm, int(csms.security_profile), settings.csms.ocpp_version)
    made: list[StationCertificate] = []
    upgrade16: SecurityProfileUpgrade | None = None
    if ocpp16:
        from evse.ocpp.v16.security_upgrade import SecurityProfileUpgrade

        upgrade16 = SecurityProfileUpgrade(dm)

    def own_certificate() -> StationCertificate:
        """The station's own certificate (A02), made on first use: it needs X.509 (cryptography)."""
        if not made:
            from evse.security.keys import FileKeyStore
            from evse.security.station_certificate import StationCertificate

            made.append(StationCertificate(settings.state_dir, FileKeyStore(settings.state_dir)))
        return made[0]

    client_certificate = ClientCertificateChoice(
        own_certificate, (settings.csms.client_cert, settings.csms.client_key), clock.now
    )

    def installed_roots() -> Path:
        return security_wiring.installed_csms_roots(settings.state_dir)

    def endpoint() -> Endpoint:
        csms = settings.csms
        text = dm.basic_auth_password() or (
            csms.basic_auth_password.get_secret_value() if csms.basic_auth_password else None
        )
        password: str | bytes | None = text
        if ocpp16 and text is not None:  # a hex AuthorizationKey stands for its bytes (whitepaper A01)
            password = authorization_key.basic_auth_password(text)
        url, security_profile = csms.url, int(csms.security_profile)
        slot, stored = network_slots.choose(connection.failures)
        if stored is not None:
            url, security_profile = stored.ocppCsmsUrl, stored.securityProfile
        if upgrade16 is not None:  # 1.6 raises the profile of its one URL (whitepaper A05)
            url, security_profile = upgrade16.endpoint(url, security_profile)
            network_slots.attempting = (slot or YAML_SLOT, security_profile)
        client_cert, client_key = csms.client_cert, csms.client_key
        if security_profile == 3:  # A02: the certificate the CSMS signed, or the one to fall back to
            failure = connection.last_tls_failure
            client_cert, client_key = client_certificate.files(failure.failure if failure else None)
        else:
            client_certificate.not_used()
        return Endpoint(
            url=url,
            identity=settings.station.id,
            security_profile=security_profile,
            password=password,
            ca_file=str(csms.ca_file) if csms.ca_file else None,
            client_cert=str(client_cert) if client_cert else None,
            client_key=str(client_key) if client_key else None,
            extra_roots=str(security_wiring.installed_csms_roots(settings.state_dir))
            if security_profile >= 2
            else None,
            max_frame_bytes=csms.max_frame_bytes,
        )

    def backoff() -> Backoff:
        return Backoff(
            wait_minimum=dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
            random_range=dm.get_int("OCPPCommCtrlr", "RetryBackOffRandomRange"),
            repeat_times=dm.get_int("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
        )

    async def on_connected() -> None:
        security_wiring.report_connection_refusals(connection, security)
        if network_slots.connected():
            security.report("ReconfigurationOfSecurityParameters", f"security profile {network_slots.in_use} in use")
        if client_certificate.connected():
            security.report(
                "InvalidChargingStationCertificate",
                "the CSMS refused the new ChargingStationCertificate in the handshake: back to the previous one",
            )
        await holder["station"].on_connected()

    connection = CsmsConnection(
        endpoint,
        router,
        message_timeout=lambda: dm.get_int("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default"),
        backoff=backoff,
        ping_interval=lambda: dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval"),
        on_connected=on_connected,
        on_disconnected=lambda: holder["station"].on_disconnected(),
        on_invalid_message=lambda description: invalid_messages(description),
        dialect=V16 if ocpp16 else V201,
    )

    def set_heartbeat_interval(seconds: int) -> None:
        try:
            dm.set_station_value("OCPPCommCtrlr", "HeartbeatInterval", str(seconds))
        except StorageError as exc:
            # The boot must complete (statuses, the fault report) even when the disk refuses the value.
            log.warning("HeartbeatInterval %ss not stored, keeping the current one: %s", seconds, exc)

    sender: CallSender = connection
    adapter16: Adapter16 | None = None
    if ocpp16:  # the station's CALLs said in 1.6 (issue 13); everything below is the same station
        from evse.ocpp.v16 import wiring as wiring16

        adapter16 = wiring16.build_sender(
            connection, db, tx_journal, lambda evse_id: holder["station"].transaction_id_on(evse_id)
        )
        sender = adapter16.sender
    firmware_jobs = JobStore(db)  # its table is made before a degraded boot's stand-in is sealed
    security = SecurityEvents(
        SecurityLog(settings.state_dir / "security.log"),
        clock,
        send=lambda request: holder["station"].messages.enqueue(request),
    )
    invalid_messages = InvalidMessages(security, clock.monotonic)
    wire = Wire201(sender)  # the station's words in 2.0.1; under 1.6 the sender says them in 1.6
    registrar = Registrar(
        settings,
        wire,
        # The CSMS time arrives through the registrar: a jump past the threshold is SettingSystemTime.
        ReportingClock(clock, lambda: dm.get_int("ClockCtrlr", "TimeAdjustmentReportingThreshold"), security.report),
        boot_reason=journal.take_boot_reason(),
        heartbeat_interval=lambda: dm.get_int("OCPPCommCtrlr", "HeartbeatInterval"),
        set_heartbeat_interval=set_heartbeat_interval,
    )
    station = Station(
        settings,
        dm,
        drivers,
        sender,
        registrar,
        outbox,
        journal,
        tx_journal,
        clock,
        is_connected=lambda: connection.is_connected,
        authorizer=Authorizer(AuthStore(db, IdTokenInfoJson()), dm, clock),
        reservations=Reservations(db, dm, clock),
        profiles=ProfileStore(db),
        wire=wire,
    )
    holder["station"] = station
    station.pnc.ocsp.attach(db)  # M06: OCSP answers survive a restart (before a degraded boot seals the stand-in)
    # N02-N08: before a degraded boot seals the stand-in, so the monitors' table exists on it too.
    register_meter_variables(dm, station.evses)
    monitors = VariableMonitors(
        dm,
        MonitorStore(db),
        clock,
        MonitorSink(
            render=wire.notify_event,
            send=station.messages.enqueue,
            is_online=station.is_online,
            next_event_id=station.next_event_id,
            transaction_on=station.transaction_id_on,
        ),
        preconfigured=load_preconfigured(preconfigured_file(definitions_dir), dm, evse_ids),
    )
    station.hard_wired_monitor = monitors.hard_wired_id
    customer_data = CustomerData(AuthStore(db, IdTokenInfoJson()), station.tx_journal)  # N09/N10
    station.screen = DriverScreen(station, DisplayMessageStore(db, DisplayRecords201()))  # O01-O06, I01-I06
    station.storage_fault = StorageFault(health, station, db)
    if health.degraded_boot:
        # From here on the stand-in refuses writes: a transaction a power loss left open is ended (once,
        # durably) only after the restart on the real database, not from a copy that would be forgotten.
        seal(db)
    station.messages.recover()
    station.refresh_reservations()  # reservations survive a reboot (TC_B_24)

    def on_change(change: VariableChange) -> None:
        if change.address.variable.name == "HeartbeatInterval":
            registrar.interval_changed()
        if change.source is ValueSource.CSMS and change.address.component.name == "SecurityCtrlr":
            # Names the variable only: the value may be the BasicAuthPassword.
            security.report("ReconfigurationOfSecurityParameters", f"{change.address} set by the CSMS")

    dm.on_change(on_change)

    signing = security_wiring.signing_requests(settings, dm, clock, own_certificate, station)
    # Issue 12: certificates between the ISO 15118 modules and the CSMS (M01/M02, V2G certificate, roots).
    v2g = V2gCertificates(
        station_id=settings.station.id,
        dm=dm,
        evses=station.evses,
        wire=station.wire,
        spawn=station.spawn,
        state_dir=settings.state_dir,
        clock=clock,
    )
    station.iso15118_certificates = v2g.on_event
    v2g_ocsp = V2gOcsp(
        cache=station.pnc.ocsp,
        wire=station.wire,
        bridges=v2g.bridges,
        chain_entries=v2g.sub_ca_entries,
        is_online=station.is_online,
        clock=clock,
        timing=V2gOcspTiming(settings.v2g_ocsp.update_interval_s, settings.v2g_ocsp.retry_interval_s),
    )
    v2g.chain_changed = v2g_ocsp.chain_changed

    async def sign_station_certificate() -> None:
        signing.request()

    station_logs = build_station_logs(
        settings,
        dm,
        security.log,
        station.messages.enqueue,
        clock,
        lambda: security_wiring.installed_csms_roots(settings.state_dir),
    )
    station_logs.retrieval.recover()
    updater = firmware_wiring.build_updater(settings, firmware_jobs, station, security, clock)
    priority = dm.find(ComponentKey("OCPPCommCtrlr"), VariableKey("NetworkConfigurationPriority"))
    slots = list(priority.characteristics.values_list) if isinstance(priority, VariableDef) else [YAML_SLOT]
    csms_root, station_certificate = security_wiring.tls_readiness(settings, clock, own_certificate)
    dm.add_guard(
        "OCPPCommCtrlr", "NetworkConfigurationPriority", network_slots.priority_guard(csms_root, station_certificate)
    )
    if adapter16 is not None:
        from evse.ocpp.v16 import wiring as wiring16
        from evse.ocpp.v16.security_profile import security_profile_guard

        dm.add_guard(
            "SecurityCtrlr",
            "SecurityProfile",
            security_profile_guard(
                password_set=lambda: bool(dm.basic_auth_password() or settings.csms.basic_auth_password),
                csms_root=csms_root,
                station_certificate=station_certificate,
            ),
        )
        services16 = wiring16.Services16(
            updater,
            station_logs.retrieval,
            security,
            own_certificate,
            signing.signed,
            sign_station_certificate,
            v2g if v2g.bridges() else None,
        )
        wiring16.attach(
            router,
            station,
            adapter16,
            vendors=data_transfer.VendorRegistry(),
            reconnect=connection.reconnect,
            services=services16,
            security_upgrade=upgrade16,
        )
    else:
        logs.register(router, station_logs.retrieval)
        firmware.register(router, updater, security, allow_unsigned=settings.firmware.allow_unsigned)
        provisioning.register(
            router,
            station,
            sign_station_certificate=sign_station_certificate,
            sign_v2g_certificate=v2g.request_csrs if v2g.bridges() else None,
            log_status=station_logs.retrieval.triggered_status,
            firmware_status=updater.triggered,
        )
        availability.register(router, station)
        transactions.register(router, station)
        smart_charging.register(router, station)
        authorization.register(router, station.authorizer)
        if station.reservations is not None:
            reservation.register(router, station.reservations, station.evse_views, station.refresh_reservations)
        data_transfer.register(router, data_transfer.VendorRegistry())
        network.register(router, profiles, dm, offered_slots=lambda: slots)
        device_model_handlers.register(
            router,
            dm,
            connection,
            clock,
            after_set=security_wiring.reconnect_on_new_password(connection, network_slots),
        )
        monitoring.register(router, monitors, dm, connection, clock)
        customer_information.register(router, customer_data, connection, clock)
        display.register(router, station.screen, connection, set(evse_ids))
        security_wiring.register_certificates(
            router, settings, dm, clock, station, own_certificate, signing.signed, v2g if v2g.bridges() else None
        )

    control = ControlServer(settings.socket_path)
    control.add("status", lambda _request: _status(station))
    if board is not None:
        add_sim_commands(control, board)
    else:
        add_no_sim_commands(control)
    daemon = Daemon(
        settings,
        dm,
        station,
        connection,
        control,
        board,
        drivers,
        extra,
        station.storage_fault,
        security,
        signing,
        logs=station_logs,
        firmware=updater,
        background=[monitors.run, station.screen.run, v2g.start, v2g_ocsp.run, *_switch(version_plan, station)],
        external=ExternalSources(settings, station, dm),
    )
    if settings.web.enabled:
        from evse.web.server import WebPage  # the page's modules only on a station that serves it

        daemon.web = WebPage(daemon, config_path)
    return daemon


def _switch(
    version_plan: version_switch.VersionPlan, station: Station
) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    target = version_plan.switch_to
    if target is None:
        return []

    def has_work() -> bool:
        return len(station.outbox) > 0 or station.has_transaction()

    return [functools.partial(version_switch.switch_when_drained, has_work, station.reset_requested, target)]


async def _status(station: Station) -> dict[str, Any]:
    status = station.snapshot()
    status["external_limits"] = [dataclasses.asdict(limit) for limit in station.external_limits.in_force()]
    fault = station.storage_fault
    if fault is not None:
        status["storage"] = {
            "failure": fault.health.failure,
            "degraded_boot": fault.health.degraded_boot,
            "held_writes": station.messages.backlog,
        }
    return status
