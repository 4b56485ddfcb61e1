"""What a station carries in memory: libraries only some stations need are loaded on first use (make bench
measures the RSS; this keeps the imports from creeping back in). Runs in a fresh interpreter, since the test
process itself has imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, tempfile, pathlib
from evse.config import load_settings
from evse.daemon import build
settings = load_settings(pathlib.Path("config/sim.yaml"))
settings = settings.model_copy(update={"state_dir": pathlib.Path(tempfile.mkdtemp())})
build(settings)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_simulated_profile_1_station_loads_no_x509_and_no_hardware_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    # cryptography: TLS files and certificate handlers (~11 MiB); the rest: drivers a sim board does not use.
    assert loaded.isdisjoint({"cryptography", "pymodbus", "can", "gpiozero", "smbus2", "serial", "ocpp"})
