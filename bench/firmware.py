"""Firmware update figures: download throughput to state_dir against the loopback HTTP server, resident
memory of the downloading process for two image sizes (it must not grow with the image: the download is
streamed), and the signature check time for a 50 MB image (SHA-256 of the file + RSA or ECDSA verify).

The download runs in a fresh interpreter (the station's own download code, nothing else loaded), sampled
from here through /proc; the server runs in this process, so its copy of the image is not counted."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import proc_status_kb

from evse.security.firmware_signature import verify_image_signature, verify_signing_certificate
from tests.firmware_kit import make_manufacturer
from tests.http_server import LoopbackHttpServer

SIZES_MB = (32, 128)
SIGNED_MB = 50
CHECKS = 3
ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import asyncio, json, sys, time
from pathlib import Path
from evse.firmware.download import DownloadTarget, download
url, path = sys.argv[1], Path(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
began = time.monotonic()
size = asyncio.run(download(DownloadTarget(url=url, path=path, max_bytes=1 << 34), lambda s, t: None))
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"bytes": size, "seconds": time.monotonic() - began, "hwm_kb": hwm}), flush=True)
"""


@dataclass(frozen=True)
class DownloadResult:
    size_mb: int
    seconds: float
    rss_before_kb: int  # the child after its imports, before the first byte
    rss_peak_kb: int  # sampled while downloading
    hwm_kb: int  # the kernel's high-water mark (VmHWM) for the child's whole life since exec


@dataclass(frozen=True)
class SignatureResult:
    key: str
    seconds: float  # median of CHECKS: hash the 50 MB file + verify


async def _download(tmp: Path, server: LoopbackHttpServer, size_mb: int) -> DownloadResult:
    path = f"/fw-{size_mb}.img"
    server.files[path] = os.urandom(1024 * 1024) * size_mb  # 1 MiB of noise repeated: cheap to make
    target = tmp / f"fw-{size_mb}.img"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, server.url(path), str(target),
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    await child.stdout.readline()  # imported, waiting
    before = proc_status_kb(child.pid, "VmRSS")
    child.stdin.write(b"go\n")
    await child.stdin.drain()
    peak = before
    reader = asyncio.ensure_future(child.stdout.readline())
    while not reader.done():
        peak = max(peak, proc_status_kb(child.pid, "VmRSS"))
        await asyncio.wait([reader], timeout=0.02)
    result = json.loads(reader.result())
    await child.wait()
    assert result["bytes"] == size_mb * 1024 * 1024 and target.stat().st_size == result["bytes"]
    target.unlink()
    del server.files[path]
    return DownloadResult(size_mb, result["seconds"], before, peak, result["hwm_kb"])


async def downloads(tmp: Path) -> list[DownloadResult]:
    with LoopbackHttpServer() as server:
        return [await _download(tmp, server, size) for size in SIZES_MB]


def signature_checks(tmp: Path) -> list[SignatureResult]:
    image = tmp / "signed.img"
    image.write_bytes(os.urandom(1024 * 1024) * SIGNED_MB)
    data = image.read_bytes()
    results = []
    for key in ("rsa", "ec"):
        maker = make_manufacturer(key)  # type: ignore[arg-type]
        signature = maker.sign(data)
        samples = []
        for _ in range(CHECKS):
            began = time.perf_counter()
            from datetime import UTC, datetime

            signer = verify_signing_certificate(maker.signing_pem, [maker.root], datetime.now(UTC))
            verify_image_signature(image, signature, signer)
            samples.append(time.perf_counter() - began)
        results.append(SignatureResult("RSA-2048" if key == "rsa" else "ECDSA P-256", statistics.median(samples)))
    image.unlink()
    return results
