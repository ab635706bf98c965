"""The Expression panel: the photo being edited takes the expression of a second portrait.

The first well is the photo in the canvas (dropping a portrait on it opens that photo);
the second well holds the portrait whose expression is wanted. Each well shows the
faces found and which one is used; a click picks another. Below, the landmark engine's
feature-by-feature strengths and its sliders (smile, open mouth, raise brows, open
eyes), which need no second photo: while they move, the canvas previews the result live
(on a job runner of the panel's own, the newest setting winning, the face analysis
remembered by the engine). Run (or Apply) makes it one undoable step, and the sliders go
back to 0 for the next change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.jobs import JobRunner
from app.gui.panels.base import OperationPanel, Workspace, engine_combo, restore_choice
from app.gui.panels.expression_controls import ExpressionControls
from app.gui.panels.face_well import FaceWell
from engines import imageio, registry
from engines.base import EngineError
from engines.device import resolve_device
from engines.expression.request import DEFAULT_LAYERS

STYLE_LAYERS = 18
LAYER_HINTS = {
    1: "pose", 2: "pose, face shape", 3: "face shape", 4: "expression", 5: "expression",
    6: "eyes, mouth detail", 7: "fine features", 8: "hair", 9: "hair",
    18: "background, colour",
}
# Seconds per inversion step at 1024 px on a CPU, at best (measured: 10-40 s, more under
# load): enough to tell the user that a run takes hours, not to promise a time.
CPU_SECONDS_PER_STEP = 10.0


class ExpressionPanel(OperationPanel):
    """Two portraits, the engine and its choices, and Run."""

    title = "Expression"
    key = "expression"
    action_text = "Change &Expression"
    shortcut = "Ctrl+Shift+E"
    action_tip = "The face in the photo takes the second portrait's expression"

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.second_path: Path | None = None
        self._idle = True
        self._stale = False
        self.first_well = FaceWell("The photo you are editing: open or drop a portrait")
        self.second_well = FaceWell("Drop the portrait whose expression you want here")
        self.open_second = QPushButton("Open Expression Photo…")
        self.landmarks = QCheckBox("Show landmarks")
        self.engine = engine_combo("expression")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength.setToolTip("0 keeps the face as it is; 100 takes the whole expression")
        self.steps = QSpinBox()
        self.steps.setRange(50, 5000)
        self.steps.setSingleStep(50)
        self.steps.setValue(1000)
        self.steps.setToolTip("StyleGAN: optimisation steps per face (more is closer)")
        self.cpu_note = QLabel()
        self.cpu_note.setWordWrap(True)
        self.cpu_note.setStyleSheet("color: #e0a040;")
        self.cpu_note.hide()
        self._device: str | None = None
        self.layer_boxes: dict[int, QCheckBox] = {}
        self.layers_group = QGroupBox("Layers from the second face (StyleGAN)")
        grid = QGridLayout(self.layers_group)
        for n in range(1, STYLE_LAYERS + 1):
            box = QCheckBox(str(n))
            box.setChecked(n in DEFAULT_LAYERS)
            box.setToolTip(LAYER_HINTS.get(n, "fine detail, texture"))
            grid.addWidget(box, (n - 1) // 6, (n - 1) % 6)
            self.layer_boxes[n] = box
        hint = QLabel("1–3: pose and shape · 4–5: expression · 8–9: hair · 18: background")
        hint.setWordWrap(True)
        grid.addWidget(hint, 3, 0, 1, 6)
        self.controls = ExpressionControls()
        self.live = JobRunner(self)  # slider previews, apart from the window's operations
        self._live_again = False  # a setting changed while a preview was being made
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip(self.run_action.toolTip())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self._layout()
        self.controls.changed.connect(self._controls_changed)
        self.live.finished.connect(self._live_done)
        self.live.failed.connect(self._live_failed)
        self.first_well.file_dropped.connect(self.workspace.open_photo)
        self.second_well.file_dropped.connect(self.open_second_photo)
        self.open_second.clicked.connect(self.open_dialog)
        self.landmarks.toggled.connect(self._toggle_landmarks)
        self.engine.currentIndexChanged.connect(lambda _: self._engine_changed())
        self.run_button.clicked.connect(self.run_action.trigger)
        self.steps.valueChanged.connect(lambda _: self._update_cpu_note())
        for well in (self.first_well, self.second_well):
            well.faces_found.connect(self._faces_changed)
        self._engine_changed()

    def _layout(self) -> None:
        wells = QHBoxLayout()
        for title, well in (("Photo (identity)", self.first_well),
                            ("Expression from", self.second_well)):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(well, 1)
            wells.addLayout(column)
        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("Strength", self.strength)
        form.addRow("Steps", self.steps)
        form.addRow(self.cpu_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(wells)
        row = QHBoxLayout()
        row.addWidget(self.open_second)
        row.addStretch(1)
        row.addWidget(self.landmarks)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.controls)
        layout.addWidget(self.layers_group)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def _toggle_landmarks(self, on: bool) -> None:
        for well in (self.first_well, self.second_well):
            well.show_landmarks = on
            well.update()

    @property
    def _stylegan(self) -> bool:
        """Whether the StyleGAN engine is chosen (it takes no sliders or per-feature parts)."""
        return self.engine.currentData() == "stylegan"

    @property
    def _asked(self) -> bool:
        """Whether there is a change to make: a second portrait, or a slider moved."""
        return self.second_well.pixels is not None or (
            not self._stylegan and self.controls.sliders_moved)

    def _engine_changed(self) -> None:
        """The engine's own options become usable (``update_state`` knows which)."""
        self._update_cpu_note()
        self.update_state(self.workspace.document is not None, self._idle)

    def _stylegan_on_cpu(self) -> bool:
        """Whether the StyleGAN engine is chosen and would run on the CPU.

        The device is resolved once (it may import torch) and only when StyleGAN is
        chosen; a device that cannot be had is the engine's error to report, not ours.
        """
        if not self._stylegan:
            return False
        if self._device is None:
            try:
                self._device = resolve_device()
            except EngineError:
                self._device = "unavailable"
        return self._device == "cpu"

    def _cpu_hours(self) -> float:
        return 2 * self.steps.value() * CPU_SECONDS_PER_STEP / 3600

    def _update_cpu_note(self) -> None:
        """Say, before anyone presses Run, that StyleGAN on a CPU takes hours."""
        if not self._stylegan_on_cpu():
            self.cpu_note.hide()
            return
        self.cpu_note.setText(
            f"This computer has no usable GPU, so StyleGAN runs on the CPU: {self.steps.value()}"
            f" steps for each of the two faces at 1024 px take hours (at least about "
            f"{self._cpu_hours():.0f} h). The Landmark warp engine takes about a second; "
            "fewer steps give a rougher likeness."
        )
        self.cpu_note.show()

    def _confirm_cpu_run(self) -> bool:
        """Ask before starting hours of CPU work; True when the user wants it anyway."""
        if not self._stylegan_on_cpu():
            return True
        answer = QMessageBox.question(
            self, "Run StyleGAN on the CPU?",
            f"Without a GPU, {self.steps.value()} inversion steps for each face take hours "
            f"(at least about {self._cpu_hours():.0f} h), and the computer stays busy. "
            "You can cancel at any time. Start anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _faces_changed(self) -> None:
        self.update_state(self.workspace.document is not None, self._idle)

    # ------------------------------------------------------------------ photos
    def document_changed(self) -> None:
        """Show the edited photo in the first well, but only look at it when it is seen:
        finding faces in a 12 MP photo after every edit would cost seconds of CPU."""
        self._stale = True
        if self.isVisible():
            self._refresh_first()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._stale:
            self._refresh_first()

    def _refresh_first(self) -> None:
        self._stale = False
        if self.controls.sliders_moved:  # a new photo (or the change applied): start at 0
            self.controls.blockSignals(True)
            self.controls.reset_sliders()
            self.controls.blockSignals(False)
        document = self.workspace.document
        self.first_well.set_image(None if document is None else document.pixels)

    def shutdown(self) -> None:
        self.live.shutdown()
        for well in (self.first_well, self.second_well):
            well.wait_idle()

    def open_dialog(self) -> None:
        folder = str(self.second_path.parent if self.second_path else Path.home())
        filters = "Images ({})".format(" ".join(f"*{e}"
                                                for e in imageio.SUPPORTED_LOAD_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Open the expression photo", folder, filters)
        if path:
            self.open_second_photo(path)

    def open_second_photo(self, path: str | Path) -> bool:
        try:
            loaded = imageio.load_image(path)
        except EngineError as exc:
            self.workspace.show_error("Cannot open the expression photo", exc.message,
                                      exc.detail)
            return False
        self.second_path = Path(path)
        self.second_well.set_image(loaded.pixels)
        self.update_state(self.workspace.document is not None, True)
        return True

    # --------------------------------------------------------------------- run
    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(n for n, box in self.layer_boxes.items() if box.isChecked())

    def update_state(self, has_photo: bool, idle: bool) -> None:
        self._idle = idle
        landmark = not self._stylegan
        ready = has_photo and idle and self._asked
        self.run_action.setEnabled(ready)
        self.run_button.setEnabled(ready)
        self.cancel_button.setEnabled(not idle)
        for widget in (self.engine, self.strength, self.open_second, self.first_well,
                       self.second_well):
            widget.setEnabled(idle)
        self.layers_group.setEnabled(idle and not landmark)
        self.steps.setEnabled(idle and not landmark)
        self.controls.setEnabled(idle and landmark)

    def _request(self, pixels: np.ndarray):
        """The request the panel's settings make for ``pixels`` (the edited photo)."""
        from engines.expression import ExpressionRequest

        landmark = not self._stylegan
        return ExpressionRequest(
            pixels, self.second_well.pixels, strength=self.strength.value() / 100,
            face_first=self.first_well.chosen if self.first_well.faces else None,
            face_second=self.second_well.chosen if self.second_well.faces else None,
            layers=self.layers, steps=self.steps.value(),
            **(self.controls.values() if landmark else {}),
        )

    # ------------------------------------------------------------ live preview
    def _controls_changed(self) -> None:
        self.update_state(self.workspace.document is not None, self._idle)
        self._preview_live()

    def _preview_live(self) -> None:
        """Preview the current settings on the canvas; the newest setting wins."""
        document = self.workspace.document
        if document is None or not self._idle or self._stylegan:
            return
        if self.second_well.pixels is None and not self.controls.sliders_moved:
            self.workspace.canvas.clear_preview()
            return
        if self.live.busy:
            self._live_again = True
            return
        self._live_again = False
        request = self._request(document.pixels)
        engine = registry.get("expression", "warp").load()()
        self.live.start(lambda report, cancel: engine.run(request, report, cancel))

    def _live_done(self, result) -> None:
        if self._live_again:
            self._preview_live()
            return
        if not self._idle:
            return  # Run started meanwhile: its own previews take the canvas
        x, y, w, h = result.region
        if w == 0 or h == 0:
            self.workspace.canvas.clear_preview()
        else:
            self.workspace.canvas.show_preview(result.image[y:y + h, x:x + w], result.region)
        if result.notes:
            self.workspace.show_status(" ".join(result.notes))

    def _live_failed(self, message: str, _detail: str) -> None:
        self.workspace.show_status(message)
        if self._live_again:
            self._preview_live()

    def run(self) -> None:
        workspace = self.workspace
        document = workspace.document
        if document is None:
            return
        if not self._asked:
            return
        if self._stylegan and not self.layers:
            workspace.show_error("Nothing to take", "Tick at least one layer to take from the "
                                 "second face (4 and 5 carry the expression).")
            return
        if not self._confirm_cpu_run():
            return
        self.live.cancel()
        self._live_again = False
        request = self._request(document.pixels)
        try:
            engine = registry.get("expression", self.engine.currentData()).load()()
        except EngineError as exc:
            workspace.show_error("Cannot change the expression", exc.message, exc.detail)
            return

        def done(result) -> None:
            self.second_well.show_preview(None)
            workspace.apply_result(result.image, "Expression", clear_mask=False)
            notes = " ".join(result.notes)
            warp = "" if result.warp is None else (
                f" Warp: {'folds' if result.warp.folded else 'no fold'}, skin stretched at "
                f"most {result.warp.max_stretch:.1f}×.")
            workspace.show_status(f"Expression changed in {result.seconds:.1f} s.{warp} {notes}")

        def preview(pixels: np.ndarray, box) -> None:
            if box is None:  # an intermediate face (an inversion), not a region of the photo
                self.second_well.show_preview(pixels)
            else:
                workspace.canvas.show_preview(pixels, box)

        workspace.start_job(lambda report, cancel: engine.run(request, report, cancel), done,
                            on_preview=preview)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("expression/engine", self.engine.currentData())
        settings.setValue("expression/strength", self.strength.value())
        settings.setValue("expression/steps", self.steps.value())
        settings.setValue("expression/layers", ",".join(str(n) for n in self.layers))
        settings.setValue("expression/landmarks", self.landmarks.isChecked())
        self.controls.save_settings(settings)

    def restore_settings(self, settings: QSettings) -> None:
        restore_choice(self.engine, settings.value("expression/engine"))
        self.strength.setValue(int(settings.value("expression/strength", 100)))
        self.steps.setValue(int(settings.value("expression/steps", 1000)))
        saved = str(settings.value("expression/layers", "4,5"))
        chosen = {int(v) for v in saved.split(",") if v.strip().isdigit()}
        for n, box in self.layer_boxes.items():
            box.setChecked(n in chosen)
        self.landmarks.setChecked(str(settings.value("expression/landmarks", "false")) == "true")
        self.controls.restore_settings(settings)
