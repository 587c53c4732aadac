"""A progress bar on stderr for command-line jobs, quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from muralstudio.engines.base import Progress


def format_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProgressBar:
    """Draws ``[label] |█████     | 52% message, 3s left`` and redraws it in place.

    On a terminal it redraws at most ten times a second; elsewhere (logs, CI) it prints
    one line when a job starts and one when it ends.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 24, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.monotonic()
        self._last_draw = 0.0
        self._line_len = 0
        if enabled and not self.tty:
            print(f"{label} ...", file=self.stream, flush=True)

    def update(self, progress: Progress) -> None:
        if not (self.enabled and self.tty):
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and progress.fraction < 1.0:
            return
        self._last_draw = now
        frac = min(max(progress.fraction, 0.0), 1.0)
        filled = int(round(frac * self.width))
        bar = "█" * filled + " " * (self.width - filled)
        elapsed = now - self._t0
        left = f", {format_seconds(elapsed * (1 - frac) / frac)} left" if 0.02 < frac < 1.0 else ""
        line = f"{self.label} |{bar}| {frac * 100:3.0f}% {progress.message}{left}"
        pad = " " * max(0, self._line_len - len(line))
        self._line_len = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()

    def finish(self, message: str = "done") -> None:
        if not self.enabled:
            return
        took = format_seconds(time.monotonic() - self._t0)
        line = f"{self.label} {message} in {took}"
        if self.tty:
            pad = " " * max(0, self._line_len - len(line))
            self.stream.write("\r" + line + pad + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def abort(self) -> None:
        """End the line so a following error message starts on its own line."""
        if self.enabled and self.tty and self._line_len:
            self.stream.write("\n")
            self.stream.flush()
