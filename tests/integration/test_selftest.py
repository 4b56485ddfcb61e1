"""`evse selftest` on the emulated board: the shipped drivers against the far end of each real bus."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import gpiozero
import pytest
import yaml

from evse.cli import main
from evse.config import Settings, parse_settings
from evse.control import ControlServer
from evse.selftest import CheckResult, SelftestError, Verdict, exit_code, refuse_while_daemon_runs, run_selftest
from hil.emulators.meter import FaultMode
from hil.rig import EmulatedBoard

CHECKS = ["meter", "pilot", "contactor", "lock", "card", "iso15118"]


def settings_for(tmp_path: Path, board: Any) -> Settings:
    return parse_settings(config_for(tmp_path, board), "selftest.yaml")


def config_for(tmp_path: Path, board: Any) -> dict[str, Any]:
    return {
        "station": {"id": "ST001", "vendor": "V", "model": "M"},
        "csms": {"url": "ws://127.0.0.1:9/ocpp", "security_profile": 0},
        "evses": [{"id": 1, "max_current_a": 16, "connectors": [{"id": 1, "type": "sType2"}]}],
        "board": board,
        "state_dir": str(tmp_path / "state"),
    }


@pytest.fixture
async def rig() -> AsyncIterator[EmulatedBoard]:
    async with EmulatedBoard() as board:
        yield board


async def selftest(rig: EmulatedBoard, tmp_path: Path, **options: Any) -> list[CheckResult]:
    options.setdefault("card_timeout_s", 5.0)
    return await run_selftest(settings_for(tmp_path, rig.board()), pin_factory=rig.pin_factory, **options)


def verdicts(results: list[CheckResult]) -> dict[str, Verdict]:
    return {r.check: r.verdict for r in results}


def detail(results: list[CheckResult], check: str) -> str:
    return next(r.detail for r in results if r.check == check)


async def test_every_check_passes_on_a_healthy_board(rig: EmulatedBoard, tmp_path: Path) -> None:
    rig.present_card("04A2B3C4D5E6F7")
    reported: list[CheckResult] = []
    results = await selftest(rig, tmp_path, report=reported.append)

    assert [r.check for r in results] == CHECKS
    assert verdicts(results) == dict.fromkeys(CHECKS, Verdict.PASS), [r.line() for r in results]
    assert reported == results
    assert exit_code(results) == 0
    assert "230.0/230.0/230.0 V" in detail(results, "meter")
    assert "04A2B3C4D5E6F7" in detail(results, "card")
    # The far end saw it: the coil went on and off, the bolt went in and out, and nothing stays energized.
    assert [on for _t, on in rig.coil_history] == [True, False]
    assert [locked for _t, locked in rig.lock_pulses] == [True, False]
    assert not rig.contactor_closed and not rig.locked
    assert all(
        line.startswith(("PASS  evse 1 ", "FAIL  evse 1 ", "SKIP  evse 1 ")) for line in map(CheckResult.line, results)
    )


async def test_a_silent_meter_fails_the_meter_check_and_the_exit_code(rig: EmulatedBoard, tmp_path: Path) -> None:
    rig.meter.set_fault(FaultMode.SILENT)
    results = await selftest(rig, tmp_path, no_card=True)

    assert verdicts(results)["meter"] is Verdict.FAIL
    assert "meter_lost" in detail(results, "meter") and "no answer" in detail(results, "meter")
    assert verdicts(results)["contactor"] is Verdict.PASS  # the other checks still run
    assert exit_code(results) == 1


async def test_with_an_ev_plugged_in_the_contactor_is_never_toggled(rig: EmulatedBoard, tmp_path: Path) -> None:
    rig.plug(cable_a=32)  # CP state B
    results = await selftest(rig, tmp_path, no_card=True)

    assert verdicts(results)["pilot"] is Verdict.FAIL
    assert "CP state B" in detail(results, "pilot")
    assert verdicts(results)["contactor"] is Verdict.SKIP
    assert "refused" in detail(results, "contactor") and "CP state B" in detail(results, "contactor")
    assert rig.coil_history == []  # not even for a moment
    assert exit_code(results) == 1


async def test_no_card_skips_the_card_check_without_waiting(rig: EmulatedBoard, tmp_path: Path) -> None:
    results = await selftest(rig, tmp_path, no_card=True, card_timeout_s=60.0)

    assert verdicts(results)["card"] is Verdict.SKIP
    assert "--no-card" in detail(results, "card")
    assert exit_code(results) == 0


async def test_no_card_within_the_timeout_fails_the_card_check(rig: EmulatedBoard, tmp_path: Path) -> None:
    prompts: list[str] = []
    results = await selftest(rig, tmp_path, card_timeout_s=0.5, prompt=prompts.append)

    assert verdicts(results)["card"] is Verdict.FAIL
    assert "no card read within 0.5 s" in detail(results, "card")
    assert prompts == ["evse 1: hold a card to the reader (0.5 s) ..."]


async def test_a_stuck_contactor_fails_and_a_silent_iso15118_module_fails(rig: EmulatedBoard, tmp_path: Path) -> None:
    rig.contactor_stuck = True
    rig.secc.silent = True
    results = await selftest(rig, tmp_path, no_card=True)

    assert verdicts(results)["contactor"] is Verdict.FAIL
    assert "contactor_stuck_open" in detail(results, "contactor")
    assert [on for _t, on in rig.coil_history] == [True, False]  # released again, not left energized
    assert verdicts(results)["iso15118"] is Verdict.FAIL
    assert "no answer from the ISO 15118 module" in detail(results, "iso15118")


async def test_board_sim_has_nothing_to_test(tmp_path: Path) -> None:
    with pytest.raises(SelftestError, match="board: sim has no hardware to test"):
        await run_selftest(settings_for(tmp_path, "sim"))


def test_cli_board_sim_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(config_for(tmp_path, "sim")))

    assert main(["selftest", "--config", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: board: sim has no hardware")


async def test_refuses_to_run_while_the_daemon_answers(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "sim")
    settings.state_dir.mkdir(parents=True)
    server = ControlServer(settings.socket_path)
    server.add("status", lambda _request: asyncio.sleep(0, {"evses": []}))
    task = asyncio.create_task(server.run())
    try:
        for _ in range(200):
            if settings.socket_path.exists():
                break
            await asyncio.sleep(0.01)
        with pytest.raises(SelftestError, match="the daemon is running"):
            await asyncio.to_thread(refuse_while_daemon_runs, settings)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await asyncio.to_thread(refuse_while_daemon_runs, settings)  # stopped: no objection


@contextlib.contextmanager
def rig_in_thread() -> Iterator[EmulatedBoard]:
    """The rig on its own event loop, so that the CLI can run its own `asyncio.run` in this thread."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with EmulatedBoard() as board:
            box["rig"], box["loop"], box["stop"] = board, asyncio.get_running_loop(), asyncio.Event()
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="rig", daemon=True)
    thread.start()
    assert started.wait(10), "the rig did not start"
    try:
        yield box["rig"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def test_cli_selftest_on_the_emulated_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with rig_in_thread() as board:
        # The CLI passes no pin factory: gpiozero's default one is what the GPIO drivers get.
        monkeypatch.setattr(gpiozero.Device, "pin_factory", board.pin_factory)
        path = tmp_path / "board.yaml"
        path.write_text(yaml.safe_dump(config_for(tmp_path, board.board())))
        code = main(["selftest", "--config", str(path), "--no-card"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert [line.split()[:4] for line in lines] == [
        ["PASS", "evse", "1", "meter"],
        ["PASS", "evse", "1", "pilot"],
        ["PASS", "evse", "1", "contactor"],
        ["PASS", "evse", "1", "lock"],
        ["SKIP", "evse", "1", "card"],
        ["PASS", "evse", "1", "iso15118"],
    ]


async def test_simulated_devices_of_a_mixed_board_are_skipped_not_passed(rig: EmulatedBoard, tmp_path: Path) -> None:
    """A technician brings up one device at a time: the real meter is checked, the sim ones say SKIP."""
    board = rig.board()
    devices = board["evses"][rig.evse_id]
    for kind in ("contactor", "lock", "rfid"):
        devices[kind] = {"driver": "sim"}
    results = await run_selftest(settings_for(tmp_path, board), pin_factory=rig.pin_factory, card_timeout_s=0.5)
    assert verdicts(results)["meter"] is Verdict.PASS
    for check in ("contactor", "lock", "card"):
        assert verdicts(results)[check] is Verdict.SKIP
        assert "simulated" in detail(results, check)
    assert rig.coil_history == []  # the real coil pin was never driven: the contactor is simulated
