"""The `site:` section (K04 load balancing): one-line errors, and a limit that would never bind refused."""

from __future__ import annotations

from pathlib import Path

from evse.config import load_settings
from tests.unit.test_config import error_of, write

TWO_EVSES = """
station: {id: CS001, vendor: V, model: M}
csms: {url: "ws://127.0.0.1:9000/ocpp", security_profile: 1, basic_auth_password: secret-password-1}
evses:
  - {id: 1, connectors: [{id: 1}], max_current_a: 32}
  - {id: 2, connectors: [{id: 1}], max_current_a: 16}
state_dir: state
"""


def test_site_limit_is_read(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TWO_EVSES + "site: {max_current_a: 32}\n"))
    assert settings.site is not None and settings.site.max_current_a == 32


def test_no_site_section_means_no_site_limit(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, TWO_EVSES)).site is None


def test_site_limit_above_what_the_evses_can_draw_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, TWO_EVSES + "site: {max_current_a: 63}\n")
    assert "site: max_current_a 63 A is more than the EVSEs together can draw (48 A per phase)" in message
    # Exactly what they can draw is accepted (a fuse sized for the EVSEs).
    assert load_settings(write(tmp_path, TWO_EVSES + "site: {max_current_a: 48}\n")).site is not None


def test_site_limit_below_six_amperes_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, TWO_EVSES + "site: {max_current_a: 5}\n")
    assert "site.max_current_a" in message and "greater than or equal to 6" in message


def test_unknown_site_key_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, TWO_EVSES + "site: {max_current_a: 32, max_power_w: 22000}\n")
    assert "site.max_power_w" in message and "not permitted" in message
