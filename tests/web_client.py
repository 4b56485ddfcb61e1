"""A plain HTTP client for the technician's page in tests (stdlib, no browser), and a page-enabled YAML."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import yaml

from tests.ems_client import free_port
from tests.integration.conftest import PASSWORD, STATION_ID

WEB_PASSWORD = "technician-pass-1"


def web_yaml(tmp_path: Path, csms_port: int, web_port: int | None = None, **web: Any) -> dict[str, Any]:
    """A station configuration with the page on loopback (plain HTTP unless ``tls=True``)."""
    return {
        "station": {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel", "firmware_version": "1.0.0"},
        "csms": {"url": f"ws://127.0.0.1:{csms_port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
        "board": "sim",
        "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
        "state_dir": str(tmp_path / "state"),
        "device_model": {
            "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
            "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
            "TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"],
            "TxCtrlr.TxStopPoint": ["EVConnected", "Authorized"],
            "SampledDataCtrlr.TxUpdatedInterval": 1,
        },
        "web": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": web_port or free_port(),
            "password": WEB_PASSWORD,
            "tls": False,
            **web,
        },
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebClient:
    """Requests to the page; keeps the session cookie once logged in."""

    def __init__(self, port: int, *, tls_ca: Path | None = None) -> None:
        self.port = port
        self.cookie: str | None = None
        self._context: ssl.SSLContext | None = None
        if tls_ca is not None:
            self._context = ssl.create_default_context(cafile=str(tls_ca))

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Answer:
        if self._context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=10, context=self._context
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": content_type} if body is not None else {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            conn.close()

    def login(self, password: str = WEB_PASSWORD) -> Answer:
        answer = self.request("POST", "/api/login", {"password": password})
        if answer.status == 200:
            jar: SimpleCookie = SimpleCookie()
            jar.load(answer.headers["Set-Cookie"])
            self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
        return answer
