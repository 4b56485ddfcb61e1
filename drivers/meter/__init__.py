"""Modbus-RTU energy meters: one driver, register maps as data (``config/meters/*.yaml``).

``modbus`` is the driver (entry point ``meter.modbus``); ``register_map``, ``registers``, ``plan`` and
``reading`` are its pure parts (schema, codec, request planning, plausibility); ``bus`` wraps pymodbus.
The far end of the line for tests and the HIL rig (an emulated meter on a pty) is test equipment:
``hil/emulators/meter.py``.
"""
