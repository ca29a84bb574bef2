"""Applying a new config without losing the device: validate, back up, restart, then confirm
the new config or roll it back.

How it works (``POST /v1/config/apply``):

1. The running agent validates the new text exactly as ``edge-agent run`` would load it.
   Problems are answered 422 and nothing changes.
2. It copies the current file to ``agent.toml.bak``, writes the record
   ``agent.toml.apply.json`` (state ``pending``), then replaces ``agent.toml`` with the new
   text. Each file is written to a temporary file, flushed to disk and renamed, so a power cut
   leaves either the old or the new file, never half of one. Mode and owner of the config file
   are kept.
3. It answers 202 and restarts: under systemd it exits with code 75 (``EX_TEMPFAIL``) and the
   unit starts it again (``Restart=on-failure``); elsewhere it replaces its own process image
   with the same command line (``exec``), keeping its pid.
4. The new agent finds the ``pending`` record for its config file and runs on trial
   (:class:`ApplyTrial`): the config is **confirmed** once, for ``[api] apply_settle`` seconds
   in a row, every enabled sensor and experiment runs without a failure, the store writes, and
   the API serves. If that has not happened within ``[api] apply_timeout`` seconds of the
   start, the backup is put back, the rejected text is kept as ``agent.toml.failed``, the
   record says ``rolled-back`` with the reason (for example the failing sensor's error), and
   the agent restarts on the old config.

What else can go wrong is covered too:

- The new agent crashes or exits before it confirms (a store it cannot open, an exception):
  an exit handler rolls back and restarts (``exec``) or leaves the restart to systemd, which
  then starts the old config.
- The new file does not even load at the start (it passed validation in the old agent, but,
  say, a user experiment it enables was removed since): :func:`roll_back_unloadable_apply`,
  which ``edge-agent run`` calls before loading its config, rolls back.
- It is killed (SIGKILL, power cut, the watchdog): the record says the trial already began
  (``attempts``), so the next start rolls back before running anything.
- Its event loop hangs: a thread rolls back and restarts ``apply_timeout`` + 15 s after the
  start, without the loop's help.
- A technician stops the agent during the trial: the backup is restored (an unconfirmed config
  is never left in place), and the agent stays stopped.
- Someone edited the config by hand meanwhile (its checksum is not the applied one): the trial
  is dropped (``superseded``) and the file is left alone.

The apply settings that govern a trial are those of the agent that accepted the request
(they are written into the record), so a new config cannot shorten its own trial.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, NoReturn, cast

from ..config import AgentConfig, load_config, parse_config
from ..errors import ConfigError
from .models import ApplyRecord, ValidateReply

EXIT_RESTART: Final = 75
"""Exit code that asks systemd to start the agent again (``EX_TEMPFAIL``)."""
HANG_GRACE: Final = 15.0
"""Seconds past ``apply_timeout`` after which the hang guard acts without the event loop."""

RestartMode = Literal["systemd", "exec"]


def restart_mode(setting: str) -> RestartMode:
    """``systemd`` or ``exec`` for ``[api] restart`` (``auto``: systemd when run by it)."""
    if setting == "systemd":
        return "systemd"
    if setting == "exec":
        return "exec"
    return "systemd" if os.environ.get("INVOCATION_ID") else "exec"


def restart_process(mode: RestartMode, *, hard: bool = False) -> NoReturn:
    """Start this agent again: exit 75 for systemd, or exec the same command line.

    ``hard`` (from the hang guard's thread) exits at once without unwinding.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if mode == "exec":
        os.execv(sys.executable, sys.orig_argv)
    if hard:
        os._exit(EXIT_RESTART)
    raise SystemExit(EXIT_RESTART)


# -- files --------------------------------------------------------------------------------


def record_path(config: Path) -> Path:
    """``agent.toml.apply.json``: the state of the last apply of ``config``."""
    return config.with_name(config.name + ".apply.json")


def backup_path(config: Path) -> Path:
    """``agent.toml.bak``: the config before the last apply."""
    return config.with_name(config.name + ".bak")


def failed_path(config: Path) -> Path:
    """``agent.toml.failed``: the text of the last apply that was rolled back."""
    return config.with_name(config.name + ".failed")


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes, *, like: Path | None = None) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the directory.

    The new file gets the mode and owner of ``like`` when that exists.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if like is not None and like.exists():
            st = like.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_record(config: Path) -> ApplyRecord | None:
    """The apply record of ``config``, or None (none yet, or unreadable)."""
    try:
        data = json.loads(record_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cast(ApplyRecord, data) if isinstance(data, dict) and "state" in data else None


def write_record(config: Path, record: ApplyRecord) -> None:
    """Store the apply record of ``config`` (atomically)."""
    atomic_write(record_path(config), json.dumps(record, indent=2).encode() + b"\n", like=None)


# -- validation ---------------------------------------------------------------------------


def parse_text(text: str, *, source: Path | None = None) -> AgentConfig:
    """Validate config ``text`` as ``edge-agent run`` would; raises :class:`ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from exc
    return parse_config(data, source=source)


def validate_text(text: str) -> ValidateReply:
    """The problems of config ``text``, one per line, as ``edge-agent config check`` says them."""
    try:
        parse_text(text)
    except ConfigError as exc:
        return {"ok": False, "problems": str(exc).splitlines()}
    return {"ok": True, "problems": []}


class ApplyRefused(Exception):
    """An apply cannot start; ``status``, the message and the fix go to the client."""

    def __init__(
        self, status: int, message: str, fix: str, problems: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.fix = fix
        self.problems = problems or []


def prepare_apply(
    config: Path | None,
    text: str,
    *,
    requested_by: str,
    timeout: float,
    settle: float,
) -> ApplyRecord | None:
    """Validate ``text``, back up ``config``, write the record and the new file.

    Returns the ``pending`` record, or None when ``text`` is the file's current text. Raises
    :class:`ApplyRefused`. Blocking (file I/O): call it in a thread.
    """
    if config is None:
        raise ApplyRefused(
            409,
            "this agent runs a built-in config (edge-agent demo), not a config file",
            "start the agent with edge-agent run --config FILE to change its config",
        )
    current = read_record(config)
    if current is not None and current["state"] == "pending":
        raise ApplyRefused(
            409,
            f"a config applied at {time.ctime(current['requested_at'])} is still on trial",
            f"wait up to {current['timeout_s']:g} s until it is confirmed or rolled back",
        )
    try:
        parse_text(text, source=config)
    except ConfigError as exc:
        raise ApplyRefused(
            422,
            "the new config is not valid; nothing was changed",
            "fix the problems listed and apply again",
            [line.removeprefix(f"{config}: ") for line in str(exc).splitlines()],
        ) from exc
    new = text.encode("utf-8")
    try:
        old = config.read_bytes()
    except OSError as exc:
        raise ApplyRefused(
            500, f"cannot read the current config {config}: {exc.strerror}", "check the file"
        ) from exc
    if old == new:
        return None
    record: ApplyRecord = {
        "state": "pending",
        "requested_at": time.time(),
        "requested_by": requested_by,
        "decided_at": None,
        "reason": None,
        "timeout_s": timeout,
        "settle_s": settle,
        "attempts": 0,
        "backup": str(backup_path(config)),
        "failed_copy": None,
        "previous_sha256": sha256(old),
        "new_sha256": sha256(new),
    }
    try:
        atomic_write(backup_path(config), old, like=config)
        write_record(config, record)
        atomic_write(config, new, like=config)
    except OSError as exc:
        with contextlib.suppress(OSError):
            if record_path(config).exists() and config.read_bytes() == old:
                record_path(config).unlink()
        raise ApplyRefused(
            500,
            f"cannot write {exc.filename or config}: {exc.strerror}",
            f"let the agent's user write {config.parent} (the ansible role does), or edit "
            "the file by hand and restart the agent",
        ) from exc
    return record


# -- the trial ----------------------------------------------------------------------------

TrialCheck = Callable[[], list[str]]
"""The agent's problems right now (empty: healthy), for :class:`ApplyTrial`."""


class ApplyTrial:
    """The trial of a freshly applied config, in the agent that started on it.

    Create it with :meth:`begin` at the very start of ``Agent.run``; run :meth:`watch` as a
    task once the sensors are started; call :meth:`on_stop` when the agent stops normally.
    """

    def __init__(
        self,
        config: Path,
        record: ApplyRecord,
        *,
        mode: RestartMode,
        logger: logging.Logger,
        on_decided: Callable[[ApplyRecord], None] | None = None,
    ) -> None:
        self.config = config
        self.record = record
        self.mode = mode
        self.log = logger
        self.on_decided = on_decided
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._hang_guard: threading.Timer | None = None

    @classmethod
    def begin(
        cls,
        config: Path | None,
        *,
        mode: RestartMode,
        logger: logging.Logger,
        restart: Callable[[RestartMode], object] = restart_process,
    ) -> ApplyTrial | None:
        """Look for a pending apply of ``config``; start its trial, or roll back at once.

        Returns None when there is nothing on trial. Rolls back and calls ``restart`` (which
        does not return) when an earlier start with this config never confirmed it.
        """
        if config is None:
            return None
        record = read_record(config)
        if record is None or record["state"] != "pending":
            return None
        trial = cls(config, record, mode=mode, logger=logger)
        try:
            current = sha256(config.read_bytes())
        except OSError:
            current = ""
        if current != record["new_sha256"]:
            trial._decide("superseded", "the config file was changed by hand during the trial")
            return None
        if record["attempts"] >= 1:
            trial.rollback(
                "the agent stopped (crashed, was killed or hung) before the new config was "
                "confirmed"
            )
            restart(mode)
            return None
        record["attempts"] += 1
        write_record(config, record)
        atexit.register(trial._at_exit)
        guard = threading.Timer(record["timeout_s"] + HANG_GRACE, trial._hung)
        guard.daemon = True
        guard.start()
        trial._hang_guard = guard
        logger.warning(
            "config %s applied by %s is on trial: confirmed after %g s without failures, "
            "rolled back if not within %g s",
            config,
            record["requested_by"],
            record["settle_s"],
            record["timeout_s"],
        )
        return trial

    @property
    def decided(self) -> bool:
        """Whether the trial ended (confirmed, rolled back or superseded)."""
        return self.record["state"] != "pending"

    async def watch(self, problems: TrialCheck, *, poll: float = 0.2) -> bool:
        """Confirm after ``settle_s`` healthy seconds; False (rolled back) after ``timeout_s``.

        ``problems`` lists what is wrong with the agent right now.
        """
        settle, timeout = self.record["settle_s"], self.record["timeout_s"]
        healthy_since: float | None = None
        last: list[str] = ["the agent has not reported yet"]
        while not self.decided:
            now = time.monotonic()
            current = problems()
            if current:
                healthy_since, last = None, current
            elif healthy_since is None:
                healthy_since = now
            elif now - healthy_since >= settle:
                self.confirm()
                return True
            if now - self.started >= timeout:
                self.rollback(
                    f"not healthy within {timeout:g} s of the restart: " + "; ".join(last)
                )
                return False
            await asyncio.sleep(poll)
        return self.record["state"] == "confirmed"

    def confirm(self) -> None:
        """The new config works: keep it (the backup stays for a manual revert)."""
        if self._decide("confirmed", None):
            self.log.warning("config %s confirmed", self.config)

    def rollback(self, reason: str) -> None:
        """Put the backup back and keep the rejected text as ``.failed``."""
        with self._lock:
            if self.decided:
                return
            backup = backup_path(self.config)
            failed = failed_path(self.config)
            try:
                shutil.copyfile(self.config, failed)
                self.record["failed_copy"] = str(failed)
            except OSError as exc:
                self.log.warning("cannot keep the rejected config as %s: %s", failed, exc)
            try:
                atomic_write(self.config, backup.read_bytes(), like=self.config)
            except OSError as exc:
                self.log.error(  # noqa: TRY400 - the reason is in the message, no traceback
                    "config %s could not be rolled back (%s); restore %s by hand",
                    self.config,
                    exc,
                    backup,
                )
                reason += f"; restoring the backup failed: {exc}"
            self._decide_locked("rolled-back", reason)
        self.log.error("config %s rolled back: %s", self.config, reason)

    def on_stop(self) -> None:
        """The agent stops normally (asked to): never leave an unconfirmed config in place."""
        if not self.decided:
            self.rollback("the agent was stopped before the new config was confirmed")
        self._disarm()

    def _decide(self, state: str, reason: str | None) -> bool:
        with self._lock:
            if self.decided:
                return False
            self._decide_locked(state, reason)
            return True

    def _decide_locked(self, state: str, reason: str | None) -> None:
        self.record["state"] = state  # type: ignore[typeddict-item]
        self.record["decided_at"] = time.time()
        self.record["reason"] = reason
        try:
            write_record(self.config, self.record)
        except OSError as exc:
            self.log.error(  # noqa: TRY400 - the reason is in the message, no traceback
                "cannot record the apply's outcome in %s: %s", self.config, exc
            )
        self._disarm()
        if self.on_decided is not None:
            with contextlib.suppress(Exception):
                self.on_decided(dict(self.record))  # type: ignore[arg-type]

    def _disarm(self) -> None:
        if self._hang_guard is not None:
            self._hang_guard.cancel()
            self._hang_guard = None
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        """The interpreter exits while on trial: the start failed. Roll back and restart."""
        if self.decided:
            return
        self.rollback("the agent exited before the new config was confirmed")
        if self.mode == "exec":
            restart_process("exec")
        # Under systemd the exit status is non-zero (a failure); the unit restarts the agent.

    def _hung(self) -> None:
        """Runs in a thread when even the watcher on the event loop did not decide."""
        if self.decided:
            return
        self.rollback(
            f"the agent did not respond within {self.record['timeout_s'] + HANG_GRACE:g} s "
            "of the restart (event loop blocked)"
        )
        restart_process(self.mode, hard=True)


def roll_back_unloadable_apply(config: Path, logger: logging.Logger) -> bool:
    """Before ``edge-agent run`` loads ``config``: roll back a pending apply whose file does
    not load here (it passed validation in the old agent, but, say, a user experiment it
    enables was removed since). Returns whether it rolled back.

    Without this the new agent would exit at every start with a config error before its
    trial begins, and systemd would restart it into the same error.
    """
    record = read_record(config)
    if record is None or record["state"] != "pending":
        return False
    try:
        load_config(config)
    except ConfigError as exc:
        trial = ApplyTrial(config, record, mode=restart_mode("auto"), logger=logger)
        trial.rollback(f"the new config does not load: {exc}")
        return True
    return False
