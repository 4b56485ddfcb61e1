"""OCTT test cases (Charging Station role), one test per case, named after it: the daemon runs in-process
against the dev CSMS over loopback websockets, exactly as in tests/integration."""

from tests.integration.conftest import csms, make_station, station

__all__ = ["csms", "make_station", "station"]
