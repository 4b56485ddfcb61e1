"""The HIL session (`make hil`): the daemon and its real drivers against the emulated board and the dev CSMS."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.rig import EmulatedBoard
from hil.run_hil import CARD, energy_of, main, run_session


async def test_hil_session_passes_every_step_and_the_csms_records_the_energy(tmp_path: Path) -> None:
    lines: list[str] = []
    result = await run_session(tmp_path, out=lines.append)

    assert result.ok, "\n".join(lines)
    steps = [line for line in lines if line.startswith("HIL step")]
    assert len(steps) == len(result.steps) == 12
    assert all(line.endswith("... ok") for line in steps)
    assert result.csms_failures == []
    events = result.transaction_events
    started = [e for e in events if e["eventType"] == "Started"]
    ended = [e for e in events if e["eventType"] == "Ended"]
    assert len(started) == len(ended) == 1
    tx = started[0]["transactionInfo"]["transactionId"]
    assert ended[0]["transactionInfo"]["transactionId"] == tx
    assert started[0]["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert (ended[0]["triggerReason"], ended[0]["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    energies = [energy_of(e) for e in events if energy_of(e) is not None]
    assert energies == sorted(energies)  # the register never goes back
    begin, end = energy_of(started[0]), energy_of(ended[0])
    assert begin is not None and end is not None and end > begin
    assert len([e for e in events if e["eventType"] == "Updated" and energy_of(e) is not None]) >= 2
    assert result.seconds < 30


async def test_a_stuck_contactor_fails_the_session_at_its_step(tmp_path: Path) -> None:
    def stick(rig: EmulatedBoard) -> None:
        rig.contactor_stuck = True

    lines: list[str] = []
    result = await run_session(tmp_path, out=lines.append, prepare=stick)

    assert not result.ok
    failed = result.steps[-1]
    assert (failed.title, failed.ok) == ("contactor closes", False)
    assert [s.ok for s in result.steps[:-1]] == [True] * (len(result.steps) - 1)
    assert f"HIL step {failed.number}: {failed.title} ... FAILED: " in lines[len(result.steps) - 1]
    assert "auxiliary contact stayed open" in failed.detail


def test_make_hil_entry_point_exits_0_and_prints_one_line_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out if line.startswith("HIL step")] == [
        f"HIL step {n}" for n in range(1, 13)
    ]
    assert out[-1].startswith("HIL passed: 12 steps")
