"""Engine jobs on a worker thread: the window stays responsive and can cancel.

A job is a generator (the engine protocol). The thread advances it, sends each Progress to
the GUI thread through a queued signal, and closes the generator when cancelled, so an
engine stops within one progress step.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QThread, Signal

from muralstudio.core.errors import MuralStudioError
from muralstudio.engines.base import Progress

JobFactory = Callable[[], Generator[Progress, None, Any]]


class _JobThread(QThread):
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, factory: JobFactory, cancel: threading.Event) -> None:
        super().__init__()
        self._factory = factory
        self._cancel = cancel

    def run(self) -> None:
        gen = None
        try:
            gen = self._factory()
            while True:
                try:
                    progress = next(gen)
                except StopIteration as stop:
                    self.succeeded.emit(stop.value)
                    return
                self.progressed.emit(progress)
                if self._cancel.is_set():
                    gen.close()
                    self.stopped.emit()
                    return
        except MuralStudioError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("There is not enough memory for this job. Close other programs or restore a smaller area.")
        except Exception as exc:  # an engine bug must not take the window down
            traceback.print_exc(file=sys.stderr)
            self.failed.emit(f"The job stopped with an unexpected error: {type(exc).__name__}: {exc}")


class JobRunner(QObject):
    """Runs one job at a time; signals arrive in the GUI thread.

    ``progress(fraction, message, seconds_left_or_None, preview)``, then exactly one of
    ``finished(result)``, ``failed(message)`` or ``cancelled()``.
    """

    progress = Signal(float, str, object, object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _JobThread | None = None
        self._cancel = threading.Event()
        self._t0 = 0.0

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, factory: JobFactory) -> None:
        if self._thread is not None:
            raise RuntimeError("a job is already running")
        self._cancel = threading.Event()
        self._t0 = time.monotonic()
        thread = _JobThread(factory, self._cancel)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(lambda result: self._end(self.finished, result))
        thread.failed.connect(lambda msg: self._end(self.failed, msg))
        thread.stopped.connect(lambda: self._end(self.cancelled))
        self._thread = thread
        thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress step."""
        self._cancel.set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (for shutdown and tests)."""
        return self._thread.wait(ms) if self._thread is not None else True

    def _on_progress(self, p: Progress) -> None:
        elapsed = time.monotonic() - self._t0
        left = elapsed * (1 - p.fraction) / p.fraction if 0.02 < p.fraction < 1 else None
        self.progress.emit(p.fraction, p.message, left, p.preview)

    def _end(self, signal: Any, *args: Any) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        signal.emit(*args)
