"""Wiring: builds every part from the settings and owns the one TaskGroup of long-lived tasks.

Exit paths: SIGTERM/SIGINT (stop, contactors open, exit 0), a Reset from the CSMS (same, then the CLI
re-executes the process so everything boots afresh), or an unexpected error in any task (contactors
open, the error is logged, exit non-zero so systemd restarts us).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from drivers.interfaces import Driver, EvseDrivers
from drivers.sim.board import SimBoard
from evse import sdnotify
from evse.board import build_drivers, parse_board
from evse.clock import Clock, SystemClock, ocpp_timestamp
from evse.config import Settings
from evse.control import ControlServer
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.ocpp.connection import Backoff, CsmsConnection, Endpoint
from evse.ocpp.handlers import (
    authorization,
    availability,
    data_transfer,
    provisioning,
    reservation,
    transactions,
)
from evse.ocpp.handlers import device_model as device_model_handlers
from evse.ocpp.outbox import Outbox
from evse.ocpp.rpc import Router
from evse.sim_commands import add_sim_commands
from evse.station.auth_store import AuthStore
from evse.station.authorizer import Authorizer
from evse.station.core import Station
from evse.station.journal import Journal
from evse.station.registration import Registrar
from evse.station.reservations import Reservations
from evse.station.tx_journal import TxJournal
from evse.storage import open_database

log = logging.getLogger(__name__)

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
    board: SimBoard | None  # None on real hardware
    drivers: dict[int, EvseDrivers]
    extra: list[Driver]  # inputs and ISO 15118 bridges

    async def run(self, stop_requested: Callable[[], bool] = lambda: False) -> Exit:
        """Run until stopped or reset; `stop_requested` tells of a SIGTERM that came before the loop ran."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        why = Exit.STOPPED
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if stop_requested():  # checked after the loop's handlers took over, so no signal falls in between
            stop.set()
        try:
            async with asyncio.TaskGroup() as group:
                tasks: list[Callable[[], Coroutine[Any, Any, None]]] = [
                    self.connection.run,
                    self.station.run_sender,
                    self.station.metering.run_metering,
                    self.station.run_timers,
                    self.station.registrar.run_heartbeat,
                    self.control.run,
                    self._watchdog,
                ]
                for make in tasks:
                    group.create_task(make())
                for evse_drivers in self.drivers.values():
                    for driver in evse_drivers.all():
                        group.create_task(driver.run(self.station.on_driver_event))
                for driver in self.extra:
                    group.create_task(driver.run(self.station.on_driver_event))
                group.create_task(self._until(stop, Exit.STOPPED))
                group.create_task(self._until(self.station.reset_requested, Exit.RESET))
                sdnotify.notify("READY=1", f"STATUS=station {self.settings.station.id} running")
                log.info("daemon ready station=%s evses=%s", self.settings.station.id, len(self.drivers))
        except* _Stop as stopped:
            why = next(e.why for e in stopped.exceptions if isinstance(e, _Stop))
        finally:
            sdnotify.notify("STOPPING=1")
            await self.station.open_all()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return why

    async def _until(self, event: asyncio.Event, why: Exit) -> None:
        await event.wait()
        # While the drivers still run: the contactors open before anything is torn down.
        await self.station.open_all()
        if why is Exit.RESET:
            log.info("reset: delivering queued messages, then restarting")
            await self.station.flush(timeout=5.0)
            await self.connection.disconnect()
        raise _Stop(why)

    async def _watchdog(self) -> None:
        interval = sdnotify.watchdog_interval()
        if interval is None:
            return
        while True:
            sdnotify.notify("WATCHDOG=1")
            await asyncio.sleep(interval)


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    definitions_dir: Path = DEFINITIONS_DIR,
    override_origin: str | None = None,
    pin_factory: Any = None,
) -> Daemon:
    """Construct every part; raises ConfigError/StorageError before anything runs."""
    clock = clock or SystemClock()
    db = open_database(settings.state_dir)
    dm = DeviceModel.open(
        definitions_dir,
        settings.layout,
        db,
        overrides=settings.device_model,
        identity=settings,
        override_origin=override_origin,
    )
    dm.register_live_value("ClockCtrlr", "DateTime", lambda: ocpp_timestamp(clock.now()))
    board: SimBoard | None = None
    extra: list[Driver] = []
    if settings.board == "sim":
        board = SimBoard(
            [e.id for e in settings.evses], clock=clock.monotonic, register_file=settings.state_dir / "sim-meters.json"
        )
        drivers = {e.id: board.drivers(e.id) for e in settings.evses}
    else:
        built = build_drivers(parse_board(settings.board, [e.id for e in settings.evses]), pin_factory=pin_factory)
        drivers, extra = built.evses, built.extra

    router = Router()
    holder: dict[str, Station] = {}

    def endpoint() -> Endpoint:
        csms = settings.csms
        password = dm.basic_auth_password() or (
            csms.basic_auth_password.get_secret_value() if csms.basic_auth_password else None
        )
        return Endpoint(
            url=csms.url,
            identity=settings.station.id,
            security_profile=csms.security_profile,
            password=password,
            ca_file=str(csms.ca_file) if csms.ca_file else None,
            client_cert=str(csms.client_cert) if csms.client_cert else None,
            client_key=str(csms.client_key) if csms.client_key else None,
        )

    def backoff() -> Backoff:
        return Backoff(
            wait_minimum=dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
            random_range=dm.get_int("OCPPCommCtrlr", "RetryBackOffRandomRange"),
            repeat_times=dm.get_int("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
        )

    async def on_connected() -> None:
        await holder["station"].on_connected()

    connection = CsmsConnection(
        endpoint,
        router,
        message_timeout=lambda: dm.get_int("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default"),
        backoff=backoff,
        ping_interval=lambda: dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval"),
        on_connected=on_connected,
        on_disconnected=lambda: holder["station"].on_disconnected(),
    )
    journal = Journal(db)
    registrar = Registrar(
        settings,
        connection,
        clock,
        boot_reason=journal.take_boot_reason(),
        heartbeat_interval=lambda: dm.get_int("OCPPCommCtrlr", "HeartbeatInterval"),
        set_heartbeat_interval=lambda s: dm.set_station_value("OCPPCommCtrlr", "HeartbeatInterval", str(s)),
    )
    station = Station(
        settings,
        dm,
        drivers,
        connection,
        registrar,
        Outbox(db, max_messages=settings.outbox_max_messages),
        journal,
        TxJournal(db),
        clock,
        is_connected=lambda: connection.is_connected,
        authorizer=Authorizer(AuthStore(db), dm, clock),
        reservations=Reservations(db, dm, clock),
    )
    holder["station"] = station
    station.messages.recover()
    station.refresh_reservations()  # reservations survive a reboot (TC_B_24)

    def on_change(change: VariableChange) -> None:
        if change.address.variable.name == "HeartbeatInterval":
            registrar.interval_changed()

    dm.on_change(on_change)

    provisioning.register(router, station)
    availability.register(router, station)
    transactions.register(router, station)
    authorization.register(router, station.authorizer)
    if station.reservations is not None:
        reservation.register(router, station.reservations, station.evse_views, station.refresh_reservations)
    data_transfer.register(router, data_transfer.VendorRegistry())
    device_model_handlers.register(router, dm, connection, clock)

    control = ControlServer(settings.socket_path)
    control.add("status", lambda _request: _status(station))
    if board is not None:
        add_sim_commands(control, board)
    return Daemon(settings, dm, station, connection, control, board, drivers, extra)


async def _status(station: Station) -> dict[str, Any]:
    return station.snapshot()
