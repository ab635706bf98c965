"""What every training dialog does around its trainer, written once.

A training dialog runs its trainer on a job runner of its own, not the window's:
training takes hours and the editor stays usable meanwhile (closing the dialog only
hides it; whoever made it calls ``shutdown`` when the window closes, which stops the
run, and the trainer saves what it has). Start, Resume and Stop, the progress with the
time left, the preview grid and the loss curves (read from the CSV the trainer writes
beside its previews), and what is said when a run ends, stops or fails are the same
for every trainer, so they live here.

A dialog for one trainer (``train_inpaint``, ``train_translate``) says only what
differs: its fields and the checks on them, whether it may train over a model of the
name, the job that trains, and its texts (class attributes and the ``_…_text``
methods).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
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
from app.gui.jobs import JobRunner, Work
from engines import store

NAME_PATTERN = re.compile(r"^[\w][\w.-]*$")
PREVIEWS_FOLDER = "training"  # under the user's models folder: grids, loss curves


class TrainingDialog(QDialog):
    """A trainer's fields, a model name, Start / Resume / Stop / Close; the progress, the
    status line, the trainer's preview and its loss curves.

    ``model_saved(path)`` when the model file has been written (end, stop, or failure
    after some training), so whoever lists models can show it at once.
    """

    model_saved = Signal(object)

    kind: str  # the store's kind of model the trainer writes (its models folder)
    window_title: str
    stop_label = "Stop"
    start_tip = ""
    resume_tip: str
    welcome: str  # the status line before anything is started
    grid_captions: Sequence[str]
    grid_placeholder: str
    loss_series: Sequence[Series]
    stage_names: Sequence[str]
    initial_size: tuple[int, int]
    # A failure without detail shows in the status line alone; True boxes it as well.
    box_every_failure = False
    # Start shows no curves (Resume the run's so far) until the first preview; False
    # keeps the last run's curves up until then.
    fresh_plot_on_start = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.window_title)
        self.setModal(False)
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

    # ----------------------------------------------------- what a trainer says
    def _fields(self, form: QFormLayout) -> None:
        """Make the trainer's fields and add them to ``form``, ``self.name`` among them
        (made here, since every check and path uses it)."""
        raise NotImplementedError

    def _inputs(self) -> Sequence[QWidget]:
        """The fields a running job must not change (the name is added here)."""
        raise NotImplementedError

    def _fields_problem(self) -> str:
        """Why the fields cannot be trained on, in a sentence; "" when they can."""
        raise NotImplementedError

    def _may_train(self, out: Path, resume: bool) -> bool:
        """Whether to train into ``out`` (a model of the name may exist); a refusal
        says why in the status line, or the user declined."""
        raise NotImplementedError

    def _total(self) -> int:
        """The steps of the run, in all."""
        raise NotImplementedError

    def _job(self, out: Path, resume: bool) -> Work | None:
        """The job that trains into ``out``; None when the settings are refused (the
        status line says why)."""
        raise NotImplementedError

    def _done_text(self, path: Path) -> str:
        raise NotImplementedError

    def _stopped_text(self, path: Path) -> str:
        """What is said when a stop kept the model trained so far at ``path``."""
        raise NotImplementedError

    def save_settings(self) -> None:
        """Remember the choices (a dialog without settings remembers nothing)."""

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.name = QLineEdit()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip(self.start_tip)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip(self.resume_tip)
        self.stop_button = QPushButton(self.stop_label)
        self.stop_button.setToolTip("Stop; the model trained so far is kept")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this window; training goes on")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.status = QLabel(self.welcome)
        self.status.setWordWrap(True)
        self.grid = PreviewGrid(self.grid_captions, self.grid_placeholder)
        self.plot = LossPlot(self.loss_series, self.stage_names)
        form = QFormLayout()
        self._fields(form)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.resume_button, self.stop_button):
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
        self.stop_button.clicked.connect(self.runner.cancel)
        self.close_button.clicked.connect(self.close)
        self.name.textChanged.connect(lambda _: self._update_controls())
        self.resize(*self.initial_size)

    def _folder_row(self, form: QFormLayout, label: str, edit: QLineEdit, pick,
                    button: str = "Browse…") -> None:
        """A folder field with a button beside it that picks one."""
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        browse = QPushButton(button)
        browse.clicked.connect(pick)
        row.addWidget(browse)
        form.addRow(label, row)

    def _pick(self, edit: QLineEdit, title: str) -> bool:
        """Ask for a folder into ``edit``; whether one was chosen."""
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)
        return bool(folder)

    def _update_controls(self) -> None:
        busy = self.runner.busy
        for widget in (*self._inputs(), self.name, self.start_button):
            widget.setEnabled(not busy)
        out = self._model_path()
        self.resume_button.setEnabled(not busy and out is not None
                                      and state_file(out).is_file())
        self.stop_button.setEnabled(busy)
        self.progress.setVisible(busy or self.progress.value() > 0)

    # ---------------------------------------------------------------- training
    def _model_path(self) -> Path | None:
        name = self.name.text().strip()
        if not NAME_PATTERN.match(name):
            return None
        return store.new_model_file(self.kind, name)

    def _problem(self) -> str:
        """Why training cannot start, in a sentence; "" when it can."""
        problem = self._fields_problem()
        if problem:
            return problem
        if store.user_folder(self.kind) is None:
            return "There is no folder for your own models on this system."
        out = self._model_path()
        if out is None:
            return ("Give the model a name: letters, digits, '-', '_' or '.', starting with a "
                    "letter or digit.")
        existing = store.models(self.kind).get(out.stem)
        if existing is not None and existing.resolve() != out.resolve():
            return (f"A model shipped with Transfigure is called {out.stem}; choose another "
                    "name, so both stay available.")
        return ""

    def start(self, resume: bool = False) -> bool:
        """Start training (or resume the stopped run of this name) on the dialog's runner."""
        if self.runner.busy:
            return False
        problem = self._problem()
        out = self._model_path()
        if problem or out is None:
            self.status.setText(problem)
            return False
        if not self._may_train(out, resume):
            return False
        total = self._total()
        job = self._job(out, resume)
        if job is None:
            return False
        self.out = out
        self.save_settings()
        started = self.runner.start(job)
        if started:
            if self.fresh_plot_on_start:
                losses = self._losses_path()
                self.plot.set_rows(read_losses(losses) if resume and losses else [])
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
        self.status.setText(self._done_text(path))
        self.model_saved.emit(path)

    def _cancelled(self) -> None:
        self._refresh_plot()
        if self.out is not None and self.out.is_file():
            self.status.setText(self._stopped_text(self.out))
            self.model_saved.emit(self.out)
        else:
            self.status.setText("Stopped before anything was trained.")
        self._update_controls()

    def _failed(self, message: str, detail: str) -> None:
        self.status.setText(message)
        # what the user can act on is the message; the box holds the rest
        if detail or self.box_every_failure:
            box = QMessageBox(QMessageBox.Icon.Warning, "Training stopped", message,
                              parent=self)
            if detail:
                box.setDetailedText(detail)
            box.open()
        if self.out is not None and self.out.is_file():
            self.model_saved.emit(self.out)

    def shutdown(self) -> None:
        """The window is closing: stop training; the trainer saves its checkpoint."""
        self.runner.shutdown(timeout_ms=30_000)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.save_settings()
        if self.runner.busy:
            self.status.setText("Training goes on in the background.")
        event.accept()  # a dialog only hides; its runner keeps going


def state_file(out: Path) -> Path:
    """Where the trainer keeps a stopped run of ``out`` (Resume is offered while it is)."""
    from engines.store.train_state import state_path

    return state_path(out)
