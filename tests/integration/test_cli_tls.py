"""`evse check-config`, `evse run` and `evse dev-csms --tls` with TLS files, as a technician runs them."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from evse.devcsms.tls import DevPki, issue
from tests.integration.conftest import PASSWORD, STATION_ID

ROOT = Path(__file__).resolve().parents[2]


def evse(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evse", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def write_config(tmp_path: Path, csms: dict[str, Any]) -> Path:
    data: dict[str, Any] = {
        "station": {"id": STATION_ID, "vendor": "V", "model": "M"},
        "csms": {"url": "wss://localhost:9443/ocpp", **csms},
        "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
        "state_dir": str(tmp_path / "state"),
    }
    path = tmp_path / "evse.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def profile_3(pki: DevPki, station_id: str = STATION_ID) -> dict[str, Any]:
    return {
        "security_profile": 3,
        "ca_file": str(pki.ca_file),
        "client_cert": str(pki.station_cert(station_id)),
        "client_key": str(pki.station_key(station_id)),
    }


def test_check_config_names_a_missing_ca_file_in_one_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, {"security_profile": 2, "basic_auth_password": PASSWORD, "ca_file": "certs/missing-ca.pem"}
    )
    result = evse("check-config", str(config))
    assert result.returncode == 2
    # Relative to the config file, like state_dir.
    assert result.stderr.splitlines() == [
        f"error: {config}: csms.ca_file: {tmp_path / 'certs' / 'missing-ca.pem'}: no such file"
    ]
    assert result.stdout == ""


def test_check_config_ok_with_good_profile_3_files(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    pki.create(("localhost",), station_ids=(STATION_ID,))
    result = evse("check-config", str(write_config(tmp_path, profile_3(pki))))
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "ok", "")


def test_check_config_reports_every_problem_one_line_each(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    pki.create(("localhost",), station_ids=("CS999",))  # a certificate issued to another station
    now = datetime.now(UTC)
    expired = issue("Old Root", is_ca=True, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    expired.write(pki.ca_file, tmp_path / "old-key.pem")
    result = evse("check-config", str(write_config(tmp_path, profile_3(pki, "CS999"))))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(r"error: .*evse\.yaml: csms\.ca_file: .*ca\.pem: \(CN=Old Root\) expired on \S+", lines[0])
    assert lines[1].endswith("station-CS999.pem: subject CN 'CS999', not the station id 'CS001'")


def test_run_refuses_a_client_key_that_does_not_match_naming_the_file(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "pki")
    pki.create(("localhost",), station_ids=(STATION_ID, "CS002"))
    files = profile_3(pki) | {"client_key": str(pki.station_key("CS002"))}
    result = evse("run", "--config", str(write_config(tmp_path, files)))
    assert result.returncode == 2
    assert f"csms.client_key: {pki.station_key('CS002')}: does not match the certificate in" in result.stderr
    assert not (tmp_path / "state").exists()  # refused before anything was built


def test_dev_csms_tls_serves_wss_with_the_ca_it_prints(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evse", "dev-csms", "--tls", "--tls-dir", str(tls_dir), "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        printed = []
        for line in proc.stderr:
            printed.append(line)
            if "listening on" in line:
                break
        text = "".join(printed)
        ca_file = re.search(r"csms\.ca_file: (\S+)", text)
        port = re.search(r"listening on wss://127\.0\.0\.1:(\d+)/ocpp", text)
        assert ca_file is not None and port is not None, text
        assert ca_file.group(1) == str(tls_dir / "ca.pem")
        # The station's view: the printed CA verifies the server for the host name localhost.
        context = ssl.create_default_context(cafile=ca_file.group(1))
        with (
            socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        # And the station certificate it issued passes check-config for profile 3.
        config = write_config(tmp_path, profile_3(DevPki(tls_dir)))
        assert evse("check-config", str(config)).stdout.strip() == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
