"""Screenshots of the real app for the README and the user guide, made by driving it.

    QT_QPA_PLATFORM=offscreen python docs/make_screenshots.py [--out docs/images]

Opens the demo mural with its damage pre-marked, paints, runs the Telea and PConv engines
and grabs the main window at each step (with the detector's proposals after the first), then
the Compare and assess window in each mode. Nothing here is mocked: it is the application's own window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


LOSS_CENTRE = (700, 900)  # a paint loss of the demo mural (x, y)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "images")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QPointF, QSettings
    from PySide6.QtWidgets import QApplication, QDockWidget

    from muralstudio.commands.demo import write_demo
    from muralstudio.core.damage import DamageClass
    from muralstudio.core.document import mask_key
    from muralstudio.gui.main_window import MainWindow
    from muralstudio.gui.theme import apply_theme

    tmp = Path(tempfile.mkdtemp(prefix="muralstudio-shots-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    demo = tmp / "demo"
    write_demo(demo)
    win = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    win.files.open_file(demo / "mural.tif", demo / "masks")
    app.processEvents()

    def shot(name: str) -> None:
        for _ in range(3):
            app.processEvents()
        path = args.out / f"{name}.png"
        win.grab().save(str(path))
        print(f"wrote {path}")

    shot("main-window")

    # the shipped detector's proposals over the demo, then dropped again
    detected: list[str] = []
    ctl = win.detection
    ctl.runner.finished.connect(lambda _r: detected.append("finished"))
    ctl.runner.failed.connect(lambda msg: detected.append(msg))
    win.detect_panel.weights.setText("")
    ctl.show_and_run()
    while not detected:
        app.processEvents()
    if detected[0] != "finished":
        print(f"detection failed: {detected[0]}", file=sys.stderr)
        return 1
    for _ in range(20):  # the proposals' overlay appears after the panel's short delay
        app.processEvents()
        time.sleep(0.02)
    shot("detect-proposals")
    ctl.discard()
    dock = win.restore.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    if dock is not None:
        dock.raise_()  # the Restore tab in front again for the next shots

    # zoom in on a crack and paint over it with the brush
    win.layers.set_active(mask_key(DamageClass.CRACK))
    win.canvas.set_zoom(4.0)
    win.canvas.center_on(1230, 700)
    doc = win.session.doc
    win.size_spin.setValue(14)
    stroke = doc.begin_stroke(mask_key(DamageClass.CRACK), win.ctx.brush)
    for i in range(40):
        stroke.add_point(1180 + i * 2.0, 690 + 10 * (i / 40) ** 2)
    stroke.end()
    vp = win.canvas.viewport()
    cursor = win.canvas.map_from_image(QPointF(1262, 700)).toPoint()
    win.canvas._pointer_moved(QPointF(cursor))  # where the brush cursor is drawn
    vp.update()
    shot("painting")

    # restore the marked damage with Telea and show the candidate
    win.canvas.fit()
    win.layers.outline.setChecked(True)
    ended: list[str] = []
    win.runner.finished.connect(lambda _r: ended.append("finished"))
    win.runner.failed.connect(lambda msg: ended.append(msg))

    def restore(engine: str) -> bool:
        """Run ``engine`` on the marked damage in the window and wait for it."""
        ended.clear()
        win.run_job(engine, win.restore.params(), win.restore.classes())
        while not ended:
            app.processEvents()
        if ended[0] != "finished":
            print(f"the {engine} restoration failed: {ended[0]}", file=sys.stderr)
        return ended[0] == "finished"

    if not restore("telea"):
        return 1
    shot("restored")

    # the same damage restored by the learned PConv engine, a loss seen at 200 %
    win.restore.use_weights("pconv", "pconv")
    if not restore("pconv"):
        return 1
    win.toggle_masks()  # masks hidden: the restored paint itself
    win.canvas.set_zoom(2.0)
    win.canvas.center_on(*LOSS_CENTRE)
    shot("restored-pconv")

    # a guide line drawn through the loss, then three diffusion candidates of the loss alone
    from muralstudio.core.brush import Brush
    from muralstudio.core.document import GUIDE

    cx, cy = LOSS_CENTRE
    line = doc.begin_stroke(GUIDE, Brush(3.0, 1.0), label="Guide line")
    for i in range(41):
        line.add_point(cx - 140 + 7 * i, cy - 60 + 3 * i)
    line.end()
    win.toggle_masks()
    win.restore.use_weights("diffusion", "diffusion")
    ended.clear()
    win.run_job("diffusion", win.restore.params(), ["loss"])
    while not ended:
        app.processEvents()
    if ended[0] != "finished":
        print(f"the diffusion restoration failed: {ended[0]}", file=sys.stderr)
        return 1
    win.toggle_masks()
    win.layers.visible[GUIDE].setChecked(True)  # the masks hidden, the guide line shown over the fill
    win.set_tool("guide")
    shot("restored-diffusion")
    compare_shots(app, win, demo, args.out)
    win.files.close_recovery()
    return 0


def compare_shots(app: object, win: object, demo: Path, out: Path) -> None:
    """The Compare and assess window in each mode, against the demo's undamaged truth."""
    from muralstudio.core.assessment import CRITERIA

    win.open_compare()
    cw = win.compare
    cw.resize(1600, 1000)
    doc = win.session.doc
    telea, pconv = doc.candidates[0].id, doc.candidates[1].id

    def settle() -> None:
        t0 = time.monotonic()
        while (cw.maps.is_busy() or cw.measurer.is_running()) and time.monotonic() - t0 < 300:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):
            app.processEvents()

    def grab(name: str) -> None:
        settle()
        path = out / f"{name}.png"
        cw.grab().save(str(path))
        print(f"wrote {path}")

    settle()
    cw.assess.rater.setText("A. Conservator")
    for cid, scores, note in ((telea, (3, 1, 3, 2), "Smooth smear: the brushwork stops at the fill."),
                              (pconv, (4, 3, 4, 3), "Lines carried on; some blotches in the large loss.")):
        cw.assess.set_candidate(cid)
        for c, v in zip(CRITERIA, scores):
            cw.assess.stars[c].setValue(v)
        cw.assess.note.setPlainText(note)
        cw.assess.save_btn.click()
    cw.load_reference(demo / "gt" / "mural.tif")
    cw.view.set_sides("reference", pconv)
    cw.set_mode("swipe")
    cw.set_maps(["edges", "outline"])
    cw.view.set_zoom(1.0)
    cw.view.set_centre(*LOSS_CENTRE)
    cw.view.set_divider(0.5)
    grab("compare-swipe")
    cw.set_mode("side")
    cw.view.set_sides(telea, pconv)
    cw.set_maps(["outline"])
    cw.view.set_zoom(1.5)
    cw.view.set_centre(*LOSS_CENTRE)
    grab("compare-side")
    cw.set_mode("flicker")
    cw.view.set_sides("reference", telea)
    cw.set_maps(["ssim"])
    cw.view.set_zoom(0.75)
    cw.view.set_centre(*LOSS_CENTRE)
    grab("compare-flicker-ssim")
    cw.close()


if __name__ == "__main__":
    sys.exit(main())
