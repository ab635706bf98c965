"""The "Train translator…" dialog: two folders of photos in, a translation model out.

It runs ``engines.translate.train`` on its own job runner, not the window's: training
takes hours, and the editor must stay usable meanwhile (closing the dialog only hides
it; training goes on). The trainer's progress previews (input | G0 | attention |
result) arrive through the runner; the loss curves are read from the CSV the trainer
writes beside its previews at the same moments, so the dialog needs nothing from the
trainer that the command line does not get too.

The model is written into the user's models folder under the name given, at every
checkpoint, on Cancel and at the end, so it shows in the Translate panel's picker as
soon as the dialog says so; Resume continues the run from its saved state.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.dialogs.training_charts import (
    LossPlot,
    PreviewGrid,
    Series,
    duration_text,
    read_losses,
)
from app.gui.jobs import JobRunner
from engines import store
from engines.translate.model_file import TRANSLATION
from engines.translate.networks import Widths

# label → (network widths, width of the fixed VGG that measures self-regularization)
NETWORK_SIZES: dict[str, tuple[Widths, int]] = {
    "Small (trains on a CPU)": (Widths(16, 9, 32, 32), 16),  # the shipped model's
    "Standard (a GPU helps)": (Widths(32, 9, 64, 64), 64),
}
NAME_PATTERN = re.compile(r"^[\w][\w.-]*$")
PREVIEWS_FOLDER = "training"  # under the user's models folder: grids, loss curves
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


class TrainTranslateDialog(QDialog):
    """Folders, name, iterations, resolution, network size; Start, Resume, Cancel.

    ``model_saved(path)`` when the model file has been written (end or cancel).
    ``sizes`` is the network-size menu (tests pass tiny networks).
    """

    model_saved = Signal(object)

    def __init__(self, parent: QWidget | None = None,
                 sizes: dict[str, tuple[Widths, int]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train Translator")
        self.setModal(False)
        self.sizes = sizes or NETWORK_SIZES
        self.runner = JobRunner(self)
        self.out: Path | None = None
        self._build()
        self.runner.progress.connect(self._progress)
        self.runner.preview.connect(self._preview)
        self.runner.finished.connect(self._finished)
        self.runner.cancelled.connect(self._cancelled)
        self.runner.failed.connect(self._failed)
        self.runner.busy_changed.connect(lambda _: self._update_controls())
        self._update_controls()

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.source_dir, self.target_dir = QLineEdit(), QLineEdit()
        self.source_dir.setPlaceholderText("a folder of photos to translate from (e.g. horses)")
        self.target_dir.setPlaceholderText("a folder of photos to translate to (e.g. zebras)")
        self.name = QLineEdit()
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
        self.network = QComboBox()
        for label in self.sizes:
            self.network.addItem(label)
        self.start_button = QPushButton("Start")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the stopped run of this name up to the "
                                      "iterations set")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop; the model trained so far is kept")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this window; training goes on")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.status = QLabel("Pick two folders of photos: what you have, and what it should "
                             "become.")
        self.status.setWordWrap(True)
        self.grid = PreviewGrid(GRID_CAPTIONS, "The input, G0, attention and result of a "
                                "training photo appear here as training goes.")
        self.plot = LossPlot(LOSS_SERIES, STAGE_NAMES)
        form = QFormLayout()
        for label, edit, slot in (("From (domain A)", self.source_dir, self._pick_source),
                                  ("To (domain B)", self.target_dir, self._pick_target)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            browse = QPushButton("Browse…")
            browse.clicked.connect(slot)
            row.addWidget(browse)
            form.addRow(label, row)
        form.addRow("Model name", self.name)
        form.addRow("Iterations", self.iterations)
        form.addRow("Resolution", self.resolution)
        form.addRow("Network", self.network)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.grid, 3)
        layout.addWidget(self.plot, 2)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.close_button.clicked.connect(self.close)
        self.name.textChanged.connect(lambda _: self._update_controls())
        self.resize(720, 640)

    def _pick_source(self) -> None:
        self._pick(self.source_dir, "Photos to translate from")

    def _pick_target(self) -> None:
        self._pick(self.target_dir, "Photos to translate to")

    def _pick(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)
            self._suggest_name()

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

    def _update_controls(self) -> None:
        busy = self.runner.busy
        for widget in (self.source_dir, self.target_dir, self.name, self.iterations,
                       self.resolution, self.network, self.start_button):
            widget.setEnabled(not busy)
        out = self._model_path()
        self.resume_button.setEnabled(not busy and out is not None
                                      and _state_file(out).is_file())
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy or self.progress.value() > 0)

    # ---------------------------------------------------------------- training
    def _model_path(self) -> Path | None:
        name = self.name.text().strip()
        if not NAME_PATTERN.match(name):
            return None
        return store.new_model_file(TRANSLATION, name)

    def _problem(self) -> str:
        """Why Start cannot go yet, in a sentence; "" when it can."""
        for label, edit in (("the photos to translate from", self.source_dir),
                            ("the photos to translate to", self.target_dir)):
            if not edit.text().strip():
                return f"Choose the folder of {label}."
            if not Path(edit.text().strip()).is_dir():
                return f"The folder {edit.text().strip()} does not exist."
        if store.user_folder(TRANSLATION) is None:
            return "There is no folder for your own models on this system."
        out = self._model_path()
        if out is None:
            return ("Give the model a name: letters, digits, '-', '_' or '.', starting with a "
                    "letter or digit.")
        existing = store.models(TRANSLATION).get(out.stem)
        if existing is not None and existing.resolve() != out.resolve():
            return (f"A model shipped with Transfigure is called {out.stem}; choose another "
                    "name, so both stay available.")
        return ""

    def start(self, resume: bool = False) -> bool:
        """Start training (or resume the stopped run of this name) on the dialog's runner."""
        problem = self._problem()
        out = self._model_path()
        if problem or out is None:
            self.status.setText(problem)
            return False
        if not resume and out.exists():
            answer = QMessageBox.question(
                self, "Replace the model?",
                f"A model named {out.stem} exists. Train a new one in its place?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        from engines.translate.train import TrainSettings

        widths, perceptual = self.sizes[self.network.currentText()]
        source, target = Path(self.source_dir.text().strip()), Path(self.target_dir.text().strip())
        total = self.iterations.value()
        settings = TrainSettings(
            steps=split_steps(total), size=self.resolution.value() // 4 * 4, widths=widths,
            perceptual_width=perceptual, source=source.name, target=target.name,
            preview_every=max(1, min(10, total // 50)),
        )
        previews = out.parent / PREVIEWS_FOLDER
        self.out = out
        started = self.runner.start(
            lambda report, cancel: _train(source, target, out, settings, resume, previews,
                                         report, cancel))
        if started:
            self.progress.setRange(0, total)
            self.progress.setValue(0)
            self.status.setText(("Resuming" if resume else "Starting") + f" {out.stem}: "
                                "reading the photos…")
        return started

    def _losses_path(self) -> Path | None:
        if self.out is None:
            return None
        return self.out.parent / PREVIEWS_FOLDER / f"{self.out.stem}.losses.csv"

    def _refresh_plot(self) -> None:
        path = self._losses_path()
        if path is not None:
            self.plot.set_rows(read_losses(path))

    def _progress(self, step: int, total: int, message: str, eta: float) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        left = f" — about {duration_text(eta)} left" if eta >= 0 else ""
        self.status.setText(f"{message}{left}")

    def _preview(self, pixels, _box) -> None:
        self.grid.set_pixels(pixels)
        self._refresh_plot()

    def _finished(self, path: Path) -> None:
        self._refresh_plot()
        self.status.setText(f"Done: the model {path.stem} is ready in the Translate panel.")
        self.model_saved.emit(path)

    def _cancelled(self) -> None:
        self._refresh_plot()
        if self.out is not None and self.out.is_file():
            self.status.setText(f"Stopped. The model {self.out.stem} as trained so far is in "
                                "the Translate panel; Resume continues.")
            self.model_saved.emit(self.out)
        else:
            self.status.setText("Stopped before anything was trained.")
        self._update_controls()

    def _failed(self, message: str, detail: str) -> None:
        self.status.setText(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "Training stopped", message, parent=self)
        if detail:
            box.setDetailedText(detail)
        box.open()
        if self.out is not None and self.out.is_file():
            self.model_saved.emit(self.out)

    def shutdown(self) -> None:
        """The window is closing: stop training; the trainer saves its checkpoint."""
        self.runner.shutdown(timeout_ms=30_000)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.runner.busy:
            self.status.setText("Training goes on in the background.")
        event.accept()  # a dialog only hides; its runner keeps going


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


def _state_file(out: Path) -> Path:
    from engines.store.train_state import state_path

    return state_path(out)

