"""File ▸ Batch…: one operation over a folder of photos, beside the editor.

The dialog is a face on the command line's batch (``engines.batch``): the same jobs,
the same per-photo function on the same worker processes, so a batch run here writes
the files ``transfigure batch`` writes. It runs on a job runner of its own, so the
editor stays usable for hours of batch; closing the dialog only hides it. Its workers
are always separate processes (``in_process=False``): a photo that crashes an engine
or outgrows the memory limit takes a worker down, never the window. Every run writes
its report beside the results, and the fields are remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.dialogs.training_charts import duration_text
from app.gui.jobs import JobRunner
from app.gui.panels.expression_controls import ExpressionControls
from engines import registry
from engines.base import CancelToken, InvalidInput, Report

REPORT_NAME = "transfigure-batch-report.csv"  # written in the output folder
SETTINGS_GROUP = "batch"


@dataclass(frozen=True)
class Operation:
    """What the dialog asks for one operation: its title and its side input, if any."""

    name: str
    title: str
    side: str = ""  # the side input's label in the jobs ("mask", "second", "guide")
    side_title: str = ""


OPERATIONS = (
    Operation("remove", "Remove (fill each photo's mask)", "mask", "Masks"),
    Operation("composite", "Composite (paste a guide's object)", "guide", "Guide photo"),
    Operation("translate", "Translate (horse → zebra)"),
    Operation("expression", "Expression (take a portrait's expression)", "second",
              "Second portraits"),
    Operation("harmonize", "Harmonize (match each object's colours)", "mask",
              "Object masks"),
)


def _path_row(edit: QLineEdit, *buttons: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    for button in buttons:
        layout.addWidget(button)
    return row


def _numbers(text: str, count: tuple[int, ...], what: str) -> tuple[float, ...]:
    """Comma-separated numbers, or a sentence that says what was expected."""
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) not in count:
        raise InvalidInput(f"{what} wants {' or '.join(map(str, count))} numbers separated by "
                           f"commas, not “{text}”.")
    return values


class BatchDialog(QDialog):
    """Operation, photos, side input, output folder and options; Run, Cancel, the
    progress with photos per minute and time left, each failure with its reason, and
    the report to open at the end."""

    def __init__(self, parent: QWidget | None, settings: QSettings) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch")
        self.setMinimumWidth(640)  # room for the paths' hints and the engines' names
        self.settings = settings
        self.runner = JobRunner(self)
        self.report_path: Path | None = None
        self._outcomes: list[Any] = []

        self.operation = QComboBox()
        for op in OPERATIONS:
            self.operation.addItem(op.title, op.name)
        self.input_edit = QLineEdit(placeholderText="a folder, a glob such as shoot/*.jpg, "
                                                    "or a text file listing photos")
        self.side_edit = QLineEdit(placeholderText="one file for all, or a folder with one "
                                                   "per photo by name")
        self.output_edit = QLineEdit(placeholderText="a folder for the results (same names)")
        self.side_label = QLabel()
        input_button = QPushButton("Folder…")
        input_button.clicked.connect(lambda: self._pick_folder(self.input_edit))
        side_folder = QPushButton("Folder…")
        side_folder.clicked.connect(lambda: self._pick_folder(self.side_edit))
        side_file = QPushButton("File…")
        side_file.clicked.connect(self._pick_side_file)
        output_button = QPushButton("Folder…")
        output_button.clicked.connect(lambda: self._pick_folder(self.output_edit))
        self.side_row = _path_row(self.side_edit, side_folder, side_file)

        self.engine = QComboBox()
        self.quality = QComboBox()
        for quality in ("fast", "balanced", "best"):
            self.quality.addItem(quality.capitalize(), quality)
        self.strength = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.1, value=1.0)
        self.model = QLineEdit(placeholderText="the default model")
        self.box = QLineEdit(placeholderText="x, y, width, height in the guide")
        self.at = QLineEdit(placeholderText="x, y[, scale] in each photo")
        # Expression: what to take from the second portraits, and the sliders, which
        # need no second portraits at all.
        self.expression = ExpressionControls()
        self.workers = QSpinBox(minimum=1, maximum=256)
        from engines.batch.pool import default_workers

        self.workers.setValue(default_workers())
        self.overwrite = QCheckBox("Redo photos whose result exists")

        form = QFormLayout()
        form.addRow("Operation", self.operation)
        form.addRow("Photos", _path_row(self.input_edit, input_button))
        form.addRow(self.side_label, self.side_row)
        form.addRow("Results in", _path_row(self.output_edit, output_button))
        form.addRow("Engine", self.engine)
        self.option_rows = {
            "quality": ("Quality", self.quality), "strength": ("Strength", self.strength),
            "model": ("Model", self.model), "box": ("Box in guide", self.box),
            "at": ("Paste at", self.at), "expression": ("Expression", self.expression),
        }
        self._option_labels: dict[str, QLabel] = {}
        for key, (title, widget) in self.option_rows.items():
            self._option_labels[key] = QLabel(title)
            form.addRow(self._option_labels[key], widget)
        form.addRow("Workers", self.workers)
        form.addRow("", self.overwrite)

        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m photos")
        self.status = QLabel("Pick the photos and where the results go, then Run.")
        self.status.setWordWrap(True)
        self.failures = QListWidget()
        self.failures.setMaximumHeight(120)
        self.failures.hide()
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel Batch")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.report_button = QPushButton("Open Report")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self.open_report)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.cancel_button, self.report_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.failures)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start)

        self.operation.currentIndexChanged.connect(self._show_operation)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(lambda _: self._ended("Finished"))
        self.runner.cancelled.connect(lambda: self._ended("Cancelled"))
        self.runner.failed.connect(self._on_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self._load_settings()
        self._show_operation()

    # ------------------------------------------------------------------ fields
    @property
    def current(self) -> Operation:
        return OPERATIONS[self.operation.currentIndex()]

    def _show_operation(self) -> None:
        op = self.current
        self.side_label.setText(op.side_title)
        self.side_label.setVisible(bool(op.side))
        self.side_row.setVisible(bool(op.side))
        engines = registry.entries(op.name)
        self.engine.clear()
        for entry in engines:
            self.engine.addItem(entry.title, entry.name)
            if entry.default:
                self.engine.setCurrentIndex(self.engine.count() - 1)
        self.engine.setEnabled(op.name != "translate" and len(engines) > 1)
        shown = {"remove": {"quality"}, "harmonize": {"strength"}, "translate": {"model"},
                 "expression": {"strength", "expression"},
                 "composite": {"box", "at", "strength"}}[op.name]
        for key, (_, widget) in self.option_rows.items():
            widget.setVisible(key in shown)
            self._option_labels[key].setVisible(key in shown)
        if op.name == "composite":  # its engine is the harmonizer of the pasted object
            self._list_harmonizers()

    def _list_harmonizers(self) -> None:
        from engines.composite.request import PASTE_HARMONIZER

        self.engine.clear()
        for entry in registry.entries("harmonize"):
            self.engine.addItem(f"Harmonize: {entry.title}", entry.name)
            if entry.name == PASTE_HARMONIZER:
                self.engine.setCurrentIndex(self.engine.count() - 1)
        self.engine.addItem("Harmonize: none", "none")
        self.engine.setEnabled(True)

    def _pick_folder(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def _pick_side_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.current.side_title,
                                              self.side_edit.text())
        if path:
            self.side_edit.setText(path)

    def _settings(self) -> tuple[str | None, dict[str, Any]]:
        """(engine name, the operation's settings), as ``transfigure batch`` passes them."""
        name = self.current.name
        engine = self.engine.currentData()
        if name == "remove":
            return engine, {"quality": self.quality.currentData(), "model": None, "seed": 0}
        if name == "harmonize":
            return engine, {"strength": self.strength.value()}
        if name == "expression":
            return engine, {"strength": self.strength.value(), **self.expression.values()}
        if name == "translate":
            return None, {"model": self.model.text().strip() or None, "tile": False}
        box = _numbers(self.box.text(), (4,), "The box in the guide")
        if any(v != int(v) for v in box) or box[2] <= 0 or box[3] <= 0:
            raise InvalidInput("The box in the guide wants whole numbers with a positive "
                               "width and height.")
        at = _numbers(self.at.text(), (2, 3), "Paste at")
        at = (at[0], at[1], at[2] if len(at) == 3 else 1.0)
        return None, {"box": tuple(int(v) for v in box), "at": at, "flip": False,
                      "segment": None, "keep_light": False, "harmonize": engine,
                      "strength": self.strength.value(), "paste_box": False,
                      "feather": 2.0, "seed": 0}

    # --------------------------------------------------------------------- run
    def start(self) -> None:
        """Check the fields, then run the batch on worker processes."""
        if self.runner.busy:
            return
        try:
            work = self._work()
        except InvalidInput as exc:
            self._say(exc.message)
            return
        self._save_settings()
        self._outcomes = []
        self.failures.clear()
        self.failures.hide()
        self.report_button.setEnabled(False)
        self.progress.setValue(0)
        self._say("Starting the workers…")
        self.runner.start(work)

    def _work(self):
        from engines.batch.jobs import prepare_batch
        from engines.batch.memory import default_limit_mb
        from engines.batch.pool import run_batch
        from engines.batch.report import progress_reporter, write_report
        from engines.batch.work import Options

        op, photos = self.current, self.input_edit.text().strip()
        out_dir = Path(self.output_edit.text().strip())
        if not photos:
            raise InvalidInput("Say which photos: a folder, a glob or a list file.")
        if not self.output_edit.text().strip():
            raise InvalidInput("Say where the results go: a folder.")
        side = self.side_edit.text().strip() if op.side else ""
        by_sliders = op.name == "expression" and self.expression.sliders_moved
        if op.side and not side and not by_sliders:
            also = " (or move a slider)" if op.name == "expression" else ""
            raise InvalidInput(f"Say where the {op.side_title.lower()} are{also}: one file "
                               "for all, or a folder.")
        engine, settings = self._settings()
        sides = {op.side: Path(side)} if side else {}
        options = Options(op.name, engine, self.overwrite.isChecked(), settings)
        workers, report_path = self.workers.value(), out_dir / REPORT_NAME
        self.report_path = report_path

        def work(report: Report, cancel: CancelToken) -> None:
            import time

            jobs = prepare_batch(photos, out_dir, sides)  # refusals come as failures
            count = min(workers, len(jobs))
            started = time.perf_counter()
            seen = progress_reporter(len(jobs), report, self._outcomes)
            try:
                run_batch(jobs, options, count, seen, cancel, default_limit_mb(count),
                          in_process=False)
            finally:
                write_report(report_path, self._outcomes, time.perf_counter() - started)
        return work

    def _on_progress(self, step: int, total: int, message: str, eta: float) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(step)
        left = f", about {duration_text(eta)} left" if eta >= 0 else ""
        self._say(f"{message}{left}")
        self._list_failures()

    def _list_failures(self) -> None:
        failed = [o for o in list(self._outcomes) if o.status == "failed"]
        for outcome in failed[self.failures.count():]:
            self.failures.addItem(f"{Path(outcome.photo).name}: {outcome.reason}")
        self.failures.setVisible(self.failures.count() > 0)

    def _ended(self, how: str) -> None:
        from engines.batch.report import totals

        self._list_failures()
        count = totals(self._outcomes)
        peak = max((o.peak_mb for o in self._outcomes), default=0.0)
        self._say(f"{how}: {count['done']} done, {count['skipped']} skipped, "
                  f"{count['failed']} failed; peak memory per worker {peak / 1024:.2f} GB."
                  + (" Run again to continue." if how == "Cancelled" else ""))
        self.report_button.setEnabled(self.report_path is not None
                                      and self.report_path.exists())

    def _on_failed(self, message: str, _detail: str) -> None:
        self._say(message)
        self.report_button.setEnabled(self.report_path is not None
                                      and self.report_path.exists())

    def _on_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.operation.setEnabled(not busy)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def open_report(self) -> None:
        if self.report_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.report_path)))

    # ---------------------------------------------------------------- settings
    def _load_settings(self) -> None:
        s = self.settings
        s.beginGroup(SETTINGS_GROUP)
        try:
            index = self.operation.findData(s.value("operation", "remove"))
            self.operation.setCurrentIndex(max(0, index))
            for key, edit in (("input", self.input_edit), ("side", self.side_edit),
                              ("output", self.output_edit), ("box", self.box),
                              ("at", self.at), ("model", self.model)):
                edit.setText(str(s.value(key, "")))
            self.quality.setCurrentIndex(max(0, self.quality.findData(s.value("quality",
                                                                               "balanced"))))
            self.strength.setValue(float(s.value("strength", 1.0)))
            self.expression.restore_settings(s)
        finally:
            s.endGroup()

    def _save_settings(self) -> None:
        s = self.settings
        s.beginGroup(SETTINGS_GROUP)
        s.setValue("operation", self.current.name)
        for key, edit in (("input", self.input_edit), ("side", self.side_edit),
                          ("output", self.output_edit), ("box", self.box), ("at", self.at),
                          ("model", self.model)):
            s.setValue(key, edit.text())
        s.setValue("quality", self.quality.currentData())
        s.setValue("strength", self.strength.value())
        self.expression.save_settings(s)
        s.endGroup()

    def shutdown(self) -> None:
        """Stop a running batch (the window is closing); finished results stay."""
        self.runner.shutdown(timeout_ms=30_000)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._save_settings()
        event.accept()  # hidden: a running batch goes on, the window's menu shows it again

