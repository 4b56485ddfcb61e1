"""The technician's web page as one long-lived task of the daemon (``web.enabled`` in the YAML)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from evse.logs.scrub import Scrubber
from evse.web.app import WebApp
from evse.web.config_edit import ConfigFile
from evse.web.http_server import serve
from evse.web.log_ring import LogRing
from evse.web.sessions import Sessions

if TYPE_CHECKING:
    from evse.daemon import Daemon

log = logging.getLogger(__name__)


class WebPage:
    """Serves the page while the daemon runs; its log ring listens on the root logger meanwhile."""

    def __init__(self, daemon: Daemon, config_path: Path | None) -> None:
        web = daemon.settings.web
        assert web.password is not None  # the configuration refuses an enabled page without one
        password = web.password.get_secret_value()
        scrubber = daemon.logs.scrubber if daemon.logs is not None else Scrubber()
        scrubber.remember(password)  # the page's own password never reaches a log line either
        self.ring = LogRing(scrubber)
        self.sessions = Sessions(password, time.monotonic)
        self.app = WebApp(
            daemon, self.sessions, self.ring, ConfigFile(config_path) if config_path else None, secure=web.tls
        )
        self._daemon = daemon

    @property
    def url(self) -> str:
        web = self._daemon.settings.web
        host = f"[{web.host}]" if ":" in web.host else web.host
        return f"{'https' if web.tls else 'http'}://{host}:{web.port}/"

    async def run(self) -> None:
        settings = self._daemon.settings
        web = settings.web
        root = logging.getLogger()
        root.addHandler(self.ring)
        try:
            context = None
            if web.tls:
                from evse.web.certificate import ensure_certificate, server_context

                context = server_context(*ensure_certificate(settings.state_dir, settings.station.id, web.host))
            log.info("web page at %s", self.url)
            await serve(self.app.handle, web.host, web.port, context)
        except OSError as exc:
            # A port taken, an address not on this device, a read-only state_dir for the certificate: the
            # station charges on without its page (ssl.SSLError, an unreadable certificate, is an OSError).
            log.error("web page unavailable at %s: %s", self.url, exc)
        finally:
            root.removeHandler(self.ring)
