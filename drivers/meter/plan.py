"""Which Modbus requests read a register map, and what they cost on the RS-485 line.

On a 9600-baud line every request costs more than the registers it carries: 8 request bytes,
5 response bytes of header and CRC, two 3.5-character silences (about 20 character times together)
and the meter's turnaround, against 2 bytes per register. So contiguous registers are read in one
request, and a run of up to ``max_gap`` registers nobody needs between two that are needed is read too
rather than paying for a second request: on the wire alone that pays up to about 10 registers, more
with a slow meter. It is kept small because a meter may refuse a read that covers an address it does
not define; each map sets it. A request never exceeds the meter's own limit (``max_registers``;
Eastron SDM72D-M: 60, Carlo Gavazzi EM340: 50, the protocol: 125).

Everything here is pure, so the plan is unit-tested and the bench computes the line-rate ceiling
from the same plan the driver uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from drivers.meter.register_map import MAX_REGISTERS_PER_REQUEST, RegisterSpec

# RTU framing of FC 03/04: request = address, function, start (2), count (2), CRC (2);
# response = address, function, byte count, 2 bytes per register, CRC (2).
REQUEST_BYTES: Final = 8
RESPONSE_OVERHEAD_BYTES: Final = 5


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers from ``start`` with function ``function``."""

    function: int
    start: int
    count: int
    registers: tuple[RegisterSpec, ...]  # the values decoded from this block, by address

    @property
    def end(self) -> int:
        """First address after the block."""
        return self.start + self.count

    def words_of(self, reg: RegisterSpec, words: tuple[int, ...]) -> tuple[int, ...]:
        """The slice of this block's answer holding ``reg``."""
        offset = reg.address - self.start
        return words[offset : offset + reg.words]


def plan_reads(
    registers: Iterable[RegisterSpec], *, max_registers: int = MAX_REGISTERS_PER_REQUEST, max_gap: int = 10
) -> tuple[ReadBlock, ...]:
    """Group registers into as few read requests as the limits allow.

    Registers of one function code, sorted by address, are packed greedily: a register joins the
    current block when the unread gap before it is at most ``max_gap`` registers and the block stays
    within ``max_registers``; otherwise it starts a new block. Greedy packing of sorted intervals
    gives the fewest blocks. Blocks come out ordered by function code, then address.
    """
    if not 1 <= max_registers <= MAX_REGISTERS_PER_REQUEST:
        raise ValueError(f"max_registers must be 1..{MAX_REGISTERS_PER_REQUEST}, got {max_registers}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    blocks: list[ReadBlock] = []
    current: list[RegisterSpec] = []
    start = end = 0

    def close() -> None:
        if current:
            blocks.append(ReadBlock(current[0].function, start, end - start, tuple(current)))

    for reg in sorted(registers, key=lambda r: (r.function, r.address)):
        if reg.words > max_registers:
            raise ValueError(f"{reg.label} needs {reg.words} registers, more than max_registers={max_registers}")
        fits = (
            current
            and reg.function == current[0].function
            and reg.address - end <= max_gap
            and max(end, reg.end) - start <= max_registers
        )
        if fits:
            current.append(reg)
            end = max(end, reg.end)
        else:
            close()
            current = [reg]
            start, end = reg.address, reg.end
    close()
    return tuple(blocks)


def request_bytes_on_wire(plan: Iterable[ReadBlock]) -> int:
    """Request plus response bytes of one poll of ``plan`` in RTU framing (no silences)."""
    return sum(REQUEST_BYTES + RESPONSE_OVERHEAD_BYTES + 2 * block.count for block in plan)


def char_time_s(baudrate: int, *, bytesize: int = 8, parity: str = "N", stopbits: int = 1) -> float:
    """Time one character takes on the line: start bit, data bits, parity bit, stop bits."""
    bits = 1 + bytesize + (0 if parity == "N" else 1) + stopbits
    return bits / baudrate


def silent_interval_s(baudrate: int, *, bytesize: int = 8, parity: str = "N", stopbits: int = 1) -> float:
    """The RTU inter-frame silence t3.5: 3.5 characters, fixed at 1.75 ms above 19200 baud."""
    if baudrate > 19200:
        return 0.00175
    return 3.5 * char_time_s(baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits)


def poll_line_time_s(
    plan: Iterable[ReadBlock],
    baudrate: int,
    *,
    bytesize: int = 8,
    parity: str = "N",
    stopbits: int = 1,
    turnaround_s: float = 0.0,
) -> float:
    """The least time one poll of ``plan`` occupies the line: the serial line-rate limit.

    Per request: the request, a t3.5 silence, the meter's ``turnaround_s``, the response and
    another t3.5 before the next request may start.
    """
    blocks = tuple(plan)
    char = char_time_s(baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits)
    gap = silent_interval_s(baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits)
    return request_bytes_on_wire(blocks) * char + len(blocks) * (2 * gap + turnaround_s)
