"""The supervisor: runs drivers and experiments as asyncio tasks and restarts the ones that fail.

A service that raises is logged with the reason and started again after an exponential backoff
(``initial``, doubling up to ``maximum`` seconds); once it has run for ``stable_after`` seconds
the backoff starts afresh. One failing service never stops the others or the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class ServiceState:
    """What the supervisor knows of one service (for ``status`` and the API)."""

    name: str
    state: str = "starting"
    """``starting``, ``running``, ``backoff`` (waiting to restart), ``finished`` or ``stopped``."""
    restarts: int = 0
    last_error: str | None = None
    started_at: float | None = None
    next_start_in: float | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    """Runs named services and restarts them with backoff.

    Args:
        logger: where failures and restarts are logged.
        initial: first backoff delay, seconds.
        maximum: longest backoff delay, seconds.
        stable_after: a run this long (seconds) resets the backoff.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        initial: float = 1.0,
        maximum: float = 60.0,
        stable_after: float = 60.0,
    ) -> None:
        self._log = logger
        self.initial = initial
        self.maximum = maximum
        self.stable_after = stable_after
        self.services: dict[str, ServiceState] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> ServiceState:
        """Start ``run()`` as service ``name`` and keep it running."""
        if name in self.services:
            raise ValueError(f"service {name!r} is already supervised")
        state = ServiceState(name)
        state.task = asyncio.get_running_loop().create_task(
            self._keep_running(state, run), name=f"service:{name}"
        )
        self.services[name] = state
        return state

    async def _keep_running(self, state: ServiceState, run: Callable[[], Awaitable[None]]) -> None:
        delay = self.initial
        while True:
            state.state = "running"
            state.started_at = time.monotonic()
            state.next_start_in = None
            try:
                await run()
            except asyncio.CancelledError:
                state.state = "stopped"
                raise
            except Exception as exc:
                ran_for = time.monotonic() - state.started_at
                if ran_for >= self.stable_after:
                    delay = self.initial
                state.last_error = f"{type(exc).__name__}: {exc}"
                state.restarts += 1
                state.state = "backoff"
                state.next_start_in = delay
                self._log.error(
                    "%s failed after %.1f s (%s); restart %d in %.1f s",
                    state.name,
                    ran_for,
                    state.last_error,
                    state.restarts,
                    delay,
                    exc_info=self._log.isEnabledFor(logging.DEBUG),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.maximum)
            else:
                state.state = "finished"
                self._log.info("%s finished", state.name)
                return

    async def stop(self, name: str | None = None) -> None:
        """Cancel one service, or all of them, and wait until they have stopped."""
        names = [name] if name is not None else list(self.services)
        tasks = [t for n in names if (t := self.services[n].task) is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for n in names:
            self.services[n].state = "stopped"
