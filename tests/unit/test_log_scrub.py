"""The scrubber that keeps passwords and private keys out of the diagnostics log and its uploads."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.logs.scrub import KEY_REDACTED, REDACTED, Scrubber

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq1w2e3r4t5y6u7i8\n"
    "o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6QWERTYUIOPASDFGHJKLZXCVBNM12\n"
    "-----END PRIVATE KEY-----\n"
)


def test_a_whole_pem_private_key_block_is_removed() -> None:
    text = Scrubber().scrub(f"loaded\n{PEM}done")
    assert "PRIVATE KEY" not in text and "MIGHAgEA" not in text
    assert text == f"loaded\n{KEY_REDACTED}\ndone"


def test_a_cut_pem_block_is_removed_to_the_end() -> None:
    """A record cut before the END line (a truncated message) still loses the key."""
    text = Scrubber().scrub("key: " + PEM[:90])
    assert "MIGHAgEA" not in text and text.startswith("key: ")


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("basic_auth_password: hunter2-long", "basic_auth_password: "),
        ('{"password": "hunter2-long"}', '{"password": "'),
        ("connect password=hunter2-long user=x", "connect password="),
        ("BasicAuthPassword=hunter2-long", "BasicAuthPassword="),
        ("Authorization: Basic Q1MwMDE6aHVudGVyMi1sb25n", "Authorization: Basic "),
        ("GET wss://CS001:hunter2-long@csms.example/ocpp", "GET wss://CS001:"),
    ],
)
def test_secret_shapes_are_removed_without_knowing_the_secret(line: str, kept: str) -> None:
    text = Scrubber().scrub(line)
    assert "hunter2-long" not in text and "Q1MwMDE6" not in text
    assert text.startswith(kept) and REDACTED in text


def test_a_known_secret_is_removed_wherever_it_appears() -> None:
    scrubber = Scrubber(["correct-horse-battery"])
    assert scrubber.scrub("the CSMS said correct-horse-battery!") == f"the CSMS said {REDACTED}!"


def test_a_short_known_secret_is_not_searched_for() -> None:
    """A 4-character password would shred timestamps and ids; its shapes (password=...) still match."""
    scrubber = Scrubber(["2026"])
    assert scrubber.scrub("2026-12-01T17:00:00.000Z INFO") == "2026-12-01T17:00:00.000Z INFO"


def test_the_lines_of_a_key_file_are_known_secrets(tmp_path: Path) -> None:
    (tmp_path / "station.key").write_text(PEM)
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIBcertificatebodyline0123456789\n")
    scrubber = Scrubber()
    scrubber.remember_key_files(tmp_path, tmp_path / "missing.key")
    line = PEM.splitlines()[2]
    assert scrubber.scrub(f"x {line} y") == f"x {REDACTED} y"
    # A certificate is public: its lines stay.
    assert scrubber.scrub("MIIBcertificatebodyline0123456789") == "MIIBcertificatebodyline0123456789"


def test_ordinary_lines_are_untouched() -> None:
    line = "2026-12-01T17:00:00.000Z INFO evse.daemon: daemon ready station=CS001 evses=2"
    assert Scrubber(["secret-value"]).scrub(line) == line
