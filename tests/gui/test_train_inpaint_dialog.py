"""The "Train Remove Generator…" dialog as a user works it, opened from the window's menu,
with tiny networks on a few generated photos: train a model the Remove engines then use,
watch the preview and the curves, stop and resume, and the mistakes it must catch before
anything starts (or right after, for what only the worker can see).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engines import imageio

pytest.importorskip("torch")
pytest.importorskip("safetensors")

from app.gui.dialogs import train_inpaint  # noqa: E402
from app.gui.dialogs.train_inpaint import TrainInpaintDialog, split_steps  # noqa: E402
from engines import store  # noqa: E402
from engines.remove.generator.model_file import INPAINTING  # noqa: E402
from engines.remove.generator.networks import InpainterWidths  # noqa: E402
from engines.remove.generator.train import InpainterSettings  # noqa: E402

TIMEOUT_MS = 120_000  # tiny networks take seconds; the margin is for a busy machine


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """An empty inpainting models folder (no model named "inpainter" anywhere), and no
    ImageNet VGG: the trainer uses its small stand-in perceptual term."""
    folder = tmp_path / "inpaint-models"
    monkeypatch.setenv("TRANSFIGURE_INPAINT_MODELS", str(folder))
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    # The shipped resources, less the shipped inpainter: a first run before any exists.
    from engines.resources import resources_dir

    shipped, copy = resources_dir(), tmp_path / "resources"
    (copy / "models").mkdir(parents=True)
    for entry in shipped.iterdir():
        if entry.name != "models":
            (copy / entry.name).symlink_to(entry)
    for entry in (shipped / "models").iterdir():
        if not entry.name.startswith("inpainter."):
            (copy / "models" / entry.name).symlink_to(entry)
    monkeypatch.setenv("TRANSFIGURE_RESOURCES", str(copy))
    return folder


@pytest.fixture
def tiny(monkeypatch) -> None:
    """The dialog's settings with toy networks: a preview (and CSV row) every step,
    validation every second step, checkpoints only on stop and at the end."""

    def settings_for(total: int, size: int) -> InpainterSettings:
        return InpainterSettings(
            steps=split_steps(total), size=size, batch=2,
            widths=InpainterWidths(generator=4, blocks=1, discriminator=4),
            preview_every=1, validate_every=2, checkpoint_every=10_000,
        )

    monkeypatch.setattr(train_inpaint, "settings_for", settings_for)


@pytest.fixture
def one_torch_thread():
    """Tiny networks train fastest on one thread, and a busy machine does not stall them."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def dialog(models, window, tiny, one_torch_thread) -> TrainInpaintDialog:
    """The dialog as the Operations menu opens it."""
    assert window.train_inpaint_action.text() == "Train Remove &Generator…"
    window.train_inpaint_action.trigger()
    opened = window.train_inpaint_dialog
    assert opened is not None and opened.isVisible()
    return opened


def write_photos(folder: Path, count: int, seed: int) -> Path:
    """``count`` 64×80 photos of soft stripes and noise (64 px: the smallest training
    size), as PNG files."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:80].astype(np.float32)
    for i in range(count):
        stripes = 0.5 + 0.3 * np.sin(2 * np.pi * (xx + 2 * i * yy) / (12 + 4 * i))
        tint = np.array([0.3 + 0.1 * i, 0.5, 0.6 - 0.1 * i], np.float32)
        pixels = 0.6 * stripes[..., None] * tint + 0.2 * rng.random((64, 80, 3))
        imageio.save_image(folder / f"photo{i}.png", np.clip(pixels, 0, 1).astype(np.float32))
    return folder


def fill(qtbot, dialog: TrainInpaintDialog, photos: Path | str, name: str, steps: int,
         validation: Path | None = None) -> None:
    """Type the folders and the name, set the steps, choose 64 px."""
    dialog.photos_dir.clear()
    qtbot.keyClicks(dialog.photos_dir, str(photos))
    if validation is not None:
        qtbot.keyClicks(dialog.validation_dir, str(validation))
    dialog.name.clear()
    qtbot.keyClicks(dialog.name, name)
    dialog.steps.setValue(steps)
    dialog.size.setCurrentIndex(dialog.size.findData(64))


def engine_enabled(window, name: str) -> bool:
    combo = window.panels["remove"].engine
    return combo.model().item(combo.findData(name)).isEnabled()


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_step_split_matches_the_command_line_default():
    assert split_steps(7500) == (6000, 500, 500, 500)  # train-inpainter's --steps default
    assert train_inpaint.settings_for(7500, 128).steps == (6000, 500, 500, 500)
    for total in (4, 5, 11, 1001):
        steps = split_steps(total)
        assert sum(steps) == total and len(steps) == 4 and min(steps) >= 0
        assert steps[0] >= 0.75 * total - 1


def test_start_trains_a_model_the_remove_panel_then_uses(models, window, dialog, qtbot,
                                                         tmp_path):
    photos = write_photos(tmp_path / "photos", 3, seed=1)
    held_out = write_photos(tmp_path / "held-out", 2, seed=7)
    assert not engine_enabled(window, "generator"), "no inpainting model yet"
    assert dialog.name.text() == "inpainter", "the name the Remove engines use is suggested"
    fill(qtbot, dialog, photos, "inpainter", 12, validation=held_out)
    assert dialog.split.text() == "head 10, blocks 1 · 1 · 0"
    assert not dialog.resume_button.isEnabled() and not dialog.stop_button.isEnabled()

    with qtbot.waitSignal(dialog.runner.finished, timeout=TIMEOUT_MS):
        click(qtbot, dialog.start_button)
        assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()

    network, info = store.load_file(INPAINTING, models / "inpainter.safetensors")
    assert info.steps == 12 and info.resolution == 64
    assert info.extra["iterations"] == {"head": 10, "block 1": 1, "block 2": 1, "block 3": 0}
    assert not dialog.grid.image.isNull()
    assert dialog.grid.image.width() == 4 * dialog.grid.image.height(), "4 panels"
    assert dialog.grid.captions == ("Input with hole", "Prediction", "Result", "Original")
    rows = dialog.plot.rows
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert {r["stage"] for r in rows} == {0, 1, 2}
    shown = [s.key for s in dialog.plot.shown_series()]
    assert shown == ["d_loss", "g_adv", "rec", "val_psnr"], "PSNR shows with validation"
    assert list(dialog.plot.axes()) == ["gan", "l1", "psnr"]
    assert 0 < rows[-1]["val_psnr"] < 100
    assert dialog.progress.value() == dialog.progress.maximum() == 12
    assert dialog.status.text().startswith("Done: the model inpainter is trained.")
    assert engine_enabled(window, "generator") and engine_enabled(window, "guided"), (
        "the Remove panel can use the new model without a restart")


def test_stop_keeps_the_model_and_resume_goes_on(dialog, qtbot, tmp_path, models):
    photos = write_photos(tmp_path / "photos", 3, seed=2)
    fill(qtbot, dialog, photos, "toy", 16)

    def stop(step: int, *_) -> None:
        if step >= 3:
            dialog.stop_button.click()

    dialog.runner.progress.connect(stop)
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=TIMEOUT_MS):
        click(qtbot, dialog.start_button)
    dialog.runner.progress.disconnect(stop)
    model = models / "toy.safetensors"
    _, info = store.load_file(INPAINTING, model)
    stopped = info.steps
    assert 3 <= stopped < 16, "Stop keeps a usable model of the steps done"
    assert "Resume continues" in dialog.status.text()
    assert dialog.resume_button.isEnabled() and dialog.start_button.isEnabled()
    assert [s.key for s in dialog.plot.shown_series()] == ["d_loss", "g_adv", "rec"], (
        "no validation folder: no PSNR curve")

    click(qtbot, dialog.start_button)  # Start would train over the stopped model
    assert not dialog.runner.busy
    assert dialog.status.text() == ("A model named toy exists: Resume continues its "
                                    "training, or choose another name.")
    assert store.load_file(INPAINTING, model)[1].steps == stopped, "nothing was replaced"

    seen: list[int] = []
    dialog.runner.progress.connect(lambda step, *_: seen.append(step))
    with qtbot.waitSignal(dialog.runner.finished, timeout=TIMEOUT_MS):
        click(qtbot, dialog.resume_button)
    assert store.load_file(INPAINTING, model)[1].steps == 16
    trained = [s for s in seen if s > 0]
    assert trained and min(trained) > stopped, "resume starts where the run stopped"
    assert [r["step"] for r in dialog.plot.rows] == list(range(1, 17)), (
        "the curves show the whole run, before and after the stop")


def test_a_missing_folder_is_said_and_nothing_starts(dialog, qtbot, tmp_path, models):
    photos = write_photos(tmp_path / "photos", 2, seed=3)
    fill(qtbot, dialog, tmp_path / "nowhere", "toy", 8)
    click(qtbot, dialog.start_button)
    assert dialog.status.text() == f"The folder {tmp_path / 'nowhere'} does not exist."
    assert not dialog.runner.busy and not dialog.progress.isVisible()

    fill(qtbot, dialog, photos, "toy", 8, validation=tmp_path / "gone")
    click(qtbot, dialog.start_button)
    assert dialog.status.text() == f"The validation folder {tmp_path / 'gone'} does not exist."
    assert not dialog.runner.busy
    assert not models.exists() or not any(models.iterdir()), "no model was written"


def test_a_folder_without_photos_fails_in_one_line(dialog, qtbot, tmp_path, models):
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    fill(qtbot, dialog, empty, "toy", 8)
    with qtbot.waitSignal(dialog.runner.failed, timeout=TIMEOUT_MS):
        click(qtbot, dialog.start_button)
    assert dialog.status.text() == (f"Found 0 photo(s) in {empty}; training needs at "
                                    "least two.")
    assert not (models / "toy.safetensors").exists()
    assert dialog.start_button.isEnabled() and not dialog.resume_button.isEnabled()


def test_closing_hides_and_training_goes_on_until_the_window_closes(window, dialog, qtbot,
                                                                     tmp_path, models):
    photos = write_photos(tmp_path / "photos", 2, seed=4)
    fill(qtbot, dialog, photos, "long", 5000)
    with qtbot.waitSignal(dialog.runner.preview, timeout=TIMEOUT_MS):
        click(qtbot, dialog.start_button)
    click(qtbot, dialog.close_button)
    assert not dialog.isVisible() and dialog.runner.busy
    window.close()  # stops training cleanly: the trainer saves what it has
    assert not dialog.runner.busy
    _, info = store.load_file(INPAINTING, models / "long.safetensors")
    assert 0 < info.steps < 5000
    assert (models / "long.train-state.safetensors").is_file(), "Resume can go on later"


def test_choices_are_remembered(window, dialog, qtbot, tmp_path):
    photos = write_photos(tmp_path / "photos", 2, seed=5)
    fill(qtbot, dialog, f"{photos}; {tmp_path}", "mine", 3000, validation=photos)
    dialog.size.setCurrentIndex(dialog.size.findData(192))
    click(qtbot, dialog.close_button)

    again = TrainInpaintDialog(None, window.settings)
    qtbot.addWidget(again)
    assert again.photo_folders() == [str(photos), str(tmp_path)]
    assert again.validation_dir.text() == str(photos)
    assert again.silhouettes_dir.text() == ""
    assert again.name.text() == "mine"
    assert again.steps.value() == 3000 and again.size.currentData() == 192


def test_both_training_dialogs_sit_together_in_the_operations_menu(window):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Operations")
    texts = [a.text() for a in menu.actions()]
    at = texts.index("Train Remove &Generator…")
    assert texts[at - 1] == "Train &Translator…"
    window.train_translate_action.trigger()
    assert window.panels["translate"].train_dialog.isVisible()
