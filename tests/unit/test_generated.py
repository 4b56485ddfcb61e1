"""Generated artefacts stay in step with their sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--check"], capture_output=True, text=True)


def test_message_models_match_the_official_schemas() -> None:
    result = run("gen_models.py")
    assert result.returncode == 0, result.stderr


def test_conformance_table_matches_the_test_names() -> None:
    result = run("conformance.py")
    assert result.returncode == 0, result.stderr
