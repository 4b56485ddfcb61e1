"""The imperative shell of the station: feeds events to the pure core (evse.station.core), performs its
actions on drivers, the outbox and the SQLite stores, and owns the long-lived tasks."""
