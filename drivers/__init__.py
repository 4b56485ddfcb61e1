"""Hardware drivers behind small interfaces (drivers.interfaces), found by name (drivers.registry)."""
