"""``muralstudio FILE --self-test``: a smoke test of an installed or frozen app.

It opens FILE (and the masks of ``--masks DIR``) in the real main window, lets Qt run for a
few seconds (rendering, panels, timers), checks the window icon and the About facts,
runs every shipped model of the manifest on a small image (restoring a hole, or detecting;
the sha256 of the weights used checked against the manifest), closes the window and exits:
0 when all went well, 1 when something failed (each failure on one line of stderr). It
leaves no trace: settings go to a temporary file and the autosave slot is removed on exit.
Packaging's ``check_build.py`` runs it inside the frozen app, offscreen.
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


ENGINE_CHECKS = {  # shipped model name -> the engine and settings that run it, kept quick
    "pconv": ("pconv", {}),
    "diffusion": ("diffusion", {"steps": 2, "candidates": 1}),
    "colorize": ("colorize", {"method": "network"}),
}


def _check_model(name: str, expected: str) -> str:
    """Run the shipped model ``name`` on a small image with a 24-pixel hole and check that the
    weights it used are the manifest's (``expected`` sha256); a summary line, raises on failure."""
    from muralstudio.engines import InpaintRequest, drive, get_engine
    from muralstudio.engines.detect import DetectRequest, detect
    from muralstudio.nets.weights import choose_device

    rng = np.random.default_rng(0)
    image = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    mask = np.zeros((96, 96), bool)
    mask[36:60, 36:60] = True
    t0 = time.perf_counter()
    if name == "detector":
        sha = drive(detect(DetectRequest(image))).weights_sha256
    elif name in ENGINE_CHECKS:
        engine, params = ENGINE_CHECKS[name]
        result = drive(get_engine(engine).run(InpaintRequest(image, mask, params)))
        if not result.patches:
            raise RuntimeError("the engine returned no pixels")
        sha = result.weights_sha256
    else:
        raise RuntimeError("no engine runs this model")
    if sha != expected:
        raise RuntimeError(f"weights sha256 {sha} differ from the manifest's {expected}")
    return f"{name} model loaded (sha256 {expected[:12]} matches the manifest), " \
           f"ran on a 96 x 96 image on {choose_device()} in {time.perf_counter() - t0:.2f} s"


def run_self_test(file: Path, masks_dir: Path | None = None, seconds: float | None = None) -> int:
    """Open ``file`` in the main window, run Qt for ``seconds`` (default :data:`SECONDS`), run
    the shipped models; 0 when everything worked, else 1."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from muralstudio.gui.about import about_facts
    from muralstudio.gui.launch import prepare_app
    from muralstudio.gui.main_window import MainWindow
    from muralstudio.gui.session import load_class_masks, open_path
    from muralstudio.nets.weights import manifest

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
            loop = QEventLoop()  # not app.exec()/quit(): quitting the app would end later event loops too
            QTimer.singleShot(int(seconds * 1000), loop.quit)
            loop.exec()
            if window.session is not session:
                failures.append("the document did not stay open")
            if window.canvas.grab().isNull():
                failures.append("the canvas did not render")
            if not app.windowIcon().availableSizes():
                failures.append("the application icon was not found (resources/icons)")
            print(f"self-test: ran the window for {seconds:.1f} s")
            facts = dict(about_facts(settings))
            print(f"self-test: compute device {facts['Compute device']}; models {facts['Models']}")
            for name, entry in manifest().get("models", {}).items():
                try:
                    print(f"self-test: {_check_model(name, entry.get('sha256', ''))}")
                except Exception as exc:  # any failure of a model's path is what this test reports
                    failures.append(f"{name} check failed: {exc}")
        finally:
            window.close()
            window.files.close_recovery()
            sys.excepthook = previous_hook
    for line in failures:
        print(f"self-test: FAILED: {line}", file=sys.stderr)
    print(f"self-test: {'ok' if not failures else 'failed'} in {time.perf_counter() - t0:.2f} s")
    return 1 if failures else 0
