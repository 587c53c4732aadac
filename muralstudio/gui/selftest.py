"""``muralstudio FILE --self-test``: a smoke test of an installed or frozen app.

It opens FILE (and the masks of ``--masks DIR``) in the real main window, lets Qt run for a
few seconds (rendering, panels, timers), checks the window icon and the About facts,
restores a small hole with the shipped PConv model (its sha256 checked against the
manifest), closes the window and exits: 0 when all went well, 1 when something failed (each
failure on one line of stderr). It leaves no trace: settings go to a temporary file and the
autosave slot is removed on exit. Packaging's ``check_build.py`` runs it inside the frozen
app, offscreen.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import TracebackType

import numpy as np

SECONDS = 3.0  # how long Qt runs with the document open


def _pconv_check() -> str:
    """Restore a 24-pixel hole in a small image with the shipped PConv model; a summary line."""
    from muralstudio.engines import InpaintRequest, drive, get_engine
    from muralstudio.nets.weights import choose_device, manifest

    expected = manifest().get("models", {}).get("pconv", {}).get("sha256")
    rng = np.random.default_rng(0)
    image = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    mask = np.zeros((96, 96), bool)
    mask[36:60, 36:60] = True
    t0 = time.perf_counter()
    result = drive(get_engine("pconv").run(InpaintRequest(image, mask)))
    if not result.patches:
        raise RuntimeError("the PConv engine returned no pixels")
    if expected is None or result.weights_sha256 != expected:
        raise RuntimeError(f"PConv weights sha256 {result.weights_sha256} differ from the manifest's {expected}")
    return f"PConv model loaded (sha256 {expected[:12]} matches the manifest), " \
           f"restored a 24 x 24 hole on {choose_device()} in {time.perf_counter() - t0:.2f} s"


def run_self_test(file: Path, masks_dir: Path | None = None, seconds: float | None = None) -> int:
    """Open ``file`` in the main window, run Qt for ``seconds`` (default :data:`SECONDS`), check
    PConv; 0 when everything worked, else 1."""
    from PySide6.QtCore import QSettings, QTimer

    from muralstudio.gui.about import about_facts
    from muralstudio.gui.launch import prepare_app
    from muralstudio.gui.main_window import MainWindow
    from muralstudio.gui.session import load_class_masks, open_path

    seconds = SECONDS if seconds is None else seconds
    failures: list[str] = []

    def record(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        traceback.print_exception(kind, exc, tb)
        failures.append(f"{kind.__name__} in the event loop: {exc}")

    t0 = time.perf_counter()
    app = prepare_app()
    previous_hook, sys.excepthook = sys.excepthook, record
    with tempfile.TemporaryDirectory(prefix="muralstudio-selftest-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        try:
            window.show()
            session = open_path(file)  # bad input raises a typed error: the CLI prints it, status 2
            marked = load_class_masks(session.doc, masks_dir) if masks_dir is not None else 0
            session.saved_position = session.doc.history.position
            window.files.adopt(session)
            height, width = session.doc.shape[:2]
            print(f"self-test: opened {file.name} ({width} x {height}, {marked} damage classes marked) "
                  f"in {time.perf_counter() - t0:.2f} s")
            QTimer.singleShot(int(seconds * 1000), app.quit)
            app.exec()
            if window.session is not session:
                failures.append("the document did not stay open")
            if window.canvas.grab().isNull():
                failures.append("the canvas did not render")
            if not app.windowIcon().availableSizes():
                failures.append("the application icon was not found (resources/icons)")
            print(f"self-test: ran the window for {seconds:.1f} s")
            facts = dict(about_facts(settings))
            print(f"self-test: compute device {facts['Compute device']}; models {facts['Models']}")
            try:
                print(f"self-test: {_pconv_check()}")
            except Exception as exc:  # any failure of the model path is what this test reports
                failures.append(f"PConv check failed: {exc}")
        finally:
            window.close()
            window.files.close_recovery()
            sys.excepthook = previous_hook
    for line in failures:
        print(f"self-test: FAILED: {line}", file=sys.stderr)
    print(f"self-test: {'ok' if not failures else 'failed'} in {time.perf_counter() - t0:.2f} s")
    return 1 if failures else 0
