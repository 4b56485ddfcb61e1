"""Modbus-RTU energy meters: one driver, register maps as data (``config/meters/*.yaml``).

``modbus`` is the driver (entry point ``meter.modbus``); ``register_map``, ``registers``, ``plan`` and
``reading`` are its pure parts (schema, codec, request planning, plausibility); ``bus`` wraps pymodbus;
``emulator`` and ``pty_link`` are the far end of the line for tests and the HIL rig.
"""
