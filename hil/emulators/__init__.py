"""Device emulators: test equipment at the far end of each real bus (pty, virtual CAN, I2C), with fault hooks.

They stand in for the meter, the safety MCU, the PN532 and the ISO 15118 module in tests, benchmarks and
the HIL rig. They live here, apart from ``drivers/``, so a firmware image (the wheel) carries only drivers;
nothing in ``evse/`` or ``drivers/`` may import them.
"""
