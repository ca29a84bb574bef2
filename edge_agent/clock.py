"""The wall clock, and whether the kernel considers it synchronised.

A Raspberry Pi has no real-time clock: until NTP has set the time, timestamps can be days or
years off. The kernel's ``adjtimex`` status tells whether the clock is synchronised (it returns
``TIME_ERROR`` while it is not); readings taken before that are flagged ``clock_unsynced``.
The clock is injectable so that tests can move it (see :class:`ManualClock`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Protocol

_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; only status and the return value are read.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("padding", ctypes.c_int * 11),
    ]


def kernel_clock_synchronized() -> bool:
    """Ask the kernel (``adjtimex``) whether the system clock is synchronised.

    Returns True where the call is unavailable (not Linux), so nothing is flagged on a
    development machine that cannot tell.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return True
    try:
        adjtimex = ctypes.CDLL(name, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return True
    timex = _Timex()
    return bool(adjtimex(ctypes.byref(timex)) != _TIME_ERROR)


class Clock(Protocol):
    """What drivers and the agent use to tell the time."""

    def now(self) -> float:
        """Wall-clock time in seconds since the Unix epoch."""
        ...

    @property
    def synchronized(self) -> bool:
        """Whether :meth:`now` can be trusted (set by NTP or another source)."""
        ...


class SystemClock:
    """The system's wall clock; :attr:`synchronized` asks the kernel at most every ``recheck`` s.

    Args:
        trust: skip the kernel check and report synchronised (for machines whose clock is set by
            a mechanism the kernel does not report, such as a container's host).
        recheck: seconds between two kernel checks.
    """

    def __init__(self, *, trust: bool = False, recheck: float = 10.0) -> None:
        self._trust = trust
        self._recheck = recheck
        self._checked_at = -recheck
        self._synced = trust

    def now(self) -> float:
        """Wall-clock time in seconds since the Unix epoch."""
        return time.time()

    @property
    def synchronized(self) -> bool:
        """Whether the kernel reports the clock synchronised (cached for ``recheck`` s)."""
        if self._trust:
            return True
        mono = time.monotonic()
        if mono - self._checked_at >= self._recheck:
            self._synced = kernel_clock_synchronized()
            self._checked_at = mono
        return self._synced


class ManualClock:
    """A clock that tests set and advance by hand."""

    def __init__(self, start: float = 1_700_000_000.0, *, synchronized: bool = True) -> None:
        self.time = start
        self.synchronized = synchronized

    def now(self) -> float:
        """The time set by the test, in epoch seconds."""
        return self.time

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self.time += seconds
