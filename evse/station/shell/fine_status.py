"""Under OCPP 1.6: each change of a connector's finer status (Preparing, Charging, SuspendedEV ...), reported once.

2.0.1 reports the five connector statuses on the state machine's SendStatus; 1.6 wants a StatusNotification
whenever the finer status or the error code changes (OCPP 1.6 section 4.9), which is computed after every
event from the EVSE's state (`evse.station.core.evse_status`). The message itself is the adapter's:
`report(connector_id, status, error_code, vendor_error_code)` is wired by the daemon to the 1.6 adapter.
Offline without QueueAllMessages only the latest status matters: it is reported on reconnect, as in 2.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from evse.station.core.evse_status import EvseStatus, error_code, evse_status
from evse.station.core.faults import FAULTS

if TYPE_CHECKING:
    from evse.station.shell.station import Station

Report = Callable[[int, EvseStatus, str, str | None], None]


class FineStatus:
    """The last finer status reported per connector (0: the station), and the check that reports a change."""

    def __init__(self, station: Station, report: Report) -> None:
        self._station = station
        self._report = report
        self._last: dict[int, tuple[EvseStatus, str, str | None]] = {}

    def check(self, evse_id: int, *, force: bool = False) -> None:
        runtime = self._station.evses[evse_id]
        status = evse_status(runtime.state)
        code, vendor_code = error_code(runtime.state.faults)
        self._send(evse_id, (status, code, vendor_code), force)

    def check_station(self, *, force: bool = False) -> None:
        """connectorId 0, the charge point itself: Unavailable when made inoperative, Faulted on a
        station-wide fault (emergency stop, storage), else Available."""
        station = self._station
        faults = frozenset(f for r in station.evses.values() for f in r.state.faults if f in STATION_FAULTS)
        code, vendor_code = error_code(faults)
        if faults:
            status = EvseStatus.Faulted
        elif not station.journal.operative(0, 0):
            status = EvseStatus.Unavailable
        else:
            status = EvseStatus.Available
        self._send(0, (status, code, vendor_code), force)

    def _send(self, connector_id: int, now: tuple[EvseStatus, str, str | None], force: bool) -> None:
        if not force and self._last.get(connector_id) == now:
            return
        if not self._station.may_report_status():
            self._last.pop(connector_id, None)  # reported (forced) on reconnect
            return
        self._last[connector_id] = now
        self._report(connector_id, *now)


#: Faults that concern the whole station rather than one EVSE.
STATION_FAULTS = frozenset(name for name, where in FAULTS.items() if where.scope == "station")
