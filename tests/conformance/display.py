"""What the O and I cases share: display messages as the CSMS sends them, and the text on the simulated screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.octt import until
from tests.integration.conftest import STATION_ID, StationUnderTest


def message(mid: int, content: str, priority: str = "InFront", fmt: str = "UTF8", **extra: Any) -> dict[str, Any]:
    """A MessageInfoType for the ocpp library (snake_case keys)."""
    return {"id": mid, "priority": priority, "message": {"format": fmt, "content": content}, **extra}


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def set_message(csms: DevCsms, mid: int, content: str, priority: str = "InFront", **extra: Any) -> str:
    answer = await csms.call(STATION_ID, call.SetDisplayMessage(message=message(mid, content, priority, **extra)))
    return str(answer.status)


def screen(sut: StationUnderTest, evse_id: int = 1) -> str:
    """The text on the EVSE's simulated display, its lines joined by spaces (a wrapped word stays findable)."""
    display = sut.d.drivers[evse_id].display
    assert display is not None
    text = getattr(display, "text", None) or ""
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


async def shows(sut: StationUnderTest, text: str, evse_id: int = 1, timeout: float = 10.0) -> None:
    await until(lambda: text in screen(sut, evse_id), timeout=timeout)


async def redrawn(sut: StationUnderTest) -> str:
    """The screen right after a redraw of every display (what a driver sees now)."""
    assert sut.d.station.screen is not None
    await sut.d.station.screen.redraw()
    return screen(sut)


def fast_pages(sut: StationUnderTest) -> None:
    """Turn the pages of the cycle quickly, so a test sees every page soon."""
    assert sut.d.station.screen is not None
    sut.d.station.screen.page_seconds = 0.2
