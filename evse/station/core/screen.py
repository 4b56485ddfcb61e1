"""What the driver sees: the one place that turns an EVSE's situation and the CSMS's messages into lines.

Pure: the shell (evse/station/shell/driver_screen.py) gathers a :class:`Situation` and the due display
messages (evse/station/core/display_rules.py) and hands the lines to the EVSE's Display driver. ``page`` is
the page counter of the cycle (the shell advances it every few seconds); passing it in keeps this testable.

Precedence (O01/O02 message priorities): an AlwaysFront message hides everything else; InFront messages
are shown in turn in front of the station's own page; NormalCycle messages take turns with it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from evse.station.core.display_rules import DisplayMessage, Priority


class Phase(StrEnum):
    """The station's own page, from what the EVSE is doing."""

    Idle = "Idle"
    Authorizing = "Authorizing"
    Charging = "Charging"
    Finished = "Finished"  # a session just ended: its summary and final cost
    Faulted = "Faulted"
    Unavailable = "Unavailable"


@dataclass(frozen=True, slots=True)
class Situation:
    """An EVSE as the driver should understand it."""

    phase: Phase
    energy_wh: float | None = None  # of the session (Charging, Finished)
    seconds: int | None = None  # since the session started
    cost: float | None = None  # running cost (I02) or total cost (I03)
    currency: str = ""
    cost_note: str | None = None  # TotalCostFallbackMessage (I05) when no cost is known
    personal: str | None = None  # personalMessage of idTokenInfo (I01) or updatedPersonalMessage (I03/I06)
    personal_language: str | None = None
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class Screen:
    """The text on the display: ``rows`` lines of at most ``columns`` characters, and its language."""

    lines: tuple[str, ...]
    language: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def compose(situation: Situation, messages: Sequence[DisplayMessage], page: int, columns: int, rows: int) -> Screen:
    """The screen for ``page`` of the cycle: exactly ``rows`` lines (blank lines pad it)."""
    always = [m for m in messages if m.priority is Priority.AlwaysFront]
    in_front = [m for m in messages if m.priority is Priority.InFront]
    normal = [m for m in messages if m.priority is Priority.NormalCycle]
    shown: DisplayMessage | None
    if always:
        shown = always[0]  # `due` puts the newest AlwaysFront first
    elif in_front:
        shown = in_front[page % len(in_front)]
    else:
        cycle: list[DisplayMessage | None] = [None, *normal]
        shown = cycle[page % len(cycle)]
    if shown is None:
        return Screen(tuple(fit(own_page(situation), columns, rows)), situation.personal_language)
    return Screen(tuple(fit([shown.content], columns, rows)), shown.language)


def own_page(s: Situation) -> list[str]:
    """The station's own text for its phase, before wrapping."""
    cost = _money(s.cost, s.currency) if s.cost is not None else None
    if s.phase is Phase.Faulted:
        lines = ["Out of order", *([s.fault] if s.fault else [])]
    elif s.phase is Phase.Unavailable:
        lines = ["Unavailable"]
    elif s.phase is Phase.Authorizing:
        lines = ["Authorizing..."]
    elif s.phase is Phase.Charging:
        lines = ["Charging", _progress(s), *([f"Cost {cost}"] if cost else [])]
    elif s.phase is Phase.Finished:
        total = f"Total {cost}" if cost else s.cost_note
        lines = ["Charging done", _progress(s), *([total] if total else [])]
    else:
        lines = ["Welcome", "Present your card"]
    if s.personal:
        lines.append(s.personal)
    return lines


def fit(paragraphs: Sequence[str], columns: int, rows: int) -> list[str]:
    """Word-wrap each paragraph (and each line break in it) to ``columns``; cut at ``rows``, pad with blanks."""
    lines: list[str] = []
    for paragraph in paragraphs:
        for part in paragraph.splitlines() or [""]:
            lines.extend(textwrap.wrap(part, columns, break_long_words=True) or [""])
    lines = lines[:rows]
    return lines + [""] * (rows - len(lines))


def _progress(s: Situation) -> str:
    kwh = (s.energy_wh or 0.0) / 1000
    seconds = s.seconds or 0
    return f"{kwh:.2f} kWh {seconds // 3600}:{seconds // 60 % 60:02d}"


def _money(amount: float, currency: str) -> str:
    return f"{amount:.2f} {currency}".strip()
