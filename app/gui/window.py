"""The main window: canvas, one dock panel per operation, menus, history, files, jobs.

The panels come from the operations table (``app.gui.panels.panel_types``); the window
owns what they share: the photo, its selection, the undo stack, the job runner and the
status bar, which it lends them as the ``Workspace``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
)

from app.gui.about import show_about
from app.gui.canvas.mask import MaskLayer
from app.gui.canvas.view import CanvasView
from app.gui.device_probe import DeviceProbe
from app.gui.document import Document
from app.gui.drops import accept_files, dropped_file
from app.gui.history import ImageCommand, MaskCommand, drop_layer_edits
from app.gui.icons import app_icon, themed_icon
from app.gui.jobs import JobRunner, Work
from app.gui.panels import OperationPanel, panel_types
from app.gui.theme import THEMES, apply_theme
from app.gui.tool_options import ToolOptionsBar
from engines import imageio
from engines.base import EngineError
from engines.blend import blend_by_alpha

OPEN_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in imageio.SUPPORTED_LOAD_EXTENSIONS))
SAVE_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in imageio.SUPPORTED_SAVE_EXTENSIONS))
DEVICE_PROBE_DELAY_MS = 1500  # after the window is up: naming a GPU imports torch


class MainWindow(QMainWindow):
    """The editor: one photo, its selection, one dock per operation, one job at a time.

    It is also the ``Workspace`` the panels use (``start_job``, ``apply_result``,
    ``show_error``, ``show_status``), so operations never reach into the window.
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("Transfigure", "Transfigure")
        self.setWindowTitle("Transfigure")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.document: Document | None = None
        self.last_error = ""
        self.canvas = CanvasView()
        self.setCentralWidget(self.canvas)
        self.history = QUndoStack(self)
        self.jobs = JobRunner(self)
        self._on_done: Callable[[Any], None] | None = None
        self._on_preview: Callable[[Any, Any], None] | None = None
        self.panels: dict[str, OperationPanel] = {}
        self.train_inpaint_dialog = None  # TrainInpaintDialog, made when first opened
        self.batch_dialog = None  # BatchDialog, made when first opened
        self.docks: dict[str, QDockWidget] = {}
        for panel_type in panel_types():
            self._add_panel(panel_type(self))
        self.tool_options = ToolOptionsBar(self.canvas, self.settings, self)
        self._build_status_bar()
        self._build_actions()
        self._connect()
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:
            next(iter(self.docks.values())).raise_()  # Remove first on a fresh start
        for panel in self.panels.values():
            panel.restore_settings(self.settings)
        theme = str(self.settings.value("view/theme", "system"))
        self.set_theme(theme if theme in THEMES else "system")
        self._update_actions()
        self.device_probe = DeviceProbe(self)
        self.device_probe.found.connect(self.device_label.setText)
        QTimer.singleShot(DEVICE_PROBE_DELAY_MS, self.device_probe.start)

    # ------------------------------------------------------------------ set-up
    def _add_panel(self, panel: OperationPanel) -> None:
        dock = QDockWidget(panel.title, self)
        dock.setObjectName(f"{panel.key}-dock")
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        if self.docks:
            self.tabifyDockWidget(next(iter(self.docks.values())), dock)
        self.panels[panel.key] = panel
        self.docks[panel.key] = dock
        dock.visibilityChanged.connect(panel.visibility_changed)

    def _build_status_bar(self) -> None:
        self.zoom_label, self.size_label = QLabel(), QLabel()
        self.device_label = QLabel("Device …")
        self.device_label.setToolTip("Where neural engines compute (TRANSFIGURE_DEVICE pins it)")
        self.job_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        # Engines count in their own units (EM rounds, iterations weighted by cost): a
        # share of the work is what a user can read.
        self.progress.setFormat("%p %")
        self.progress.hide()
        bar = self.statusBar()
        for widget in (self.job_label, self.progress):
            bar.addWidget(widget)
        for widget in (self.size_label, self.zoom_label, self.device_label):
            bar.addPermanentWidget(widget)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        menus = self.menuBar()
        file = menus.addMenu("&File")
        self.open_action = self._action(file, "&Open…", self.open_dialog, QKeySequence.Open)
        self.save_action = self._action(file, "&Save", self.save, QKeySequence.Save)
        self.save_as_action = self._action(file, "Save &As…", self.save_as, QKeySequence.SaveAs)
        self.export_mask_action = self._action(file, "Export &Mask…", self.export_mask)
        file.addSeparator()
        self.batch_action = self._action(file, "&Batch…", self.open_batch_dialog, "Ctrl+B")
        self.batch_action.setToolTip("Run an operation over a folder of photos")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit)
        edit = menus.addMenu("&Edit")
        undo = self.history.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.Undo)
        redo = self.history.createRedoAction(self, "&Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        ctrl_y = QKeySequence("Ctrl+Y")
        redo.setShortcuts(redo_keys + ([] if ctrl_y in redo_keys else [ctrl_y]))
        edit.addActions([undo, redo])
        self.addActions([undo, redo])
        edit.addSeparator()
        self.mask_actions = [
            self._action(edit, "&Invert Mask", lambda: self._mask_op("invert"), "Ctrl+I"),
            self._action(edit, "&Clear Mask", lambda: self._mask_op("clear"), "Ctrl+D"),
            self._action(edit, "&Load Mask…", self.load_mask_dialog),
        ]
        view = menus.addMenu("&View")
        zoom_in = self._action(view, "Zoom &In", lambda: self.canvas.zoom_by(1.25))
        zoom_in.setShortcuts([QKeySequence(QKeySequence.StandardKey.ZoomIn),
                              QKeySequence("Ctrl+=")])
        self._action(view, "Zoom &Out", lambda: self.canvas.zoom_by(0.8), QKeySequence.ZoomOut)
        self._action(view, "&Fit", self.canvas.fit, "Ctrl+0")
        self._action(view, "&100 %", lambda: self.canvas.set_zoom(1.0), "Ctrl+1")
        view.addSeparator()
        self.split_action = self._action(view, "&Split Before/After", self._toggle_split, "Y")
        self.split_action.setCheckable(True)
        self.split_action.setToolTip(
            "Show the photo as opened left of a line you drag (Y); hold \\ to see all of it"
        )
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        themes = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(name.capitalize(), self, checkable=True)
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            themes.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[name] = action
        panels = view.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        panels.addAction(self.tool_options.toggleViewAction())
        tools = menus.addMenu("&Tools")
        tools.addActions(list(self.tool_options.tool_actions.values()))
        self.addActions(list(self.tool_options.tool_actions.values()))
        self._action(tools, "Smaller Brush", lambda: self.tool_options.scale_radius(1 / 1.2), "[")
        self._action(tools, "Larger Brush", lambda: self.tool_options.scale_radius(1.2), "]")
        operations = menus.addMenu("&Operations")
        for panel in self.panels.values():
            operations.addAction(panel.run_action)
            self.addAction(panel.run_action)
        operations.addSeparator()
        self.cancel_action = self._action(operations, "&Cancel", self.jobs.cancel,
                                          Qt.Key.Key_Escape)
        operations.addSeparator()
        translate = self.panels.get("translate")
        if translate is not None:
            self.train_translate_action = self._action(
                operations, "Train &Translator…", translate.open_train_dialog)
        self.train_inpaint_action = self._action(
            operations, "Train Remove &Generator…", self.open_train_inpaint_dialog)
        help_menu = menus.addMenu("&Help")
        self._action(help_menu, "&About Transfigure and Licences…", lambda: show_about(self))
        for action, name in ((self.open_action, "document-open"),
                             (self.save_action, "document-save"), (undo, "edit-undo"),
                             (redo, "edit-redo"), (self.cancel_action, "process-stop")):
            action.setIcon(themed_icon(name))
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.open_action, self.save_action, undo, redo])
        toolbar.addSeparator()
        toolbar.addActions([p.run_action for p in self.panels.values()])
        toolbar.addActions([self.cancel_action, self.split_action])
        self.addToolBarBreak()
        self.addToolBar(self.tool_options)

    def _connect(self) -> None:
        self.canvas.mask_edited.connect(lambda e: self.history.push(MaskCommand(self.canvas, e)))
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.canvas.comparing_changed.connect(self._comparing)
        self.canvas.split_changed.connect(self.split_action.setChecked)
        for panel in self.panels.values():
            cancel = getattr(panel, "cancel_button", None)
            if cancel is not None:
                cancel.clicked.connect(self.jobs.cancel)
        self.jobs.busy_changed.connect(self._busy)
        self.jobs.progress.connect(self._progress)
        self.jobs.preview.connect(self._preview)
        self.jobs.finished.connect(self._job_finished)
        self.jobs.failed.connect(self._failed)
        self.jobs.cancelled.connect(self._cancelled)
        # Bound methods (not lambdas) are disconnected when the window is destroyed.
        self.history.cleanChanged.connect(self._clean_changed)
        self.history.indexChanged.connect(self._history_moved)  # a method: Qt disconnects it


    # ------------------------------------------------------------------- files
    def open_dialog(self) -> None:
        folder = str(self.settings.value("files/last_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", folder, OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        if self.jobs.busy or not self._may_discard():
            return False
        try:
            loaded = imageio.load_image(path)
        except EngineError as exc:
            self._error("Cannot open the photo", exc.message, exc.detail)
            return False
        self.document = Document(loaded, loaded.pixels)
        self._saved_pixels = loaded.pixels  # what the file holds: Save is for changes
        self.canvas.set_image(loaded.pixels)
        self.canvas.set_before(loaded.pixels)
        self.split_action.setChecked(False)
        self.history.clear()
        self.settings.setValue("files/last_folder", str(Path(path).resolve().parent))
        w, h = self.document.size
        self.size_label.setText(f"{w} × {h}")
        self._update_actions()
        self._update_title()
        for panel in self.panels.values():
            panel.document_changed()
        return True

    def save(self) -> bool:
        if self.document is None:
            return False
        answer = QMessageBox.question(
            self, "Replace the original?",
            f"Save over the original file {self.document.path.name}? It cannot be restored.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Save:
            return False
        return self._write(self.document.path, allow_original=True)

    def save_as(self) -> bool:
        if self.document is None:
            return False
        suggestion = self.document.path.with_name(self.document.path.stem + "-edited.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save photo as", str(suggestion), SAVE_FILTER)
        return bool(path) and self._write(Path(path), allow_original=False)

    def _write(self, path: Path, allow_original: bool) -> bool:
        doc = self.document
        assert doc is not None
        try:
            imageio.save_image(
                path, doc.pixels, alpha=doc.source.alpha, bit_depth=doc.source.bit_depth,
                icc_profile=doc.source.icc_profile, exif=doc.source.exif, overwrite=True,
                protect=None if allow_original else doc.path, allow_original=allow_original,
            )
        except EngineError as exc:
            self._error("Cannot save the photo", exc.message, exc.detail)
            return False
        self.history.setClean()
        if allow_original or path == doc.path:
            self._saved_pixels = doc.pixels
        self._update_actions()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export_mask(self) -> None:
        if self.document is None or self.canvas.mask is None:
            return
        suggestion = self.document.path.with_name(self.document.path.stem + "-mask.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", str(suggestion), SAVE_FILTER)
        if not path:
            return
        selection = self.canvas.mask.selection.astype(np.float32)
        try:
            imageio.save_image(path, np.repeat(selection[..., None], 3, axis=2), overwrite=True,
                               protect=self.document.path)
        except EngineError as exc:
            self._error("Cannot export the mask", exc.message, exc.detail)

    def load_mask_dialog(self) -> None:
        if self.document is None:
            return
        folder = str(self.document.path.parent)
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", folder, OPEN_FILTER)
        if path:
            self.load_mask(path)

    def load_mask(self, path: str | Path) -> bool:
        layer = self.canvas.layer  # the selection, or the layer a panel lets the user paint
        assert self.document is not None and layer is not None
        w, h = self.document.size
        try:
            selection = imageio.load_mask(path, shape=(h, w))
        except EngineError as exc:
            self._error("Cannot load the mask", exc.message, exc.detail)
            return False
        layer.begin()
        self.canvas.refresh_mask(layer.load(selection))
        self.history.push(MaskCommand(self.canvas, layer.end(), f"Load {layer.label}"))
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        accept_files(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        path = dropped_file(event)
        if path is not None:
            self.open_path(path)

    # --------------------------------------------------------------- workspace
    def start_job(
        self, work: Work, on_done: Callable[[Any], None],
        on_preview: Callable[[Any, Any], None] | None = None,
    ) -> bool:
        """Run ``work`` on the job runner; ``on_done(result)`` runs only if it succeeds.

        Previews go to the canvas unless ``on_preview`` takes them (a job on another
        image, such as segmenting the guide photo, previews there).
        """
        if self.document is None or not self.jobs.start(work):
            return False
        self._on_done, self._on_preview = on_done, on_preview
        return True

    def apply_result(
        self, pixels: np.ndarray, label: str, alpha: np.ndarray | None = None,
        clear_mask: bool = True,
    ) -> None:
        """The result as one undo step; the mask it used is cleared in the same step.

        Undo gives back both the photo and the selection, so the user can adjust the
        mask and run again, as in Photoshop.
        """
        assert self.document is not None
        before = self.document.pixels
        if alpha is not None:
            pixels = blend_by_alpha(before, pixels, alpha)
        self.canvas.clear_preview()
        self.history.beginMacro(label)
        self.history.push(ImageCommand(self._show_pixels, before, pixels, label))
        mask = self.canvas.mask
        if clear_mask and mask is not None and mask.selection.any():
            mask.begin()
            self.canvas.refresh_mask(mask.clear())
            self.history.push(MaskCommand(self.canvas, mask.end(), "Clear mask"))
        self.history.endMacro()

    def show_error(self, title: str, message: str, detail: str = "") -> None:
        self._error(title, message, detail)

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 5000)

    def forget_layer_edits(self, layer: MaskLayer) -> None:
        drop_layer_edits(self.history, layer)

    def open_photo(self, path: str) -> bool:
        return self.open_path(path)

    def _preview(self, pixels: Any, box: Any) -> None:
        (self._on_preview or self.canvas.show_preview)(pixels, box)

    def _job_finished(self, result: Any) -> None:
        on_done, self._on_done, self._on_preview = self._on_done, None, None
        self.canvas.clear_preview()
        if on_done is not None:
            on_done(result)

    def _show_pixels(self, pixels: np.ndarray) -> None:
        assert self.document is not None
        self.document.pixels = pixels
        self.canvas.replace_photo(pixels)
        for panel in self.panels.values():
            panel.document_changed()

    def _progress(self, step: int, total: int, message: str, eta: float) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(step)
        left = f" — about {eta:.0f} s left" if eta >= 0 else ""
        self.job_label.setText(f"{message}{left}")

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.canvas.editable = not busy
        self.canvas.refresh_cursor()
        if not busy:
            self.job_label.clear()
        self._update_actions()

    def _cancelled(self) -> None:
        self._on_done = self._on_preview = None
        self.canvas.clear_preview()
        self.statusBar().showMessage("Cancelled; the photo is unchanged.", 4000)

    def _failed(self, message: str, detail: str) -> None:
        self._on_done = self._on_preview = None
        self.canvas.clear_preview()
        self._error("The operation did not finish", message, detail)

    # ----------------------------------------------------------------- training
    def open_train_inpaint_dialog(self) -> None:
        """The "Train Remove Generator…" dialog; it trains beside the editor."""
        if self.train_inpaint_dialog is None:
            from app.gui.dialogs.train_inpaint import TrainInpaintDialog

            self.train_inpaint_dialog = TrainInpaintDialog(self, self.settings)
            self.train_inpaint_dialog.model_saved.connect(self._model_saved)
        self.train_inpaint_dialog.show()
        self.train_inpaint_dialog.raise_()
        self.train_inpaint_dialog.activateWindow()

    def open_batch_dialog(self) -> None:
        """File ▸ Batch…: an operation over a folder of photos, beside the editor."""
        if self.batch_dialog is None:
            from app.gui.dialogs.batch import BatchDialog

            self.batch_dialog = BatchDialog(self, self.settings)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()

    def _model_saved(self, _path: Any) -> None:
        for panel in self.panels.values():
            panel.models_changed()

    # ------------------------------------------------------------------ helpers
    def _mask_op(self, name: str) -> None:
        """Invert or clear what the brush paints now (the selection, or a lent layer)."""
        mask = self.canvas.layer
        if mask is None:
            return
        mask.begin()
        self.canvas.refresh_mask(getattr(mask, name)())
        label = {"invert": "Invert", "clear": "Clear"}[name]
        self.history.push(MaskCommand(self.canvas, mask.end(), f"{label} {mask.label}"))

    def set_theme(self, choice: str) -> None:
        """Light, dark, or whatever the desktop prefers (followed live); remembered."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, choice)
        self.theme_actions[choice].setChecked(True)
        self.settings.setValue("view/theme", choice)

    def _toggle_split(self, on: bool) -> None:
        self.canvas.set_split(on)
        self.split_action.setChecked(self.canvas.split_x is not None)

    def _comparing(self, on: bool) -> None:
        if on:
            self.statusBar().showMessage("Showing the photo as it was opened (release \\)")
        else:
            self.statusBar().clearMessage()

    def _update_actions(self) -> None:
        has_doc = self.document is not None
        idle = not self.jobs.busy
        for action in (self.save_as_action, self.export_mask_action, *self.mask_actions):
            action.setEnabled(has_doc and idle)
        self.save_action.setEnabled(has_doc and idle and self._pixels_changed())
        self.split_action.setEnabled(has_doc)
        self.open_action.setEnabled(idle)
        self.cancel_action.setEnabled(not idle)
        for panel in self.panels.values():
            panel.update_state(has_doc, idle)

    def _history_moved(self, _index: int) -> None:
        self._update_actions()

    def _pixels_changed(self) -> bool:
        """Whether the photo differs from its file: only then is there anything to Save."""
        doc = self.document
        saved = getattr(self, "_saved_pixels", None)
        if doc is None or doc.pixels is saved:
            return False
        return saved is None or doc.pixels.shape != saved.shape or \
            not np.array_equal(doc.pixels, saved)

    def _clean_changed(self, _clean: bool) -> None:
        self._update_title()

    def _update_title(self) -> None:
        if self.document is None:
            self.setWindowTitle("Transfigure")
            return
        star = "" if self.history.isClean() else " *"
        self.setWindowTitle(f"{self.document.path.name}{star} — Transfigure")

    def _error(self, title: str, message: str, detail: str = "") -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        if detail:
            box.setDetailedText(detail)
        box.open()
        self.last_error = message

    def _may_discard(self) -> bool:
        if self.document is None or self.history.isClean():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Discard the changes to this photo?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._may_discard():
            event.ignore()
            return
        self.jobs.shutdown()
        if self.train_inpaint_dialog is not None:
            self.train_inpaint_dialog.shutdown()
            self.train_inpaint_dialog.save_settings()
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
        self.device_probe.shutdown()
        for panel in self.panels.values():
            panel.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for panel in self.panels.values():
            panel.save_settings(self.settings)
        event.accept()


def run_window(files: list[str]) -> int:
    """Start the Qt application with the main window; open the first file given."""
    import sys

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Transfigure")
    app.setOrganizationName("Transfigure")
    app.setWindowIcon(app_icon())
    window = MainWindow()
    window.show()
    if files:
        window.open_path(files[0])
    return app.exec()
