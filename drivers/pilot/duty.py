"""IEC 61851-1 mapping between the current offered to an EV and the control-pilot PWM duty cycle.

Duty cycles are whole per-mille (0.1 %), the resolution of the safety-MCU protocol's SET_PWM. The
standard's bands (IEC 61851-1 Annex A, as EV-side test equipment applies them):

* 10 % <= duty <= 85 %: current = duty x 0.6 A          (6 A .. 51 A)
* 85 % <  duty <= 96 %: current = (duty - 64) x 2.5 A   (52.5 A .. 80 A)
* 100 % ("X1", constant +12 V): no current offered
* 0 % (constant -12 V, state F): EVSE not available; 5 %: digital communication (ISO 15118) required

Between 51 A and 52.5 A the standard has no duty cycle. The forward formula ``I / 2.5 + 64`` then
yields a duty <= 85 % which an EV reads in the lower band as slightly less current than asked:
the error is on the safe side, so the mapping keeps it rather than refusing those values.
"""

from __future__ import annotations

import math
from typing import Final

from drivers.interfaces import MAX_OFFERED_CURRENT_A, MIN_OFFERED_CURRENT_A

#: 100 %: no PWM, the EV must not draw current (state X1 / B1).
DUTY_NO_PWM: Final = 1000
#: 0 %: constant -12 V, state F: the EVSE is not available.
DUTY_STATE_F: Final = 0
#: 5 %: the nominal duty cycle asking for high-level (ISO 15118) communication.
DUTY_DIGITAL_COMMUNICATION: Final = 50
#: Upper end of the 0.6 A-per-percent band.
_BAND_LIMIT_A: Final = 51.0
_BAND_LIMIT_PERMILLE: Final = 850
_MIN_PERMILLE: Final = 100
_MAX_PERMILLE: Final = 960


def duty_for_current(amps: float | None) -> int:
    """The PWM duty cycle, in per-mille, that offers ``amps`` to the EV; None -> 1000 (no PWM).

    Rounds to the nearest 0.1 % (16 A -> 267, i.e. 26.7 %). Raises ValueError outside 6..80 A:
    a caller that cannot offer 6 A must stop the PWM (pass None), not offer less.
    """
    if amps is None:
        return DUTY_NO_PWM
    if not MIN_OFFERED_CURRENT_A <= amps <= MAX_OFFERED_CURRENT_A:  # also false for NaN
        raise ValueError(f"cannot offer {amps} A by PWM (6..80 A, or None for no PWM)")
    # (amps / 0.6) % or (amps / 2.5 + 64) %, in per-mille
    permille = amps * 1000.0 / 60.0 if amps <= _BAND_LIMIT_A else amps * 4.0 + 640.0
    return math.floor(permille + 0.5)


def current_for_duty(permille: int) -> float | None:
    """The current an EV reads from a duty cycle in per-mille; 1000 -> None (no PWM).

    The inverse of :func:`duty_for_current`, rounded to 0.01 A. Raises ValueError for a duty that
    offers no current (0 % = state F, 5 % = digital communication) or lies outside the bands.
    """
    if permille == DUTY_NO_PWM:
        return None
    if _MIN_PERMILLE <= permille <= _BAND_LIMIT_PERMILLE:
        return round(permille * 0.06, 2)
    if _BAND_LIMIT_PERMILLE < permille <= _MAX_PERMILLE:
        return round(permille / 4.0 - 160.0, 2)
    raise ValueError(f"duty cycle {permille / 10:g} % offers no current (10..96 % or 100 %)")
