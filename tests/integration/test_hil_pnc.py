"""`make hil`, Plug & Charge: the scripted session through the emulated SECC module passes over both bridge
transports (python-can virtual bus, raw pty), with the real drivers of the rest of the rig."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.run_pnc import EMAID, run_pnc


@pytest.mark.parametrize("transport", ["can", "serial"])
async def test_pnc_session_passes_every_step(tmp_path: Path, transport: str) -> None:
    lines: list[str] = []
    result = await run_pnc(tmp_path, transport, out=lines.append)  # type: ignore[arg-type]
    assert result.ok, "\n".join(lines)
    assert len(lines) == 10
    assert all(line.endswith("... ok") for line in lines)
    started = [e for e in result.transaction_events if e["eventType"] == "Started"]
    assert [e["idToken"] for e in started] == [{"idToken": EMAID, "type": "eMAID"}]
    assert result.csms_failures == []
