"""The "Train Remove Generator…" dialog: folders of photos in, an inpainting model out.

It is the window's face of ``transfigure train-inpainter``: the same trainer
(``engines.remove.generator.train``), the same photos (``engines.photo_files``), the
same files. Like every training dialog (``training_dialog``) it runs on its own job
runner, not the window's: training takes hours and the editor stays usable meanwhile
(closing the dialog only hides it; closing the window stops training, and the trainer
saves what it has). The trainer's previews (input with hole | prediction | result |
original) arrive through the runner; the loss curves are read from the CSV it writes
beside its previews at the same moments.

The model goes into the user's inpainting models folder under the name given, at every
checkpoint, on Stop and at the end. The Remove panel's Guided and Generator engines use
the model named ``inpainter``, so that is the name suggested; Resume continues a
stopped run of the name from its saved state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.gui.dialogs.training_charts import Series
from app.gui.dialogs.training_dialog import PREVIEWS_FOLDER, TrainingDialog, state_file
from app.gui.jobs import Work
from engines.base import EngineError
from engines.remove.generator.model_file import DEFAULT_MODEL, INPAINTING

FOLDER_SEPARATOR = ";"  # between several photo folders in one field
SIZES = (64, 96, 128, 192, 256)  # training crops; the discriminator needs ≥ 64
DEFAULT_SIZE = 128
DEFAULT_STEPS = 7500  # the command line's 6000 / 500 / 500 / 500
BLOCKS = 3  # procedural blocks after the head (Alg. 1)
HEAD_SHARE = 0.8
GRID_CAPTIONS = ("Input with hole", "Prediction", "Result", "Original")
STAGE_NAMES = ("head", *(f"block {i}" for i in range(1, BLOCKS + 1)))
# the GAN losses share a scale; the L1 (far smaller) and the PSNR (in dB) have their own
LOSS_SERIES = (
    Series("d_loss", "D", QColor(220, 70, 60), axis="gan"),
    Series("g_adv", "adversarial", QColor(70, 120, 230), axis="gan"),
    Series("rec", "L1", QColor(60, 170, 90), axis="l1"),
    Series("val_psnr", "validation PSNR", QColor(190, 120, 30), axis="psnr",
           from_zero=False, unit=" dB"),
)
SETTINGS_GROUP = "train_inpaint"


def split_steps(total: int, blocks: int = BLOCKS) -> tuple[int, ...]:
    """Steps of the head and of each procedural block: 80 % for the head, the rest shared
    by the blocks (earlier blocks take the odd steps); the sum is ``total``."""
    if blocks <= 0:
        return (total,)
    head = min(total, max(1, round(total * HEAD_SHARE)))
    each, extra = divmod(total - head, blocks)
    return (head, *(each + (1 if i < extra else 0) for i in range(blocks)))


def settings_for(total: int, size: int):
    """The trainer's settings for ``total`` steps at ``size`` px (tests swap this for
    tiny networks). Previews, validation and checkpoints come often enough that a short
    run shows curves and a stop loses little."""
    from engines.remove.generator.train import InpainterSettings

    return InpainterSettings(
        steps=split_steps(total), size=size,
        preview_every=max(1, min(25, total // 100)),
        validate_every=max(1, min(250, total // 20)),
        checkpoint_every=max(1, min(250, total // 10)),
    )


class TrainInpaintDialog(TrainingDialog):
    """Photo folders, optional silhouettes and validation folders, name, steps, size;
    Start, Resume, Stop; the preview and the loss curves of the run.

    ``model_saved(path)`` when the model file has been written (end, stop or failure
    after some training). ``settings``: where the choices are remembered (none: not).
    """

    kind = INPAINTING
    window_title = "Train Remove Generator"
    start_tip = "Train a new model of this name"
    resume_tip = "Continue the stopped run of this name up to the steps set"
    welcome = "Pick a folder of photos: the generator learns to fill holes cut into them."
    grid_captions = GRID_CAPTIONS
    grid_placeholder = ("A training photo with its hole, the generator's prediction, the "
                        "filled result and the original appear here as training goes.")
    loss_series = LOSS_SERIES
    stage_names = STAGE_NAMES
    initial_size = (760, 700)

    def __init__(self, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._restore()

    # ------------------------------------------------------------------ widgets
    def _fields(self, form: QFormLayout) -> None:
        self.photos_dir = QLineEdit()
        self.photos_dir.setPlaceholderText(f"folders of photos to learn from (several: "
                                           f"separate them with {FOLDER_SEPARATOR})")
        self.photos_dir.setToolTip("Searched with their sub-folders; each photo's short side "
                                   "must be at least the training size")
        self.silhouettes_dir = QLineEdit()
        self.silhouettes_dir.setPlaceholderText("optional: object masks (white = object) "
                                                "to cut holes of their shape")
        self.validation_dir = QLineEdit()
        self.validation_dir.setPlaceholderText("optional: photos never trained on, scored "
                                               "as training goes")
        self.name.setText(DEFAULT_MODEL)
        self.name.setToolTip(f"The Remove panel's Guided and Generator engines use the model "
                             f"named {DEFAULT_MODEL}; another name is used with "
                             f"'transfigure remove --model NAME'")
        self.steps = QSpinBox()
        self.steps.setRange(1 + BLOCKS, 10_000_000)
        self.steps.setSingleStep(500)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setToolTip(f"Training steps in all: {HEAD_SHARE:.0%} train the generator's "
                              f"head, the rest add its {BLOCKS} procedural blocks one by one")
        self.split = QLabel()
        self.size = QComboBox()
        for side in SIZES:
            self.size.addItem(f"{side} px", side)
        self.size.setCurrentIndex(SIZES.index(DEFAULT_SIZE))
        self.size.setToolTip("Side of the square crops it learns from; larger sees more "
                             "context but trains slower")
        self._folder_row(form, "Photos", self.photos_dir, self._add_photos, "Add…")
        self._folder_row(form, "Silhouettes", self.silhouettes_dir, self._pick_silhouettes)
        self._folder_row(form, "Validation", self.validation_dir, self._pick_validation)
        form.addRow("Model name", self.name)
        steps_row = QHBoxLayout()
        steps_row.addWidget(self.steps)
        steps_row.addWidget(self.split, 1)
        form.addRow("Steps", steps_row)
        form.addRow("Size", self.size)
        self.steps.valueChanged.connect(self._show_split)
        self._show_split(self.steps.value())

    def _inputs(self) -> Sequence[QWidget]:
        return (self.photos_dir, self.silhouettes_dir, self.validation_dir, self.steps,
                self.size)

    def _show_split(self, total: int) -> None:
        head, *blocks = split_steps(total)
        self.split.setText(f"head {head}, blocks " + " · ".join(str(b) for b in blocks))

    def _add_photos(self) -> None:
        folders = self.photo_folders()
        start = folders[-1] if folders else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Photos to train on", start)
        if folder and folder not in folders:
            self.photos_dir.setText(f"{FOLDER_SEPARATOR} ".join([*folders, folder]))

    def _pick_silhouettes(self) -> None:
        self._pick(self.silhouettes_dir, "Object masks (white = object)")

    def _pick_validation(self) -> None:
        self._pick(self.validation_dir, "Photos to validate on")

    def photo_folders(self) -> list[str]:
        return [f.strip() for f in self.photos_dir.text().split(FOLDER_SEPARATOR) if f.strip()]

    # ---------------------------------------------------------------- settings
    def _restore(self) -> None:
        if self.settings is None:
            return
        s = self.settings
        for key, edit in (("photos", self.photos_dir), ("silhouettes", self.silhouettes_dir),
                          ("validation", self.validation_dir), ("name", self.name)):
            value = s.value(f"{SETTINGS_GROUP}/{key}")
            if isinstance(value, str) and (value or key != "name"):
                edit.setText(value)
        try:
            self.steps.setValue(int(s.value(f"{SETTINGS_GROUP}/steps", DEFAULT_STEPS)))
            index = self.size.findData(int(s.value(f"{SETTINGS_GROUP}/size", DEFAULT_SIZE)))
        except (TypeError, ValueError):
            return  # a damaged settings file: keep the defaults
        if index >= 0:
            self.size.setCurrentIndex(index)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        s = self.settings
        s.setValue(f"{SETTINGS_GROUP}/photos", self.photos_dir.text().strip())
        s.setValue(f"{SETTINGS_GROUP}/silhouettes", self.silhouettes_dir.text().strip())
        s.setValue(f"{SETTINGS_GROUP}/validation", self.validation_dir.text().strip())
        s.setValue(f"{SETTINGS_GROUP}/name", self.name.text().strip())
        s.setValue(f"{SETTINGS_GROUP}/steps", self.steps.value())
        s.setValue(f"{SETTINGS_GROUP}/size", self.size.currentData())

    # ---------------------------------------------------------------- training
    def _fields_problem(self) -> str:
        folders = self.photo_folders()
        if not folders:
            return "Choose a folder of photos to train on."
        for folder in folders:
            if not Path(folder).is_dir():
                return f"The folder {folder} does not exist."
        for label, edit in (("silhouettes", self.silhouettes_dir),
                            ("validation", self.validation_dir)):
            folder = edit.text().strip()
            if folder and not Path(folder).is_dir():
                return f"The {label} folder {folder} does not exist."
        return ""

    def _may_train(self, out: Path, resume: bool) -> bool:
        """Never over a model: Start on a taken name points to Resume or another name."""
        stopped = state_file(out).is_file()
        if resume and not stopped:
            refusal = f"There is no stopped run named {out.stem} to resume; Start trains one."
        elif not resume and out.exists():
            refusal = (f"A model named {out.stem} exists: Resume continues its training, or "
                       "choose another name." if stopped else
                       f"A model named {out.stem} exists; choose another name.")
        else:
            return True
        self.status.setText(refusal)
        return False

    def _total(self) -> int:
        return self.steps.value()

    def _job(self, out: Path, resume: bool) -> Work | None:
        try:
            settings = settings_for(self._total(), int(self.size.currentData()))
        except EngineError as exc:
            self.status.setText(exc.message)
            return None
        folders = [Path(f) for f in self.photo_folders()]
        silhouettes = self.silhouettes_dir.text().strip()
        validation = self.validation_dir.text().strip()
        previews = out.parent / PREVIEWS_FOLDER
        return lambda report, cancel: _train(
            folders, Path(silhouettes) if silhouettes else None,
            Path(validation) if validation else None, out, settings, resume, previews,
            report, cancel)

    def _done_text(self, path: Path) -> str:
        return f"Done: the model {path.stem} is trained. {_how_to_use(path)}"

    def _stopped_text(self, path: Path) -> str:
        return (f"Stopped. The model {path.stem} as trained so far is saved; Resume "
                f"continues. {_how_to_use(path)}")


def _how_to_use(path: Path) -> str:
    if path.stem == DEFAULT_MODEL:
        return "The Remove panel's Guided and Generator engines use it."
    return (f"Use it with 'transfigure remove --model {path.stem}', or name it "
            f"{DEFAULT_MODEL} for the Remove panel.")


def _train(folders: Sequence[Path], silhouettes: Path | None, validation: Path | None,
           out: Path, settings, resume: bool, previews: Path, report, cancel) -> Path:
    """The job: find the photos, then train (both on the worker thread)."""
    from engines.base import InvalidInput
    from engines.photo_files import photo_files
    from engines.remove.generator.train import train

    photos = photo_files(folders)
    named = ", ".join(str(f) for f in folders)
    if len(photos) < 2:
        raise InvalidInput(f"Found {len(photos)} photo(s) in {named}; training needs at "
                           "least two.")
    shapes = photo_files([silhouettes]) if silhouettes is not None else []
    if silhouettes is not None and not shapes:
        raise InvalidInput(f"Found no mask images in {silhouettes}.")
    checks = photo_files([validation]) if validation is not None else []
    if validation is not None and not checks:
        raise InvalidInput(f"Found no photos to validate on in {validation}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return train(photos, out, settings, shapes, checks, resume=resume, report=report,
                 cancel=cancel, preview_dir=previews,
                 data_note=f"trained in the app from {named}")

