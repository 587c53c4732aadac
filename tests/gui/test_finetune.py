"""Fine-tune PConv on this mural: dialog, job on the shared runner, result, error and cancel.

The trainer is replaced by tiny fake generators (``window.finetune.trainer``), so nothing
trains; each run starts from a named file, so the shipped model (and torch) is never looked up.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QDialog, QLabel, QMessageBox  # noqa: E402

from muralstudio.core.damage import DamageClass  # noqa: E402
from muralstudio.core.document import mask_key  # noqa: E402
from muralstudio.core.errors import TrainingError  # noqa: E402
from muralstudio.core.progress import Progress  # noqa: E402
from muralstudio.gui.finetune import (  # noqa: E402
    FinetuneChoice,
    FinetuneDialog,
    recent_weights,
    remember_weights,
    summary,
)

BEFORE = {"step": 0, "psnr": 30.0, "telea_psnr": 28.0, "gain_db": 2.0}
AFTER = {"step": 9, "psnr": 31.5, "telea_psnr": 28.0, "gain_db": 3.5}


def open_with_damage(window, scan) -> np.ndarray:
    assert window.files.open_file(scan)
    doc = window.session.doc
    loss = np.zeros(doc.shape, bool)
    loss[100:130, 20:70] = True
    crack = np.zeros(doc.shape, bool)
    crack[10:12, 0:200] = True
    doc.set_layer(mask_key(DamageClass.LOSS), loss, "mark loss")
    doc.set_layer(mask_key(DamageClass.CRACK), crack, "mark crack")
    return loss | crack


def fake_trainer(calls: list, steps: int = 3, fail: bool = False, forever: bool = False):
    """A generator with finetune_on's signature: writes ``out`` and returns a LoopState-like result."""

    def trainer(image, damage, out: Path, minutes, *, name="", init=None, log=print):
        calls.append({"image": image, "damage": damage, "out": out, "minutes": minutes, "init": init, "closed": False})
        try:
            i = 0
            while forever or i < steps:
                time.sleep(0.01)
                yield Progress(min(i / steps, 0.99), f"step {i}")
                i += 1
                if fail:
                    raise TrainingError("The mural is too small to fine-tune on.")
            out.write_bytes(b"weights")
            return SimpleNamespace(history=[BEFORE, AFTER], best=AFTER)
        finally:
            calls[-1]["closed"] = True

    return trainer


def test_dialog_builds_with_defaults(window, scan, tmp_path, monkeypatch):
    assert not window.finetune.action.isEnabled()  # no document yet
    open_with_damage(window, scan)
    assert window.finetune.action.isEnabled()
    assert window.finetune.action in window.menuBar().actions()[3].menu().actions()  # the Tools menu
    shown: list[FinetuneDialog] = []

    def fake_exec(dialog):
        shown.append(dialog)
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(FinetuneDialog, "exec", fake_exec)
    window.finetune.action.trigger()
    (dialog,) = shown
    assert dialog.minutes.value() == 15
    assert (dialog.minutes.minimum(), dialog.minutes.maximum()) == (1, 240)
    out = dialog.choice().out
    assert out.name == f"pconv-wall-{date.today().isoformat()}.pt"
    assert out.parent.name == "models" and (tmp_path / "data") in out.parents
    assert dialog.start.count() == 1 and dialog.choice().init is None  # Telea selected: only the shipped model
    assert any("damage" in lbl.text() and "busy" in lbl.text() for lbl in dialog.findChildren(QLabel))
    assert not window.runner.is_running()

    # with PConv and a weights file in the Restore panel, that file is offered to start from
    mine = tmp_path / "mine.pt"
    window.restore.use_weights("pconv", str(mine))
    window.finetune.action.trigger()
    dialog = shown[-1]
    assert dialog.start.count() == 2 and dialog.start.itemData(1) == str(mine)
    dialog.start.setCurrentIndex(1)
    dialog.out.setText(str(mine))
    assert "another file" in (dialog.problem() or "")  # never overwrite the starting weights
    dialog.out.setText(str(tmp_path / "new"))
    assert dialog.problem() is None and dialog.choice() == FinetuneChoice(15, tmp_path / "new.pt", str(mine))


def test_successful_run_selects_the_new_weights(window, scan, qtbot, tmp_path, monkeypatch, settings):
    damage = open_with_damage(window, scan)
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: messages.append(a[2]))
    calls: list = []
    window.finetune.trainer = fake_trainer(calls, steps=5)
    out = tmp_path / "models" / "fine.pt"
    with qtbot.waitSignal(window.runner.finished, timeout=10000):
        assert window.finetune.start(FinetuneChoice(2, out, str(tmp_path / "start.pt")))
        assert not window.restore.run_button.isEnabled() and window.restore.cancel_button.isEnabled()
    call = calls[0]
    assert np.array_equal(call["damage"], damage) and call["init"] == tmp_path / "start.pt" and call["minutes"] == 2.0
    assert call["image"].shape == (240, 320, 3)
    assert window.restore.engine_name() == "pconv"
    assert window.restore.params()["weights"] == str(out)
    assert window.restore.run_button.isEnabled() and not window.finetune.active
    assert recent_weights(settings) == [str(out.resolve())]
    (text,) = messages
    assert "before 30.00 dB" in text and "after 31.50 dB" in text and "Telea 28.00 dB" in text
    # the weights field offers the remembered file
    edit = window.restore._param_widgets["weights"]
    assert [a.toolTip() for a in edit.recent_actions()] == ["pconv", str(out.resolve())]


def test_error_shows_a_message_and_the_app_stays_usable(window, scan, qtbot, tmp_path, monkeypatch, settings):
    open_with_damage(window, scan)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    calls: list = []
    window.finetune.trainer = fake_trainer(calls, fail=True)
    with qtbot.waitSignal(window.runner.failed, timeout=10000):
        window.finetune.start(FinetuneChoice(1, tmp_path / "x.pt", str(tmp_path / "start.pt")))
    assert shown == ["The mural is too small to fine-tune on."]
    assert not window.finetune.active and window.restore.run_button.isEnabled()
    assert window.restore.engine_name() == "telea" and recent_weights(settings) == []
    with qtbot.waitSignal(window.runner.finished, timeout=20000):  # a restoration still runs
        window.run_job("telea", {"radius": 3, "margin": 16, "strategy": "crop"}, ["loss"])
    assert len(window.session.doc.candidates) == 1


def test_cancel_stops_the_job_and_one_job_runs_at_a_time(window, scan, qtbot, tmp_path, monkeypatch, settings):
    open_with_damage(window, scan)
    infos: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: infos.append(a[2]))
    calls: list = []
    window.finetune.trainer = fake_trainer(calls, forever=True)
    out = tmp_path / "never.pt"
    with qtbot.waitSignal(window.runner.progress, timeout=10000):
        window.finetune.start(FinetuneChoice(1, out, str(tmp_path / "start.pt")))
    window.finetune.ask()  # a second job is refused, with a reason
    assert infos and "Fine-tuning is running" in infos[0]
    window.run_job("telea", {}, ["loss"])  # the Restore panel's job waits too
    assert window.finetune.active
    with qtbot.waitSignal(window.runner.cancelled, timeout=10000):
        window.restore.cancel_button.click()
    assert calls[0]["closed"] and not out.exists()
    assert not window.finetune.active and window.restore.run_button.isEnabled()
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.restore.engine_name() == "telea" and recent_weights(settings) == []
    assert window.session.doc.candidates == []


def test_a_restoration_running_blocks_fine_tuning(window, scan, qtbot, monkeypatch):
    open_with_damage(window, scan)
    infos: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: infos.append(a[2]))

    def slow_restore():
        for i in range(200):
            time.sleep(0.01)
            yield Progress(i / 200, "restoring")

    with qtbot.waitSignal(window.runner.cancelled, timeout=10000):
        window.runner.start(slow_restore)
        window.finetune.ask()
        window.runner.cancel()
    assert infos and "A restoration is running" in infos[0]


def test_summary_and_recent_list(settings, tmp_path):
    state = SimpleNamespace(history=[BEFORE], best=BEFORE)
    assert "did not improve" in summary(state, tmp_path / "w.pt")
    files = [tmp_path / f"{i}.pt" for i in range(10)]
    for f in files:
        f.write_bytes(b"")
        remember_weights(settings, f)
    remember_weights(settings, files[3])
    got = recent_weights(settings)
    assert got[0] == str(files[3].resolve()) and len(got) == 8 and len(set(got)) == 8
    files[9].unlink()
    assert str(files[9].resolve()) not in recent_weights(settings)
