"""The "Train translator…" dialog: two folders of photos in, a translation model out.

It runs ``engines.translate.train`` on its own job runner, not the window's, as every
training dialog does (``training_dialog``): training takes hours, and the editor must
stay usable meanwhile (closing the dialog only hides it; training goes on). The
trainer's progress previews (input | G0 | attention | result) arrive through the
runner; the loss curves are read from the CSV the trainer writes beside its previews at
the same moments, so the dialog needs nothing from the trainer that the command line
does not get too.

The model is written into the user's models folder under the name given, at every
checkpoint, on Cancel and at the end, so it shows in the Translate panel's picker as
soon as the dialog says so; Resume continues the run from its saved state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.gui.dialogs.training_charts import Series
from app.gui.dialogs.training_dialog import PREVIEWS_FOLDER, TrainingDialog
from app.gui.jobs import Work
from engines import store
from engines.translate.model_file import TRANSLATION
from engines.translate.networks import Widths

# label → (network widths, width of the fixed VGG that measures self-regularization)
NETWORK_SIZES: dict[str, tuple[Widths, int]] = {
    "Small (trains on a CPU)": (Widths(16, 9, 32, 32), 16),  # the shipped model's
    "Standard (a GPU helps)": (Widths(32, 9, 64, 64), 64),
}
GRID_CAPTIONS = ("Input", "Initial G0(x)", "Attention A(x)", "Result")
STAGE_NAMES = ("G0", "attention", "joint")
# D and adversarial on one scale, the self-regularization (orders of magnitude smaller)
# on its own
LOSS_SERIES = (
    Series("d_loss", "D", QColor(220, 70, 60)),
    Series("g_adv", "adversarial", QColor(70, 120, 230)),
    Series("reg", "self-reg.", QColor(60, 170, 90), axis="right"),
)


def split_steps(total: int) -> tuple[int, int, int]:
    """Iterations of the three stages: half for G0, a quarter each for attention and joint
    (the trainer's default 4000 / 2000 / 2000)."""
    first, second = total // 2, total // 4
    return first, second, total - first - second


class TrainTranslateDialog(TrainingDialog):
    """Folders, name, iterations, resolution, network size; Start, Resume, Cancel.

    ``model_saved(path)`` when the model file has been written (end or cancel).
    ``sizes`` is the network-size menu (tests pass tiny networks).
    """

    kind = TRANSLATION
    window_title = "Train Translator"
    stop_label = "Cancel"
    resume_tip = "Continue the stopped run of this name up to the iterations set"
    welcome = "Pick two folders of photos: what you have, and what it should become."
    grid_captions = GRID_CAPTIONS
    grid_placeholder = ("The input, G0, attention and result of a training photo appear "
                        "here as training goes.")
    loss_series = LOSS_SERIES
    stage_names = STAGE_NAMES
    initial_size = (720, 640)
    box_every_failure = True
    fresh_plot_on_start = False

    def __init__(self, parent: QWidget | None = None,
                 sizes: dict[str, tuple[Widths, int]] | None = None) -> None:
        super().__init__(parent)
        self.sizes = sizes or NETWORK_SIZES
        for label in self.sizes:
            self.network.addItem(label)

    @property
    def cancel_button(self) -> QPushButton:
        """The Stop button, which this dialog calls Cancel."""
        return self.stop_button

    # ------------------------------------------------------------------ widgets
    def _fields(self, form: QFormLayout) -> None:
        self.source_dir, self.target_dir = QLineEdit(), QLineEdit()
        self.source_dir.setPlaceholderText("a folder of photos to translate from (e.g. horses)")
        self.target_dir.setPlaceholderText("a folder of photos to translate to (e.g. zebras)")
        self.name.setPlaceholderText("e.g. horse2zebra-mine")
        self.name.setToolTip("The model's name in the Translate panel")
        self.iterations = QSpinBox()
        self.iterations.setRange(3, 1_000_000)
        self.iterations.setSingleStep(500)
        self.iterations.setValue(8000)
        self.iterations.setToolTip("Training steps in all: half train G0, a quarter the "
                                   "attention, a quarter both together")
        self.resolution = QSpinBox()
        self.resolution.setRange(32, 512)
        self.resolution.setSingleStep(16)
        self.resolution.setValue(128)
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip("Side of the square crops it learns from; photos are "
                                   "translated at about this size")
        self.network = QComboBox()  # filled from ``sizes`` once the dialog has them
        self._folder_row(form, "From (domain A)", self.source_dir, self._pick_source)
        self._folder_row(form, "To (domain B)", self.target_dir, self._pick_target)
        form.addRow("Model name", self.name)
        form.addRow("Iterations", self.iterations)
        form.addRow("Resolution", self.resolution)
        form.addRow("Network", self.network)

    def _inputs(self) -> Sequence[QWidget]:
        return (self.source_dir, self.target_dir, self.iterations, self.resolution,
                self.network)

    def _pick_source(self) -> None:
        self._pick(self.source_dir, "Photos to translate from")

    def _pick_target(self) -> None:
        self._pick(self.target_dir, "Photos to translate to")

    def _pick(self, edit: QLineEdit, title: str) -> bool:
        picked = super()._pick(edit, title)
        if picked:
            self._suggest_name()
        return picked

    def _suggest_name(self) -> None:
        """``<a>2<b>`` from the folders' names, numbered if a model has that name."""
        if self.name.text() or not self.source_dir.text() or not self.target_dir.text():
            return
        a, b = Path(self.source_dir.text()).name, Path(self.target_dir.text()).name
        stem = re.sub(r"[^\w.-]+", "-", f"{a}2{b}").strip(".-") or "model"
        taken = store.models(TRANSLATION)
        name = next(n for n in (stem, *(f"{stem}-{i}" for i in range(2, 1000)))
                    if n not in taken)
        self.name.setText(name)

    # ---------------------------------------------------------------- training
    def _fields_problem(self) -> str:
        for label, edit in (("the photos to translate from", self.source_dir),
                            ("the photos to translate to", self.target_dir)):
            if not edit.text().strip():
                return f"Choose the folder of {label}."
            if not Path(edit.text().strip()).is_dir():
                return f"The folder {edit.text().strip()} does not exist."
        return ""

    def _may_train(self, out: Path, resume: bool) -> bool:
        """Start over a model of this name replaces it, once the user says so."""
        if resume or not out.exists():
            return True
        answer = QMessageBox.question(
            self, "Replace the model?",
            f"A model named {out.stem} exists. Train a new one in its place?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _total(self) -> int:
        return self.iterations.value()

    def _job(self, out: Path, resume: bool) -> Work | None:
        from engines.translate.train import TrainSettings

        widths, perceptual = self.sizes[self.network.currentText()]
        source, target = Path(self.source_dir.text().strip()), Path(self.target_dir.text().strip())
        total = self._total()
        settings = TrainSettings(
            steps=split_steps(total), size=self.resolution.value() // 4 * 4, widths=widths,
            perceptual_width=perceptual, source=source.name, target=target.name,
            preview_every=max(1, min(10, total // 50)),
        )
        previews = out.parent / PREVIEWS_FOLDER
        return lambda report, cancel: _train(source, target, out, settings, resume, previews,
                                             report, cancel)

    def _done_text(self, path: Path) -> str:
        return f"Done: the model {path.stem} is ready in the Translate panel."

    def _stopped_text(self, path: Path) -> str:
        return (f"Stopped. The model {path.stem} as trained so far is in the Translate "
                "panel; Resume continues.")


def _train(source: Path, target: Path, out: Path, settings, resume: bool, previews: Path,
           report, cancel) -> Path:
    """The job: find the photos, then train (both on the worker thread)."""
    from engines.base import InvalidInput
    from engines.photo_files import photo_files
    from engines.translate.train import train

    sources, targets = photo_files([source]), photo_files([target])
    for folder, found in ((source, sources), (target, targets)):
        if len(found) < 2:
            raise InvalidInput(f"Found {len(found)} photo(s) in {folder}; training needs at "
                               "least two in each folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return train(sources, targets, out, settings, resume=resume, report=report, cancel=cancel,
                 preview_dir=previews, data_note=f"trained in the app from {source} and "
                                                 f"{target}")

