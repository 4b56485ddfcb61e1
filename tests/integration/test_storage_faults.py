"""The state_dir fails (full, read-only: a worn SD card): no energy without a record, the fault reported,
no crash, and charging again once the disk takes writes.

Two kinds of disk: a real small filesystem (tmpfs mounted by the test, which needs root and
CAP_SYS_ADMIN; skipped with the reason otherwise) and, always, an injection at the SQLite level on the
daemon's real database file (`PRAGMA query_only`, which makes SQLite refuse writes exactly as it does on a
read-only mount: SQLITE_READONLY).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse import control
from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from evse.storage import DB_FILENAME
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.integration.test_cli import evse, start_daemon, stop_daemon, write_config

FAST = {"SampledDataCtrlr.TxUpdatedInterval": 1}


# ---- equipment ------------------------------------------------------------------------------------
class SmallDisk:
    """A tmpfs of a few hundred KiB: filled with a file until ENOSPC, freed by deleting it, remounted ro/rw."""

    def __init__(self, mountpoint: Path) -> None:
        self.mountpoint = mountpoint
        self.filler = mountpoint / "filler"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink()

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.mountpoint)], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=768k", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield SmallDisk(mountpoint)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


class WornCard:
    """An ext4 filesystem on a loop device, mounted errors=remount-ro: `fail()` makes the kernel remount it
    read-only under the open database, as it does when an SD card's writes start failing."""

    def __init__(self, mountpoint: Path, device: str) -> None:
        self.mountpoint = mountpoint
        self.device = device

    def fail(self) -> None:
        Path(f"/sys/fs/ext4/{Path(self.device).name}/trigger_fs_error").write_text("storage fault test\n")


@pytest.fixture
def worn_card(tmp_path: Path) -> Iterator[WornCard]:
    image, mountpoint = tmp_path / "card.img", tmp_path / "card"
    mountpoint.mkdir()
    with open(image, "wb") as f:
        f.truncate(8 * 1024 * 1024)
    steps = [
        ["mkfs.ext4", "-q", "-F", str(image)],
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(mountpoint)],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True)
        except FileNotFoundError as exc:
            pytest.skip(f"cannot build a loop-mounted ext4 here: {exc}")
        if done.returncode != 0:
            pytest.skip(f"cannot build a loop-mounted ext4 here ({step[0]}): {done.stderr.strip()}")
    try:
        device = subprocess.run(
            ["findmnt", "-no", "SOURCE", str(mountpoint)], capture_output=True, text=True, check=True
        ).stdout.strip()
        if not Path(f"/sys/fs/ext4/{Path(device).name}/trigger_fs_error").exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error to make the card fail")
        yield WornCard(mountpoint, device)
    finally:
        subprocess.run(["umount", str(mountpoint)], capture_output=True)


def record_contactor(sut: StationUnderTest, evse_id: int = 1) -> list[bool]:
    """Every switching of the simulated contactor, in order (as gpiozero's mock pins record theirs)."""
    assert sut.d.board is not None
    state = sut.d.board._evse(evse_id).state
    history: list[bool] = []
    switch = state.set_contactor

    def recording(closed: bool) -> None:
        history.append(closed)
        switch(closed)

    state.set_contactor = recording  # type: ignore[method-assign]
    return history


def query_only(sut: StationUnderTest, on: bool) -> None:
    """Make SQLite refuse (or take again) every write on the daemon's own database connection."""
    sut.d.storage_fault.db.execute(f"PRAGMA query_only={'ON' if on else 'OFF'}")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (state spread over board, station and CSMS: polled)
            await asyncio.sleep(0.05)


def fast_probe(sut: StationUnderTest) -> None:
    sut.d.storage_fault.probe_interval = 0.5
    sut.d.storage_fault.tick = 0.1


def tx_events(csms: DevCsms, tx_id: str) -> list[dict[str, Any]]:
    return [p for p in csms.received("TransactionEvent") if p["transactionInfo"]["transactionId"] == tx_id]


def storage_events(csms: DevCsms, value: str) -> list[dict[str, Any]]:
    return [
        e
        for p in csms.received("NotifyEvent")
        for e in p["eventData"]
        if "storage_failure" in e.get("techInfo", "") and e["actualValue"] == value
    ]


def faulted(p: dict[str, Any]) -> bool:
    return bool(p["connectorStatus"] == "Faulted")


async def charging_session(csms: DevCsms, sut: StationUnderTest) -> str:
    assert sut.d.board is not None
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=10)
    sut.d.board.set_ev_state(1, "C")
    await until(lambda: sut.d.board is not None and sut.d.board.snapshot(1)["contactor_closed"])
    return str(started["transactionInfo"]["transactionId"])


def assert_delivered_exactly_once_in_order(events: list[dict[str, Any]], *, identical_resends: bool = False) -> None:
    """seqNo 0..n-1 in order, no gap. With `identical_resends`, a message may arrive again byte for byte
    (its delivery was never deleted on the card: a power cut, or the read-only card itself); never two
    different messages with one seqNo."""
    if identical_resends:
        by_seq = {p["seqNo"]: json.dumps(p, sort_keys=True) for p in events}
        assert len({json.dumps(p, sort_keys=True) for p in events}) == len(by_seq)
        events = [json.loads(by_seq[seq]) for seq in sorted(by_seq)]
    assert [p["seqNo"] for p in events] == list(range(len(events)))  # no gap, no repeat, in order
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"


# ---- disk full during a charging session ---------------------------------------------------------
async def test_disk_full_while_charging_opens_the_contactor_reports_and_resumes_when_space_returns(
    csms: DevCsms, make_station: Any, small_disk: SmallDisk
) -> None:
    """A real small filesystem fills up mid-session: the periodic Updated cannot be recorded, so the
    contactor opens, the connector goes Faulted (ConnectorStatusEnumType: an error, no energy delivery;
    not Unavailable, which is ChangeAvailability's) and a NotifyEvent reports storage_failure; the daemon keeps
    running. Once space is freed the held messages are written in order, the fault clears and the same
    transaction charges again; every TransactionEvent reaches the CSMS exactly once, seqNo without gap."""
    sut: StationUnderTest = await make_station(state_dir=str(small_disk.mountpoint / "state"), device_model=FAST)
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    tx_id = await charging_session(csms, sut)
    assert sut.d.board is not None

    small_disk.fill()
    await until(lambda: sut.d.board is not None and not sut.d.board.snapshot(1)["contactor_closed"])
    await csms.wait_for("StatusNotification", predicate=faulted, timeout=5)
    await until(lambda: len(storage_events(csms, "true")) == 1)
    assert "full" in storage_events(csms, "true")[0]["techInfo"]
    # What a technician sees with `evse status --json` (the control socket still answers on a full disk).
    status = await asyncio.to_thread(control.request, sut.settings.socket_path, {"cmd": "status"})
    assert status["evses"][0]["faults"] == ["storage_failure"]
    assert "full" in status["storage"]["failure"] and status["storage"]["held_writes"] >= 1
    await asyncio.sleep(1.5)  # probes keep failing while the disk is full; nothing crashes
    assert sut.d.storage_fault.probes >= 1 and sut.d.storage_fault.active
    assert not sut.d.board.snapshot(1)["contactor_closed"]
    assert sut.task is not None and not sut.task.done()

    small_disk.free()
    await until(lambda: sut.d.board is not None and sut.d.board.snapshot(1)["contactor_closed"])
    assert sut.d.station.messages.backlog == 0
    await until(lambda: len(storage_events(csms, "false")) == 1)
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=10)
    events = tx_events(csms, tx_id)
    assert_delivered_exactly_once_in_order(events)
    states = [p["transactionInfo"].get("chargingState") for p in events]
    first_charge = states.index("Charging")
    paused = states.index("SuspendedEVSE", first_charge)  # the fault's pause was recorded, delivered after recovery
    assert "Charging" in states[paused:]  # and the same transaction charged again


async def test_disk_full_when_a_transaction_starts_keeps_the_contactor_open_until_it_is_recorded(
    csms: DevCsms, make_station: Any
) -> None:
    """Injection variant (always runs): the database refuses writes when the EV plugs in. The Started
    event cannot be written, so the contactor never closes while the fault lasts, even with a valid card
    and the EV asking for power; after recovery Started is delivered first and charging follows."""
    sut: StationUnderTest = await make_station(device_model=FAST)
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    history = record_contactor(sut)
    assert sut.d.board is not None
    query_only(sut, True)
    sut.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=faulted, timeout=5)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await until(lambda: len(storage_events(csms, "true")) == 1)
    await asyncio.sleep(1.0)
    assert history == []  # never closed, not even for an instant
    assert csms.received("TransactionEvent") == []  # nothing about a transaction the disk did not record

    query_only(sut, False)
    await until(lambda: not sut.d.storage_fault.active)
    # The card read during the fault is kept although its cache write was refused: no second swipe.
    assert sut.d.station.evses[1].state.token == ("AABBCCDD", "ISO14443")
    await until(lambda: sut.d.board is not None and sut.d.board.snapshot(1)["contactor_closed"])
    assert history == [True]
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=10)
    events = csms.received("TransactionEvent")
    assert len({p["transactionInfo"]["transactionId"] for p in events}) == 1
    assert_delivered_exactly_once_in_order(events)


async def test_card_remounted_read_only_by_the_kernel_while_charging_stops_energy_and_stays_up(
    csms: DevCsms, make_station: Any, worn_card: WornCard
) -> None:
    """A worn SD card: ext4 hits an error and the kernel remounts it read-only under the running daemon
    (SQLite then reports disk I/O errors). The contactor opens, the fault is reported, the daemon keeps
    running and keeps probing; such a card only comes back after a reboot (fsck), so the fault stays."""
    sut: StationUnderTest = await make_station(state_dir=str(worn_card.mountpoint / "state"), device_model=FAST)
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    await charging_session(csms, sut)
    worn_card.fail()
    await until(lambda: sut.d.board is not None and not sut.d.board.snapshot(1)["contactor_closed"])
    await csms.wait_for("StatusNotification", predicate=faulted, timeout=5)
    await until(lambda: len(storage_events(csms, "true")) == 1)
    await asyncio.sleep(1.5)
    assert sut.d.storage_fault.active and sut.d.storage_fault.probes >= 1
    assert sut.task is not None and not sut.task.done()
    assert sut.d.board is not None and not sut.d.board.snapshot(1)["contactor_closed"]
    await sut.stop()
    sut.d.storage_fault.db.close()  # so the card can be unmounted


async def test_authorized_while_the_disk_refuses_writes_never_closes_the_contactor_even_for_an_instant(
    csms: DevCsms, make_station: Any
) -> None:
    """The EV already asks for power (state C) when the authorization arrives: the same step decides the
    TransactionEvent, the offer and the contactor. The event cannot be written, so the close decided in
    that step must not happen at all (not close-then-open): the record comes before the contactor moves."""
    sut: StationUnderTest = await make_station(device_model={"AuthCtrlr.AuthorizeRemoteStart": False})
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    assert sut.d.board is not None
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=5)
    history = record_contactor(sut)
    query_only(sut, True)
    token = {"id_token": "AABBCCDD", "type": "ISO14443"}
    result = await csms.call(STATION_ID, call.RequestStartTransaction(id_token=token, remote_start_id=7, evse_id=1))
    assert result.status == "Accepted"
    await until(lambda: sut.d.storage_fault.active)
    await asyncio.sleep(0.5)
    assert history == []
    query_only(sut, False)
    await until(lambda: sut.d.board is not None and sut.d.board.snapshot(1)["contactor_closed"])
    assert history == [True]
    updated = await csms.wait_for("TransactionEvent", predicate=lambda p: p["triggerReason"] == "RemoteStart")
    assert updated["idToken"]["idToken"] == "AABBCCDD"  # the held authorization, delivered after recovery


# ---- read-only during idle -----------------------------------------------------------------------
async def test_read_only_while_idle_raises_the_fault_blocks_charging_and_clears(
    csms: DevCsms, make_station: Any
) -> None:
    """The database goes read-only with no session (SQLITE_READONLY, as after a remount): the next write
    raises the fault; a plug-in and a valid card do not start charging; when writes work again the
    fault clears and a session charges normally."""
    sut: StationUnderTest = await make_station()
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    history = record_contactor(sut)
    query_only(sut, True)
    # An idle write: availability is journaled. It cannot be, so the CSMS gets Rejected, not an Accepted.
    answer = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Operative", evse={"id": 1}))
    assert answer.status == "Rejected"
    await until(lambda: sut.d.storage_fault.active)
    await until(lambda: len(storage_events(csms, "true")) == 1)
    assert "readonly" in storage_events(csms, "true")[0]["techInfo"]
    assert sut.d.board is not None
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(1.0)
    assert history == []
    assert sut.d.station.evses[1].state.tx is None  # no new transaction while the fault is active
    assert csms.received("TransactionEvent") == []
    assert sut.task is not None and not sut.task.done()

    sut.d.board.unplug(1)
    query_only(sut, False)
    await until(lambda: not sut.d.storage_fault.active)
    tx_id = await charging_session(csms, sut)
    assert tx_id


async def test_a_fault_that_came_and_went_while_offline_is_reported_raised_then_cleared(
    csms: DevCsms, make_station: Any
) -> None:
    """The CSMS is unreachable for the whole fault: once the disk and the connection are back, the CSMS
    gets the raising NotifyEvent (with the time it happened) and then the clearing one, never only the latter."""
    sut: StationUnderTest = await make_station()
    fast_probe(sut)
    await csms.wait_for("StatusNotification", timeout=10)
    port = csms.port
    await csms.stop()
    await until(lambda: not sut.d.connection.is_connected)
    query_only(sut, True)
    assert sut.d.board is not None
    sut.d.board.plug(1)
    await until(lambda: sut.d.storage_fault.active)
    query_only(sut, False)
    await until(lambda: not sut.d.storage_fault.active)
    await csms.start(port=port)
    await until(lambda: len(storage_events(csms, "false")) == 1, timeout=15)
    raised, cleared = storage_events(csms, "true"), storage_events(csms, "false")
    assert len(raised) == 1
    assert raised[0]["timestamp"] <= cleared[0]["timestamp"] and raised[0]["eventId"] != cleared[0]["eventId"]
    order = [e["actualValue"] for p in csms.received("NotifyEvent") for e in p["eventData"]]
    assert order.index("true") < order.index("false")


# ---- read-only at start --------------------------------------------------------------------------
async def test_read_only_state_dir_at_start_boots_degraded_then_restarts_on_it_when_writable(
    csms: DevCsms, make_station: Any, small_disk: SmallDisk
) -> None:
    """A state_dir on a filesystem mounted read-only at boot: no crash (no systemd restart loop), the
    station boots, is Faulted and reports storage_failure, refuses to charge; remounted read-write, the
    probe sees it and the daemon leaves as for a reset, to boot afresh on the real database and charge."""
    state_dir = small_disk.mountpoint / "state"
    first: StationUnderTest = await make_station(state_dir=str(state_dir))
    await csms.wait_for("StatusNotification", timeout=10)
    tx_id = await charging_session(csms, first)
    await first.stop()  # the process dies mid-session (power cut): its transaction is still open on the card
    first.d.storage_fault.db.close()  # the process is gone: nothing holds the database open any more
    assert (state_dir / DB_FILENAME).exists()
    small_disk.remount("ro")

    sut: StationUnderTest = await make_station(state_dir=str(state_dir))
    fast_probe(sut)
    assert sut.d.storage_fault.health.degraded_boot
    await csms.wait_for("StatusNotification", predicate=faulted, timeout=10)
    await until(lambda: len(storage_events(csms, "true")) == 1)
    history = record_contactor(sut)
    assert sut.d.board is not None
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(1.0)
    assert history == []
    sut.d.board.unplug(1)

    # The interrupted transaction is ended only from the real database, not from the degraded copy.
    assert not any(p["eventType"] == "Ended" for p in tx_events(csms, tx_id))

    small_disk.remount("rw")
    assert await sut.wait_exit(timeout=10) is Exit.RESET
    await sut.start()
    assert not sut.d.storage_fault.health.degraded_boot
    await until(lambda: not sut.d.storage_fault.active and csms.connected(STATION_ID))
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=10)
    events = tx_events(csms, tx_id)
    assert_delivered_exactly_once_in_order(events, identical_resends=True)
    ended = [p for p in events if p["eventType"] == "Ended"]
    assert len(ended) == 1 and ended[0]["transactionInfo"]["stoppedReason"] == "PowerLoss"
    await charging_session(csms, sut)


async def test_unwritable_state_dir_at_start_boots_degraded_without_charging(
    csms: DevCsms, make_station: Any, tmp_path: Path
) -> None:
    """Injection variant (always runs): state_dir cannot even be created (a file is in the way, as a
    read-only parent would refuse it). The daemon still boots, degraded, and reports instead of exiting."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sut: StationUnderTest = await make_station(state_dir=str(blocker / "state"))
    fast_probe(sut)
    assert sut.d.storage_fault.health.degraded_boot
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", predicate=faulted, timeout=10)
    await until(lambda: len(storage_events(csms, "true")) == 1)
    history = record_contactor(sut)
    assert sut.d.board is not None
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(1.0)
    assert history == []
    assert sut.d.storage_fault.probes >= 1
    assert sut.task is not None and not sut.task.done()
    with contextlib.suppress(FileNotFoundError):
        blocker.unlink()


async def test_evse_run_on_an_unwritable_state_dir_stays_up_with_one_clear_error_line(
    csms: DevCsms, tmp_path: Path
) -> None:
    """The real process, as systemd runs it: no exit (a restart loop), one storage_failure error line,
    and the technician sees the degraded boot in `evse status`; SIGTERM still ends it cleanly."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    config = write_config(
        tmp_path, csms.port, state_dir=str(blocker / "state"), control_socket=str(tmp_path / "control.sock")
    )
    proc = await start_daemon(config)
    try:
        await csms.wait_for("StatusNotification", predicate=faulted, timeout=20)
        await until(lambda: len(storage_events(csms, "true")) == 1)
        result = await asyncio.to_thread(evse, "status", "--json", "--config", str(config))
        status = json.loads(result.stdout)
        assert status["storage"]["degraded_boot"] is True and status["evses"][0]["faults"] == ["storage_failure"]
        assert proc.returncode is None
    finally:
        assert await stop_daemon(proc) == 0
    assert proc.stderr is not None
    lines = (await proc.stderr.read()).decode().splitlines()
    boot_errors = [line for line in lines if "storage_failure: state database" in line]
    assert len(boot_errors) == 1 and "running degraded, no charging" in boot_errors[0]
    assert not any("Traceback" in line for line in lines)
