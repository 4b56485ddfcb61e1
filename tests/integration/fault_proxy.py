"""A fault-injecting TCP proxy between the station and the dev CSMS, for the network fault tests.

It forwards bytes on 127.0.0.1 and, when told to at run time, misbehaves the way a field network
does: it drops everything (a blackhole: no FIN, no RST, the peers only find out by their own
timeouts), delays each chunk, leaves a half-open connection (the CSMS side is closed, the station
side stays up and silent), resets a connection in the middle of a frame (RST through SO_LINGER 0),
or throttles the CSMS's answers to a few bytes a second.

A fault applies to the connections that are open and to those accepted while it lasts. Bytes a
connection dropped are gone (TCP would have given up on them too), so a connection that lost any
stays silent for good: healing the network lets only new connections through, as after a real
outage where the old TCP connection has timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass
from enum import Enum


class FaultKind(Enum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    DELAY = "delay"
    HALF_OPEN = "half-open"
    RESET_MID_FRAME = "reset-mid-frame"
    THROTTLE = "throttle"


@dataclass(frozen=True)
class Fault:
    """What the proxy does to the next chunk of bytes it reads."""

    kind: FaultKind = FaultKind.PASS
    delay_s: float = 0.0
    bytes_per_s: float = 0.0


_CHUNK = 65536


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: a zero linger makes the kernel drop the connection at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One proxied connection: station side, CSMS side, a pump task per direction."""

    def __init__(
        self,
        proxy: FaultProxy,
        station: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        csms: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self._proxy = proxy
        self.station_reader, self.station_writer = station
        self.csms_reader, self.csms_writer = csms
        self.silenced = False  # bytes were dropped: this connection never forwards again
        self.closed = False

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(self.station_reader, self.csms_writer, upstream=True))
                group.create_task(self._pump(self.csms_reader, self.station_writer, upstream=False))
        except* (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.abort()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.station_writer.transport.abort()
            self.csms_writer.transport.abort()

    def half_open(self) -> None:
        """The CSMS end goes away (it sees a FIN); the station end is kept open and told nothing."""
        self.silenced = True
        self.csms_writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool) -> None:
        # Delivery runs in its own task so that a delayed chunk does not stop reading (the delay is
        # the network's, not a full receive buffer's), while a queue keeps the byte order.
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        deliver = asyncio.create_task(self._deliver(queue, writer, upstream=upstream))
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    data = await reader.read(_CHUNK)
                except OSError:
                    if not self.silenced:
                        raise
                    # The reset dies in the blackhole with everything else: the far side hears nothing.
                    await asyncio.Future()
                fault = self._proxy.fault
                if not data:
                    if self.silenced or fault.kind in (FaultKind.BLACKHOLE, FaultKind.HALF_OPEN):
                        # No FIN crosses a blackhole: the far side keeps waiting, as in the field.
                        await asyncio.Future()
                    await queue.put(None)
                    await deliver
                    return
                if self.silenced or fault.kind in (FaultKind.BLACKHOLE, FaultKind.HALF_OPEN):
                    self.silenced = True
                    self._proxy.dropped_bytes += len(data)
                    continue
                if fault.kind is FaultKind.RESET_MID_FRAME and upstream:
                    # Half a websocket frame reaches the CSMS, then both ends get an RST.
                    self._proxy.fault = Fault()
                    self.csms_writer.write(data[: max(1, len(data) // 2)])
                    with contextlib.suppress(OSError):
                        await self.csms_writer.drain()
                    self._proxy.resets += 1
                    _reset(self.csms_writer)
                    _reset(self.station_writer)
                    self.closed = True
                    return
                delay = fault.delay_s if fault.kind is FaultKind.DELAY else 0.0
                await queue.put((loop.time() + delay, data))
        finally:
            deliver.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await deliver

    async def _deliver(
        self, queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await queue.get()
            if item is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            due, data = item
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if self.silenced:
                continue
            fault = self._proxy.fault
            if fault.kind is FaultKind.THROTTLE and not upstream:
                # A slow CSMS: its bytes trickle out a few at a time.
                step = max(1, int(fault.bytes_per_s / 10))
                for start in range(0, len(data), step):
                    writer.write(data[start : start + step])
                    await writer.drain()
                    await asyncio.sleep(step / fault.bytes_per_s)
                continue
            writer.write(data)
            await writer.drain()


class FaultProxy:
    """Listens on 127.0.0.1 and forwards to `target_port`; set `fault` (or call the helpers) at any time.

    `accepted` counts connections (a reconnect shows as one more); `dropped_bytes` and `resets` show
    the fault really bit.
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self.fault = Fault()
        self.accepted = 0
        self.dropped_bytes = 0
        self.resets = 0
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # ---- switching faults ------------------------------------------------------------------------
    def heal(self) -> None:
        self.fault = Fault()

    def blackhole(self) -> None:
        self.fault = Fault(FaultKind.BLACKHOLE)

    def delay(self, seconds: float) -> None:
        self.fault = Fault(FaultKind.DELAY, delay_s=seconds)

    def throttle(self, bytes_per_s: float) -> None:
        self.fault = Fault(FaultKind.THROTTLE, bytes_per_s=bytes_per_s)

    def reset_mid_frame(self) -> None:
        """The next chunk the station sends is cut in half and both ends are reset (once)."""
        self.fault = Fault(FaultKind.RESET_MID_FRAME)

    def half_open(self) -> None:
        """Close the CSMS side of every open connection; the station side stays open and silent."""
        self.fault = Fault(FaultKind.HALF_OPEN)
        for link in list(self._links):
            link.half_open()

    # ---- connections -----------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream = await asyncio.open_connection(*self._target)
        except OSError:
            _reset(writer)
            return
        link = _Link(self, (reader, writer), upstream)
        if self.fault.kind is FaultKind.HALF_OPEN:
            link.half_open()
        self._links.add(link)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await link.run()
        finally:
            self._links.discard(link)
            self._tasks.discard(task)
