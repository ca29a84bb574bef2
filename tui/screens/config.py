"""Config: the agent's config file, to read, edit, validate, compare and apply.

Applying sends the edited text to ``POST /v1/config/apply``: the agent checks it, keeps a
backup, restarts on the new config and, when it does not come back healthy in time, restores
the backup and restarts again. The screen waits for that verdict and says it. In read-only mode
the file can be read, validated and compared, never edited or applied.
"""

from __future__ import annotations

import difflib
from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, TextArea

from edge_agent.api.client import ApiClient, ApiError
from edge_agent.api.models import ConfigInfo

from ..format import clock_text
from ..widgets.readout import Readout
from .base import ConsoleScreen
from .confirm import ConfirmScreen


def diff_lines(old: str, new: str, name: str = "agent.toml") -> list[str]:
    """A unified diff of the agent's file and the edited text (empty: the same)."""
    return list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"{name} (on the agent)",
            f"{name} (edited)",
            lineterm="",
        )
    )


def diff_text(lines: list[str]) -> Text:
    """The diff coloured: additions green, removals red, positions cyan."""
    text = Text()
    for line in lines:
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        text.append(line + "\n", style=style)
    return text


def apply_summary(info: ConfigInfo, tz: tzinfo | None) -> str:
    """The file and the last apply, in one line."""
    parts = [f"[b]{info['path'] or 'built-in config (no file)'}[/]"]
    record = info["apply"]
    if record is not None:
        when = clock_text(record["decided_at"] or record["requested_at"], tz)
        style = {"confirmed": "$success", "rolled-back": "$error"}.get(record["state"], "$warning")
        parts.append(f"last apply [{style}]{record['state']}[/] {when} by {record['requested_by']}")
    backup = info["backup"]
    if backup is not None and backup["exists"]:
        parts.append("backup kept")
    return "  ·  ".join(parts)


class ConfigScreen(ConsoleScreen):
    """View, edit, validate, diff and apply the config."""

    MODE = "config"
    CSS_PATH = "config.tcss"
    POLL = 10.0
    MUTATING = frozenset({"edit", "apply", "revert"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit"),
        Binding("escape", "done", "Done editing"),
        Binding("v", "validate", "Validate"),
        Binding("d", "diff", "Diff"),
        Binding("a", "apply", "Apply"),
        Binding("u", "revert", "Undo edits"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.info: ConfigInfo | None = None
        self.original = ""
        self.editing = False
        self.applying = False

    def compose_body(self) -> ComposeResult:
        yield Readout("", id="config-path", classes="note")
        editor = TextArea("", id="config-text", read_only=True, show_line_numbers=True)
        editor.cursor_blink = False
        yield editor
        with VerticalScroll(id="config-result"):
            yield Readout("", id="config-report")

    @property
    def editor(self) -> TextArea:
        return self.query_one("#config-text", TextArea)

    @property
    def dirty(self) -> bool:
        """Whether the text differs from the agent's file."""
        return self.editor.text != self.original

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action == "done":
            return self.editing
        if action in ("revert", "apply"):
            return True if self.dirty else None  # shown but dimmed while nothing changed
        if action == "edit":
            return not self.editing
        return True

    async def load(self, api: ApiClient) -> None:
        if self.applying:
            return
        info = await api.config()
        self.info = info
        self.query_one("#config-path", Static).update(apply_summary(info, self.console.tz))
        text = info["text"] or ""
        if info["text"] is None and info["path"] is None:
            self.report("The agent runs on a built-in config (no file): nothing to edit.")
        if text == self.original:
            return
        if self.editing or self.dirty:
            self.report(
                "[$warning]The file changed on the agent while you edit: "
                "d shows your changes against the new file, u takes it as it is.[/]"
            )
            self.original = text
            return
        self.original = text
        self.editor.load_text(text)
        self.refresh_bindings()

    def report(self, markup: str | Text) -> None:
        self.query_one("#config-report", Static).update(markup)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.refresh_bindings()

    # -- actions -----------------------------------------------------------------------------

    def action_edit(self) -> None:
        """Edit the text (Escape ends editing; nothing is sent until Apply)."""
        self.editing = True
        self.editor.read_only = False
        self.editor.focus()
        self.report("Editing: Escape when done, then v validates, d compares, a applies.")
        self.refresh_bindings()

    def action_done(self) -> None:
        """Stop editing (the edits are kept)."""
        self.editing = False
        self.editor.read_only = True
        self.report(
            "Edited: v validates, d compares, a applies, u undoes." if self.dirty else "No changes."
        )
        self.refresh_bindings()

    def action_revert(self) -> None:
        """Throw the edits away: the agent's file again."""
        self.editing = False
        self.editor.read_only = True
        self.editor.load_text(self.original)
        self.report("Edits undone.")
        self.refresh_bindings()

    def action_diff(self) -> None:
        """Compare the edited text with the agent's file."""
        lines = diff_lines(self.original, self.editor.text)
        self.report(diff_text(lines) if lines else Text("No changes."))

    def action_validate(self) -> None:
        """Ask the agent whether the text would load."""
        self.validate(self.editor.text)

    @work(group="config-validate", exclusive=True)
    async def validate(self, text: str) -> None:
        try:
            reply = await self.api.validate_config(text)
        except Exception as exc:
            self.console.report(exc, "validate")
            return
        if reply["ok"]:
            self.report("[$success b]✔ valid[/]: the agent would load this config.")
        else:
            self.show_problems(reply["problems"])

    def show_problems(self, problems: list[str]) -> None:
        text = Text("✖ not valid:\n", style="bold red")
        for problem in problems:
            text.append(f"• {problem}\n")
        self.report(text)

    def action_apply(self) -> None:
        """Apply the edited text, after validating it and asking."""
        if self.console.read_only:
            return
        if not self.dirty:
            self.notify("Nothing to apply: the text is the agent's file.", severity="warning")
            return
        self.prepare_apply(self.editor.text)

    @work(group="config-apply", exclusive=True)
    async def prepare_apply(self, text: str) -> None:
        try:
            reply = await self.api.validate_config(text)
        except Exception as exc:
            self.console.report(exc, "validate")
            return
        if not reply["ok"]:
            self.show_problems(reply["problems"])
            self.notify("Not applied: the config is not valid.", severity="error")
            return
        lines = diff_lines(self.original, text)
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))

        def answered(yes: bool | None) -> None:
            if yes:
                self.apply(text)

        self.app.push_screen(
            ConfirmScreen(
                f"Apply the edited config ({added} lines added, {removed} removed)?\n"
                "The agent restarts on it and goes back to the current file if it is not "
                "healthy in time.",
                yes="Apply",
            ),
            answered,
        )

    @work(group="config-apply", exclusive=True)
    async def apply(self, text: str) -> None:
        """Send the text, then wait for the agent's verdict."""
        self.applying = True
        await self.console.pause_live()
        try:
            await self._apply(text)
        finally:
            self.applying = False
            self.console.resume_live()

    async def _apply(self, text: str) -> None:
        api = self.api
        try:
            reply = await api.apply_config(text)
        except ApiError as exc:
            problems = exc.body.get("problems") if exc.status else None
            if problems:
                self.show_problems(list(problems))
            self.console.report(exc, "apply")
            return
        if reply["status"] == "unchanged":
            self.notify("The agent already runs this config.", title="Apply")
            return
        self.report(
            f"[$warning]Applied; the agent restarts and has {reply['timeout_s']:g} s to become "
            "healthy …[/]"
        )
        self.notify("Config sent; waiting for the agent to restart.", title="Apply")
        try:
            info = await api.wait_for_apply(reply["instance"], timeout=reply["timeout_s"] + 60)
        except Exception as exc:
            self.console.report(exc, "apply")
            return
        record = info["apply"]
        state = record["state"] if record else "unknown"
        self.info = info
        self.original = info["text"] or ""
        self.editing = False
        self.editor.read_only = True
        self.editor.load_text(self.original)
        self.query_one("#config-path", Static).update(apply_summary(info, self.console.tz))
        if state == "confirmed":
            self.report("[$success b]✔ applied[/]: the agent runs the new config.")
            self.notify("The new config is confirmed.", title="Apply")
        else:
            reason = (record["reason"] if record else None) or ""
            self.report(f"[$error b]✖ {state}[/]: " + reason.replace("[", r"\["))
            self.notify(f"Config {state}: {reason}", title="Apply", severity="error", timeout=10)
        self.refresh_bindings()
