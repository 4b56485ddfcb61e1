"""The functional core of the station: pure rules, `(state, event) -> (new state, actions)` and decisions.

Nothing here does I/O: no asyncio, no SQLite, no sockets, no drivers, no clock reads (time comes in as an
argument). The shell (evse.station.shell) performs what these functions decide. A unit test
(tests/unit/test_station_layout.py) keeps it that way.
"""
