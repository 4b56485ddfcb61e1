"""Shared by every test suite."""

import os

from evse.ocpp.rpc import VALIDATE_OUTGOING_ENV

# Every payload the station sends in a test is checked against its official schema, also in the
# daemons tests start as subprocesses (which inherit the environment); a station in service does not.
os.environ[VALIDATE_OUTGOING_ENV] = "1"
