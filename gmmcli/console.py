"""People-facing lines on stderr: plain text, rich on a terminal, or one JSON object per line.

``--log-format json`` (for pipelines and log collectors) makes every stderr line a JSON
object with at least ``level`` and ``message``; a fit summary adds its figures as fields.
Only :mod:`gmmcli.cli` writes through this module; library code returns notes as strings
that start with their level (``"warning: …"``, ``"note: …"``).
"""

from __future__ import annotations

import json
import sys
from typing import Optional

LOG_FORMATS = ("text", "json")
LEVELS = ("error", "warning", "note", "info")


class StderrLog:
    """Where people-facing lines go; ``json_lines`` is set once by the CLI's root options."""

    def __init__(self) -> None:
        self.json_lines = False

    def emit(self, level: str, message: str, text: Optional[str] = None, **fields) -> None:
        """One line: ``{"level": …, "message": …, **fields}`` as JSON, or as text ``text``
        (default ``gmmcli: LEVEL: message``, and ``gmmcli: message`` for info)."""
        if self.json_lines:
            record = {"level": level, "message": message, **fields}
            write_line(json.dumps(record, allow_nan=False, default=str))
        elif text is not None:
            show(text)
        else:
            show(f"gmmcli: {message}" if level == "info" else f"gmmcli: {level}: {message}")

    def note(self, text: str) -> None:
        """A note of the pipeline, whose level is its leading word (``warning: …``)."""
        level, sep, rest = text.partition(": ")
        if sep and level in LEVELS:
            self.emit(level, rest)
        else:
            self.emit("info", text)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def show(message: str) -> None:
    """Text for people: rich on a terminal (which honours NO_COLOR), plain otherwise."""
    if stderr_is_terminal():
        from rich.console import Console

        Console(stderr=True, soft_wrap=True, highlight=False).print(message, markup=False)
    else:
        write_line(message)


def write_line(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except OSError:  # stderr closed: nothing left to tell
        pass


LOG = StderrLog()
