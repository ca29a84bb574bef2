"""Camera frames for on-device vision: capture, in-memory frames for experiments, bay crops.

Frames never leave the device. The driver keeps them in memory and offers a
:class:`~drivers.camera.source.FrameSource` to experiments; it publishes only small readings
(frames per interval, frame rate, frames skipped by slow consumers). See README.md.

Nothing here imports OpenCV or picamera2 at module level: a backend imports its library when it
is chosen, so the agent starts on a machine that has neither.
"""
