"""The page's routes and their one rule: nothing but the login page and its files without a session.

Pages without a session redirect to /login; API calls answer 401. A POST must carry a JSON body
(``Content-Type: application/json``), which a cross-site form cannot send; with the SameSite=Strict cookie
that keeps other sites from acting through a technician's open session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from evse.web import views
from evse.web.config_edit import ConfigFile
from evse.web.http_server import Request, Response
from evse.web.log_ring import LogRing
from evse.web.sessions import COOKIE, USER, LoginRefused, Sessions

if TYPE_CHECKING:
    from evse.daemon import Daemon

log = logging.getLogger(__name__)

#: Files anyone may fetch: the login page needs them before there is a session.
PUBLIC_FILES = {"login.html", "login.js", "style.css"}
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: `evse sim` commands the page offers, with the request fields each takes.
SIM_COMMANDS = {
    "plug": (),
    "unplug": (),
    "ev-state": ("state",),
    "swipe": ("id_token",),
    "meter": ("power",),
    "fault": ("name",),
    "clear": ("name",),
}
CERTIFICATES_TTL_S = 30.0  # parsing every certificate on each one-second poll would be waste


def _static(name: str) -> bytes | None:
    try:
        return resources.files("evse.web").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _count(text: str | None, default: int) -> int:
    try:
        return max(1, int(text)) if text is not None else default
    except ValueError:
        return default


def _error(status: int, message: str) -> Response:
    return Response.of_json({"ok": False, "error": message}, status)


class WebApp:
    """Answers the page's requests from the running daemon's parts."""

    def __init__(
        self,
        daemon: Daemon,
        sessions: Sessions,
        ring: LogRing,
        config: ConfigFile | None,
        *,
        secure: bool,
        restart_delay_s: float = 0.5,
    ) -> None:
        self._daemon = daemon
        self._sessions = sessions
        self._ring = ring
        self._config = config
        self._secure = secure
        self._restart_delay_s = restart_delay_s
        self._certificates: tuple[float, list[dict[str, Any]]] | None = None
        self._routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "/api/state"): self._state,
            ("GET", "/api/device-model"): self._device_model,
            ("GET", "/api/config"): self._config_text,
            ("POST", "/api/config/check"): self._config_check,
            ("POST", "/api/config/apply"): self._config_apply,
            ("POST", "/api/sim"): self._sim,
            ("POST", "/api/logout"): self._logout,
        }

    async def handle(self, request: Request) -> Response:
        try:
            return await self._route(request)
        except Exception:
            log.exception("web request failed path=%s client=%s", request.path, request.client)
            return _error(500, "internal error (see the daemon log)")

    async def _route(self, request: Request) -> Response:
        if request.method == "POST" and not request.headers.get("content-type", "").startswith("application/json"):
            return _error(415, "a JSON body (Content-Type: application/json) is required")
        if (request.method, request.path) == ("POST", "/api/login"):
            return self._login(request)
        if request.method == "GET" and request.path in ("/login", "/login.html"):
            return self._file("login.html")
        if request.method == "GET" and request.path.startswith("/static/"):
            name = request.path.removeprefix("/static/")
            if name in PUBLIC_FILES:
                return self._file(name)
        signed_in = self._sessions.valid(request.cookie(COOKIE))
        if not signed_in:
            if request.path.startswith("/api/"):
                return _error(401, "log in first")
            return Response(303, headers=[("Location", "/login")])
        if request.method == "GET" and request.path in ("/", "/index.html"):
            return self._file("index.html")
        if request.method == "GET" and request.path.startswith("/static/"):
            return self._file(request.path.removeprefix("/static/"))
        route = self._routes.get((request.method, request.path))
        if route is None:
            return _error(404, f"no such page: {request.method} {request.path}")
        return await route(request)

    def _file(self, name: str) -> Response:
        if "/" in name or name.startswith("."):
            return _error(404, "no such file")
        suffix = name[name.rfind(".") :] if "." in name else ""
        body = _static(name) if suffix in STATIC_TYPES else None
        if body is None:
            return _error(404, "no such file")
        return Response(200, body, STATIC_TYPES[suffix])

    def _login(self, request: Request) -> Response:
        try:
            payload = request.json()
            password = payload.get("password") if isinstance(payload, dict) else None
        except ValueError:
            password = None
        if not isinstance(password, str):
            return _error(400, "password: text required")
        try:
            token = self._sessions.login(password, request.client)
        except LoginRefused as exc:
            log.warning("web login refused client=%s reason=%s", request.client, exc)
            return _error(429 if exc.locked else 401, str(exc))
        log.info("web login user=%s client=%s", USER, request.client)
        cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self._secure else "")
        return Response(200, b'{"ok": true}', "application/json", [("Set-Cookie", cookie)])

    async def _logout(self, request: Request) -> Response:
        self._sessions.logout(request.cookie(COOKIE))
        expired = f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + ("; Secure" if self._secure else "")
        return Response(200, b'{"ok": true}', "application/json", [("Set-Cookie", expired)])

    async def _certificate_rows(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._certificates is None or now - self._certificates[0] > CERTIFICATES_TTL_S:
            self._certificates = (now, await asyncio.to_thread(views.certificates_view, self._daemon))
        return self._certificates[1]

    async def _state(self, request: Request) -> Response:
        daemon = self._daemon
        return Response.of_json(
            {
                "station": views.station_view(daemon),
                "csms": views.connection_view(daemon),
                "evses": views.evses_view(daemon),
                "external_limits": views.external_limits_view(daemon),
                "log": self._ring.lines()[-_count(request.query.get("lines"), 60) :],
                "certificates": await self._certificate_rows(),
                "config_file": str(self._config.path) if self._config is not None else None,
            }
        )

    async def _device_model(self, request: Request) -> Response:
        rows, matched = views.device_model_rows(self._daemon, request.query.get("q", ""))
        return Response.of_json({"rows": rows, "matched": matched})

    async def _config_text(self, request: Request) -> Response:
        if self._config is None:
            return _error(404, "this daemon was not started from a configuration file")
        text = await asyncio.to_thread(self._config.read)
        return Response.of_json({"path": str(self._config.path), "text": text})

    def _uploaded(self, request: Request) -> str | None:
        try:
            payload = request.json()
        except ValueError:
            return None
        text = payload.get("text") if isinstance(payload, dict) else None
        return text if isinstance(text, str) else None

    async def _config_check(self, request: Request) -> Response:
        if self._config is None:
            return _error(404, "this daemon was not started from a configuration file")
        text = self._uploaded(request)
        if text is None:
            return _error(400, "text: the YAML text is required")
        checked = await asyncio.to_thread(self._config.check, text)
        return Response.of_json(checked.as_json())

    async def _config_apply(self, request: Request) -> Response:
        config = self._config
        if config is None:
            return _error(404, "this daemon was not started from a configuration file")
        text = self._uploaded(request)
        if text is None:
            return _error(400, "text: the YAML text is required")
        checked = await asyncio.to_thread(config.check, text)
        if not checked.ok:
            return Response.of_json(checked.as_json(), 422)
        station = self._daemon.station
        if station.has_transaction():
            # The restart would end the session: the technician applies it once the car has gone.
            return Response.of_json({"ok": False, "error": "a transaction is running: apply after it ends"}, 409)
        who = f"web user={USER} client={request.client}"
        # The next BootNotification says why the station rebooted: a technician's local restart.
        station.journal.set_boot_reason("LocalReset")
        await asyncio.to_thread(config.replace, checked, who)
        station.reset_reason = f"configuration applied by {who}"  # the ResetOrReboot security log entry
        # The daemon's Reset path: it stops safely and `evse run` re-executes itself with the new file. Later,
        # so this answer reaches the browser first.
        asyncio.get_running_loop().call_later(self._restart_delay_s, station.reset_requested.set)
        return Response.of_json({"ok": True, "restarting": True, "errors": []}, 202)

    async def _sim(self, request: Request) -> Response:
        if self._daemon.board is None:
            return _error(404, "this board has no simulated devices")
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("cmd") not in SIM_COMMANDS:
            return _error(400, f"cmd: one of {', '.join(SIM_COMMANDS)}")
        command = str(payload["cmd"])
        forwarded = {"cmd": f"sim.{command}", "evse": payload.get("evse")}
        forwarded.update({key: payload.get(key) for key in SIM_COMMANDS[command]})
        answer = await self._daemon.control.answer(forwarded)
        log.info("web sim %s evse=%s by user=%s client=%s", command, payload.get("evse"), USER, request.client)
        return Response.of_json(answer, 200 if answer.get("ok") else 400)
