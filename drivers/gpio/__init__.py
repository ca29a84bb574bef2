"""GPIO sensors and outputs on the Raspberry Pi's 40-pin header, through gpiozero.

Four drivers (see README.md): ``gpio.distance`` (HC-SR04 over a parking bay), ``gpio.motion``
(PIR), ``gpio.input`` (door contact, rain switch) and ``gpio.output`` (LED, buzzer that
experiments switch). The backends are gpiozero pin factories: ``lgpio``, ``rpigpio`` and
``simulated`` (gpiozero's own ``MockFactory``, with a small simulation that moves its pins).
"""
