"""The Translate panel: a model, Run, four ways to look at the result, and Apply.

Flow: pick a model (shipped, trained in the app, or imported) → Translate runs as a
job → the result waits on the canvas, not yet part of the photo, so the user can look
before it lands: Result (1), Initial translation G0(x) (2), Attention over the photo as
a heat map (3, opacity slider) and Before/After (4, the split view). Meanwhile the
brush paints the attention itself: painting adds translation, the right button or Alt
takes it away, a soft brush fades it; the composite A·G0 + (1 − A)·x follows every dab
from the cached G0(x). Enter (or Apply) makes it one undoable step; Esc (or Discard)
drops it. Undoing the step brings the photo back *and* the pending result with its
edited attention, as undoing Remove brings back its selection.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.jobs import JobRunner
from app.gui.panels.base import OperationPanel, Workspace, restore_choice
from app.gui.panels.translate_session import TranslateSession
from app.gui.qimages import heat_overlay
from engines import registry, store
from engines.base import EngineError
from engines.translate.model_file import DEFAULT_MODEL, FIX, TRANSLATION, ModelInfo, read_info

# name, button text, shortcut, tooltip
VIEWS = (
    ("result", "Result", "1", "The translated photo as it will be applied (1)"),
    ("initial", "Initial", "2", "G0(x): the translator's output for the whole photo, before "
                                "attention confines it (2)"),
    ("attention", "Attention", "3", "Where the translation applies, as a heat map over the "
                                    "photo: red = translated, blue = kept (3)"),
    ("compare", "Before/After", "4", "The photo left of a line you drag, the result right "
                                     "of it (4 or Y)"),
)
DEFAULT_OPACITY = 60  # percent: the heat map reads clearly and the photo still shows


class TranslatePanel(OperationPanel):
    """Model picker, Translate, view modes, attention brush, Apply; "Train translator…"."""

    title = "Translate"
    key = "translate"
    action_text = "&Translate Photo"
    shortcut = "Ctrl+Shift+T"
    action_tip = ("Translate the photo with the chosen model, e.g. horse → zebra "
                  "(Ctrl+Shift+T)")

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.session: TranslateSession | None = None
        self.view = "result"
        self.train_dialog = None
        self._idle = True
        self._has_photo = False
        self._shown = False  # the session's layer and preview are on the canvas
        self._importer = JobRunner(self)  # checking a model file imports torch: off the GUI
        self._build()
        self.refresh_models()
        canvas = workspace.canvas
        canvas.mask_changed.connect(self._attention_painted)
        canvas.split_changed.connect(self._split_toggled)
        canvas.installEventFilter(self)  # Enter applies, Esc discards (on the photo)
        self._importer.finished.connect(self._imported)
        self._importer.failed.connect(self._import_failed)
        self._importer.busy_changed.connect(lambda _: self._update_controls())

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.model = QComboBox()
        self.model.setToolTip("The translation model: shipped with the app, trained here, or "
                              "imported")
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Install a translation model file (.safetensors)")
        self.train_button = QPushButton("Train Translator…")
        self.train_button.setToolTip("Train your own model from two folders of photos")
        self.run_button = QPushButton("Translate")
        self.run_button.setToolTip(self.run_action.toolTip())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and keep the photo as it was (Esc)")
        self.cancel_button.setEnabled(False)
        self.view_actions: dict[str, QAction] = {}
        self.view_buttons: dict[str, QToolButton] = {}
        group = QActionGroup(self)
        for name, text, key, tip in VIEWS:
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(key))  # live while the button is on screen
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, n=name: self.set_view(n))
            group.addAction(action)
            button = QToolButton()
            button.setDefaultAction(action)
            self.view_actions[name], self.view_buttons[name] = action, button
        self.view_actions[self.view].setChecked(True)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(DEFAULT_OPACITY)
        self.opacity.setToolTip("How strongly the attention heat map covers the photo")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Make the translation part of the photo (Enter on the "
                                     "photo); undo takes it back")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Drop the translation; the photo stays as it is (Esc on "
                                       "the photo)")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self._layout()
        self.model.currentIndexChanged.connect(lambda _: self._model_changed())
        self.import_button.clicked.connect(self.import_dialog)
        self.train_button.clicked.connect(self.open_train_dialog)
        self.run_button.clicked.connect(self.run_action.trigger)
        self.opacity.valueChanged.connect(
            lambda v: self.workspace.canvas.set_layer_opacity(v / 100))
        self.apply_button.clicked.connect(self.apply)
        self.discard_button.clicked.connect(self.discard)

    def _layout(self) -> None:
        models = QHBoxLayout()
        models.addWidget(self.model, 1)
        models.addWidget(self.import_button)
        run = QHBoxLayout()
        run.addWidget(self.run_button)
        run.addWidget(self.cancel_button)
        views = QHBoxLayout()
        views.setSpacing(2)
        for button in self.view_buttons.values():
            views.addWidget(button)
        views.addStretch(1)
        form = QFormLayout()
        form.addRow("View", views)
        form.addRow("Overlay", self.opacity)
        finish = QHBoxLayout()
        finish.addWidget(self.apply_button)
        finish.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Model"))
        layout.addLayout(models)
        layout.addWidget(self.model_info)
        layout.addLayout(run)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addLayout(finish)
        layout.addStretch(1)
        layout.addWidget(self.train_button)

    # ------------------------------------------------------------------- models
    def refresh_models(self, select: str | None = None) -> None:
        """List the installed models again (after training or an import); keep the choice."""
        wanted = select or self.model.currentData() or DEFAULT_MODEL
        self.model.blockSignals(True)
        self.model.clear()
        models = store.models(TRANSLATION)
        for name, path in sorted(models.items(), key=lambda item: item[0].lower()):
            try:
                info = read_info(path)
            except EngineError:
                continue  # a broken file in the folder: skipped, as the engine would
            yours = store.is_user_model(TRANSLATION, path)
            self.model.addItem(f"{info.title}  ·  {name}{'' if yours else '  (shipped)'}", name)
            self.model.setItemData(self.model.count() - 1, _describe(info, path, yours),
                                   Qt.ItemDataRole.ToolTipRole)
        restore_choice(self.model, wanted)
        self.model.blockSignals(False)
        self._model_changed()

    @property
    def model_name(self) -> str | None:
        """The chosen model's name (the store finds its file when the job runs)."""
        return self.model.currentData()

    def _model_changed(self) -> None:
        if self.model.count() == 0:
            self.model_info.setText(f"No translation model is installed. {FIX}")
        else:
            self.model_info.setText(self.model.itemData(self.model.currentIndex(),
                                                        Qt.ItemDataRole.ToolTipRole))
        self._update_controls()

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a translation model",
                                              str(Path.home()),
                                              "Translation models (*.safetensors)")
        if path:
            self.import_model(path)

    def import_model(self, path: str | Path) -> bool:
        """Check the file loads, then copy it into your models folder (in the background)."""
        source = Path(path)
        started = self._importer.start(
            lambda report, cancel: store.install(TRANSLATION, source))
        if started:
            self.model_info.setText(f"Checking {source.name}…")
        return started

    def _imported(self, installed: Path) -> None:
        self.refresh_models(select=installed.stem)
        self.workspace.show_status(f"Imported the model {installed.stem}.")

    def _import_failed(self, message: str, detail: str) -> None:
        self._model_changed()
        self.workspace.show_error("Cannot import the model", message, detail)

    def open_train_dialog(self) -> None:
        """The "Train translator…" dialog; it trains beside the editor, not blocking it."""
        if self.train_dialog is None:
            from app.gui.dialogs.train_translate import TrainTranslateDialog

            self.train_dialog = TrainTranslateDialog(self)
            self.train_dialog.model_saved.connect(lambda p: self.refresh_models(select=p.stem))
        self.train_dialog.show()
        self.train_dialog.raise_()
        self.train_dialog.activateWindow()

    # ---------------------------------------------------------------------- run
    def update_state(self, has_photo: bool, idle: bool) -> None:
        self._has_photo, self._idle = has_photo, idle
        self._sync()

    def _update_controls(self) -> None:
        idle, importing = self._idle, self._importer.busy
        ready = self._has_photo and idle and self.model.count() > 0
        self.run_action.setEnabled(ready)
        self.run_button.setEnabled(ready)
        self.cancel_button.setEnabled(not idle)
        self.model.setEnabled(idle and not importing)
        self.import_button.setEnabled(not importing)
        for action in self.view_actions.values():
            action.setEnabled(self._shown)
        self.apply_button.setEnabled(self._shown)
        self.discard_button.setEnabled(self._shown)
        self.opacity.setEnabled(self._shown and self.view == "attention")
        if self._shown:
            self.hint.setText("Paint on the photo to translate more of it; the right button "
                              "or Alt keeps the photo instead; a soft brush fades the edge. "
                              "Enter applies, Esc discards.")
        else:
            self.hint.setText("Translate the photo, then look at the result, the initial "
                              "translation and the attention before you apply it.")

    def run(self) -> None:
        """Translate the photo as a job; the result waits for Apply."""
        workspace = self.workspace
        document, name = workspace.document, self.model_name
        if document is None or name is None:
            return
        from engines.translate import TranslateRequest

        try:
            engine = registry.get("translate").load()()
        except EngineError as exc:
            workspace.show_error("Cannot translate", exc.message, exc.detail)
            return
        photo = document.pixels
        request = TranslateRequest(photo, model=name)
        self.bring_to_front()  # Ctrl+Shift+T from another panel: the result shows here

        def done(result) -> None:
            self.session = TranslateSession(document, photo, result.initial, result.attention,
                                            result.image, result.model)
            self._sync()
            # A is rarely exactly 0 where the model hesitates: "touched" alone says 100 %.
            mostly = float((result.attention >= 0.5).mean()) * 100
            kept = float((result.attention == 0).mean()) * 100
            workspace.show_status(f"Translated with {result.model} in {result.seconds:.1f} s: "
                                  f"{mostly:.0f} % of the photo mostly translated, {kept:.0f} % "
                                  "left exactly as it was. Enter applies.")

        workspace.start_job(lambda report, cancel: engine.run(request, report, cancel), done)

    def apply(self) -> None:
        """Make the (edited) result part of the photo as one undoable step."""
        if not self._shown or self.session is None:
            return
        self.workspace.apply_result(self.session.result.copy(), "Translate", clear_mask=False)
        self.workspace.show_status("Translated. Undo brings back the photo with the result "
                                   "still waiting to be edited.")

    def discard(self) -> None:
        """Drop the result; the photo is left exactly as it is."""
        if self.session is None:
            return
        layer = self.session.layer
        self.session = None
        self._sync()
        self.workspace.forget_layer_edits(layer)  # its strokes would be undo steps doing nothing
        self.workspace.show_status("Translation discarded; the photo is unchanged.")

    # ------------------------------------------------------------------ showing
    def set_view(self, view: str) -> None:
        """Result, initial translation, attention overlay or before/after."""
        if view not in self.view_buttons:
            view = "result"
        self.view = view
        self.view_actions[view].setChecked(True)
        if self._shown:
            self._show_view()
        self._update_controls()

    def _live(self) -> bool:
        """Whether the session belongs to the photo as it is now (an undo can bring it back)."""
        session, document = self.session, self.workspace.document
        return (session is not None and document is session.document
                and document.pixels is session.photo)

    def _sync(self) -> None:
        """Put the pending result on the canvas, or take it off, as the state asks."""
        document = self.workspace.document
        if self.session is not None and document is not self.session.document:
            self.session = None  # another photo was opened: this result can never return
        show = self._live() and self._idle and self.on_screen
        canvas = self.workspace.canvas
        if show:
            assert self.session is not None
            if canvas.layer is not self.session.layer:
                canvas.set_layer_opacity(self.opacity.value() / 100)
                canvas.use_layer(self.session.layer, heat_overlay)
                canvas.set_before(self.session.photo)
                self.session.update()  # undo may have changed the attention while away
            self._shown = True
            self._show_view()
        elif self._shown:
            self._shown = False
            self._take_off()
        self._update_controls()

    def _show_view(self) -> None:
        session, canvas = self.session, self.workspace.canvas
        assert session is not None
        if self.view == "attention":
            canvas.set_split(False)
            canvas.clear_preview()
            return
        if self.view != "compare":
            canvas.set_split(False)
        canvas.show_preview(session.initial if self.view == "initial" else session.result, None)
        if self.view == "compare":
            canvas.set_split(True)

    def _take_off(self) -> None:
        canvas, document = self.workspace.canvas, self.workspace.document
        if self.view == "compare":
            canvas.set_split(False)
        if canvas.layer is not canvas.mask:
            canvas.use_layer(None)
        canvas.clear_preview()
        if document is not None:
            canvas.set_before(document.source.pixels)

    def _attention_painted(self, rect) -> None:
        """A dab, box or undo changed the attention: recomposite just there."""
        session, canvas = self.session, self.workspace.canvas
        if not self._shown or session is None or canvas.layer is not session.layer:
            return
        part = session.update(rect)
        if self.view in ("result", "compare"):
            canvas.update_preview(part, rect[0], rect[1])

    def _split_toggled(self, on: bool) -> None:
        """Y (the window's split view) and the Before/After mode are one thing."""
        if not self._shown:
            return
        if on and self.view != "compare":
            self.set_view("compare")
        elif not on and self.view == "compare":
            self.set_view("result")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (event.type() == QEvent.Type.KeyPress and self._shown
                and watched is self.workspace.canvas
                and self.workspace.canvas.placement is None
                and isinstance(event, QKeyEvent)):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.apply()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.discard()
                return True
        return False

    def document_changed(self) -> None:
        self._sync()

    def visibility_changed(self, visible: bool) -> None:
        self._sync()  # another panel in front paints the selection again; back here, ours

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)
        self._sync()

    def shutdown(self) -> None:
        self._importer.shutdown()
        if self.train_dialog is not None:
            self.train_dialog.shutdown()

    # ----------------------------------------------------------------- settings
    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("translate/model", self.model.currentData())
        settings.setValue("translate/view", self.view)
        settings.setValue("translate/opacity", self.opacity.value())

    def restore_settings(self, settings: QSettings) -> None:
        restore_choice(self.model, settings.value("translate/model"))
        self.set_view(str(settings.value("translate/view", "result")))
        self.opacity.setValue(int(settings.value("translate/opacity", DEFAULT_OPACITY)))


def _describe(info: ModelInfo, path: Path, yours: bool) -> str:
    """One line about a model: what it does, how it was trained, where it lives."""
    steps = sum(info.iterations.values())
    trained = f"{steps:,} training steps" if steps else "untrained"
    date = str(info.extra.get("date", ""))[:10]
    origin = "yours" if yours else "shipped with Transfigure"
    return (f"{info.title}: {trained} at {info.resolution} px"
            f"{', ' + date if date else ''}; {origin} ({path.name})")
