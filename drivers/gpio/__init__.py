"""GPIO drivers on gpiozero: contactor, motor lock, digital inputs, and the status-LED helper.

Every class takes its gpiozero pin factory as the ``pin_factory`` keyword (``None``: the machine's
default), never the global ``Device.pin_factory``; tests pass ``gpiozero.pins.mock.MockFactory()``.
Modules: ``pins`` (pin numbers in Params), ``access`` (claiming pins, GPIO errors), ``watched``
(an input seen from the event loop, debounced), ``faults`` (raise once, clear once), and one
module per device.
"""
