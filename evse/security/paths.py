"""Where the station keeps its own certificate in state_dir: known without loading X.509, so the daemon
can tell whether there is one to look after before it imports `cryptography`."""

from pathlib import Path


def station_chain_path(state_dir: Path) -> Path:
    """The ChargingStationCertificate chain the CSMS signed (A02), leaf first."""
    return state_dir / "certs" / "station" / "chain.pem"
