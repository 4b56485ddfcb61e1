"""The TLS files of the YAML (csms.ca_file, client_cert, client_key) checked before use (issue 9, section 1).

Certificates and keys are made here with `cryptography`; the checker reads them back from real files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from evse.config import CsmsSection, Settings, load_settings, parse_settings
from evse.devcsms.tls import Issued, issue
from evse.errors import ConfigError
from evse.security.tls_files import TlsFileProblem, check_tls_at_start, check_tls_files

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STATION = "CS001"


def _pem_key(issued: Issued) -> bytes:
    return issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def ca() -> Issued:
    return issue(
        "Test CSMS Root", is_ca=True, not_before=NOW - timedelta(days=10), not_after=NOW + timedelta(days=3650)
    )


def client(ca: Issued, cn: str = STATION, *, days_left: float = 100, days_valid: float = 10) -> Issued:
    return issue(
        cn,
        issuer=ca,
        client=True,
        not_before=NOW - timedelta(days=days_valid),
        not_after=NOW + timedelta(days=days_left),
    )


def files(tmp_path: Path, ca: Issued, leaf: Issued) -> CsmsSection:
    ca.write(tmp_path / "ca.pem", tmp_path / "ca-key.pem")
    leaf.write(tmp_path / "cert.pem", tmp_path / "key.pem")
    return csms(tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")


def csms(ca_file: Path | None, client_cert: Path | None, client_key: Path | None) -> CsmsSection:
    return CsmsSection(
        url="wss://localhost:9443/ocpp",
        security_profile=3 if client_cert else 2,
        basic_auth_password=None if client_cert else SecretStr("test-password-0001"),
        ca_file=ca_file,
        client_cert=client_cert,
        client_key=client_key,
    )


def lines(problems: list[TlsFileProblem]) -> list[str]:
    return [p.line("evse.yaml") for p in problems]


def test_all_good_files_have_no_problem(tmp_path: Path, ca: Issued) -> None:
    assert check_tls_files(files(tmp_path, ca, client(ca)), STATION, NOW) == []


def test_missing_files_are_named(tmp_path: Path) -> None:
    section = csms(tmp_path / "nope-ca.pem", tmp_path / "nope.pem", tmp_path / "nope-key.pem")
    assert lines(check_tls_files(section, STATION, NOW)) == [
        f"evse.yaml: csms.ca_file: {tmp_path / 'nope-ca.pem'}: no such file",
        f"evse.yaml: csms.client_cert: {tmp_path / 'nope.pem'}: no such file",
        f"evse.yaml: csms.client_key: {tmp_path / 'nope-key.pem'}: no such file",
    ]


def test_files_that_are_not_pem(tmp_path: Path, ca: Issued) -> None:
    section = files(tmp_path, ca, client(ca))
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    (tmp_path / "cert.pem").write_bytes(_pem_key(ca))  # a key where the certificate belongs
    (tmp_path / "key.pem").write_bytes((tmp_path / "ca-key.pem").read_bytes()[:40])  # truncated
    problems = check_tls_files(section, STATION, NOW)
    assert [(p.key, p.unusable) for p in problems] == [
        ("csms.ca_file", True),
        ("csms.client_cert", True),
        ("csms.client_key", True),
    ]
    assert "not a PEM certificate" in problems[0].problem
    assert "not a PEM certificate" in problems[1].problem
    assert "not a PEM private key" in problems[2].problem


def test_key_that_does_not_match_the_certificate(tmp_path: Path, ca: Issued) -> None:
    section = files(tmp_path, ca, client(ca))
    other = Issued(client(ca).cert, ec.generate_private_key(ec.SECP256R1()))
    other.write(tmp_path / "other.pem", tmp_path / "key.pem")  # overwrites the key only
    assert lines(check_tls_files(section, STATION, NOW)) == [
        f"evse.yaml: csms.client_key: {tmp_path / 'key.pem'}: does not match the certificate in {tmp_path / 'cert.pem'}"
    ]


def test_expired_client_certificate(tmp_path: Path, ca: Issued) -> None:
    section = files(tmp_path, ca, client(ca, days_left=-1))
    [problem] = check_tls_files(section, STATION, NOW)
    assert problem.key == "csms.client_cert"
    assert problem.problem.startswith(f"(CN={STATION}) expired on 2026-05-31T12:00:00Z")
    assert not problem.unusable  # the clock may be what is wrong


def test_not_yet_valid_certificate_in_the_ca_bundle(tmp_path: Path, ca: Issued) -> None:
    section = files(tmp_path, ca, client(ca))
    later = issue("Next Root", is_ca=True, not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=900))
    bundle = (tmp_path / "ca.pem").read_bytes() + later.cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "ca.pem").write_bytes(bundle)
    assert lines(check_tls_files(section, STATION, NOW)) == [
        f"evse.yaml: csms.ca_file: {tmp_path / 'ca.pem'}: "
        "certificate 2 of 2 (CN=Next Root) not valid before 2026-06-03T12:00:00Z"
    ]


def test_client_certificate_for_another_station(tmp_path: Path, ca: Issued) -> None:
    section = files(tmp_path, ca, client(ca, cn="CS999"))
    assert lines(check_tls_files(section, STATION, NOW)) == [
        f"evse.yaml: csms.client_cert: {tmp_path / 'cert.pem'}: subject CN 'CS999', not the station id 'CS001'"
    ]


def settings_with(section: CsmsSection) -> Settings:
    data = {
        "station": {"id": STATION, "vendor": "V", "model": "M"},
        "csms": section.model_dump(exclude_none=True, mode="json"),
        "evses": [{"id": 1, "connectors": [{"id": 1}]}],
    }
    return parse_settings(data, "evse.yaml")


def test_daemon_start_refuses_a_missing_file_naming_it(tmp_path: Path) -> None:
    settings = settings_with(csms(tmp_path / "ca.pem", None, None))
    with pytest.raises(ConfigError, match=r"^evse\.yaml: csms\.ca_file: .*ca\.pem: no such file$"):
        check_tls_at_start(settings, NOW, "evse.yaml")


def test_daemon_start_only_warns_about_an_expired_certificate(
    tmp_path: Path, ca: Issued, caplog: pytest.LogCaptureFixture
) -> None:
    # A board without a real-time clock boots far in the past or future until NTP answers: it must still run.
    settings = settings_with(files(tmp_path, ca, client(ca, days_left=-1)))
    check_tls_at_start(settings, NOW, "evse.yaml")
    assert any("csms.client_cert" in r.getMessage() and "expired" in r.getMessage() for r in caplog.records)


def test_example_tls_config_points_at_the_dev_csms_ca_relative_to_itself() -> None:
    root = Path(__file__).resolve().parents[2]
    settings = load_settings(root / "config" / "example-tls.yaml")
    assert (settings.csms.url, settings.csms.security_profile) == ("wss://localhost:9443/ocpp", 2)
    assert settings.csms.ca_file == root / "state" / "dev-csms-tls" / "ca.pem"  # where `evse dev-csms --tls` writes
