"""The local control socket: one JSON request per line, one JSON answer per line.

`evse status` and `evse sim ...` use it; so do tests. The socket is created with mode 0660 in the
state/run directory, so only root and the service's group may drive the simulated board.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from evse.errors import ControlError, EvseError

log = logging.getLogger(__name__)

Command = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    """Serves the control socket; commands are registered by name."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._commands: dict[str, Command] = {}

    def add(self, name: str, command: Command) -> None:
        self._commands[name] = command

    async def run(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.unlink(missing_ok=True)
        server = await asyncio.start_unix_server(self._serve, path=str(self._path))
        os.chmod(self._path, 0o660)
        log.info("control socket at %s", self._path)
        try:
            async with server:
                await server.serve_forever()
        finally:
            self._path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                answer = await self._answer(line)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        return await self.answer(request)

    async def answer(self, request: Any) -> dict[str, Any]:
        """The answer to one request, as the socket would send it: the web page's sim controls use the
        same commands as `evse sim`, in process."""
        try:
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
            command = self._commands.get(str(request.get("cmd")))
            if command is None:
                return {"ok": False, "error": f"unknown command {request.get('cmd')!r}"}
            return {"ok": True, **await command(request)}
        except (ValueError, KeyError, TypeError, EvseError) as exc:
            return {"ok": False, "error": str(exc)}


def request(path: Path, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Blocking client for the CLI: send one request, return the answer or raise ControlError."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(f"daemon not running (no control socket at {path})") from None
    except OSError as exc:
        raise ControlError(f"control socket {path}: {exc}") from None
    try:
        answer: dict[str, Any] = json.loads(data)
    except ValueError:
        raise ControlError(f"control socket {path}: unreadable answer") from None
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "request failed")))
    return answer
