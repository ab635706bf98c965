"""The Remove panel: which engine, how careful, and the button that fills the selection."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.canvas.mask import SELECTED_MIN
from app.gui.panels.base import (
    OperationPanel,
    Workspace,
    check_engines,
    engine_combo,
    restore_choice,
)
from engines import registry
from engines.base import EngineError

QUALITIES = (("Fast", "fast"), ("Balanced", "balanced"), ("Best", "best"))
# The engines that run an inpainting model (neural-patch for its content prediction).
MODEL_ENGINES = ("guided", "generator", "neural-patch")
OPTIMIZING_ENGINES = ("neural-patch",)  # the engines with iterations and a texture weight
DEFAULT_ITERATIONS = 20  # engines.remove.neural_patch.synthesis.SynthesisSettings
DEFAULT_TEXTURE_MICRO = 5.0  # α = 5e-6, the thesis's, shown in millionths


class RemovePanel(OperationPanel):
    """Fills the painted selection from the rest of the photo with the chosen engine."""

    title = "Remove"
    key = "remove"
    action_text = "&Remove Selection"
    shortcut = "Ctrl+R"
    action_tip = "Fill the selection from the rest of the photo (Ctrl+R)"

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.engine = engine_combo("remove")
        self.quality = QComboBox()
        for label, value in QUALITIES:
            self.quality.addItem(label, value)
        self.quality.setCurrentIndex(1)
        self.quality.setToolTip("Fast: a quick fill. Best: more search at full resolution.")
        self.model = QComboBox()
        self.model.setToolTip("The inpainting model the Guided and Generator engines run: "
                              "shipped, or trained in Operations ▸ Train Remove Generator…")
        self.refresh_models()
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 1000)
        self.iterations.setValue(DEFAULT_ITERATIONS)
        self.iterations.setToolTip("L-BFGS iterations at each of the three scales: more "
                                   "sharpen further and take longer")
        self.texture = QDoubleSpinBox()
        self.texture.setRange(0.0, 1000.0)
        self.texture.setDecimals(2)
        self.texture.setSuffix(" × 10⁻⁶")
        self.texture.setValue(DEFAULT_TEXTURE_MICRO)
        self.texture.setToolTip("α, the texture term's weight (the thesis: 5 × 10⁻⁶). "
                                "Higher copies the photo's texture harder; 0 keeps the "
                                "content prediction, only smoothed")
        self.run_button = QPushButton("Remove")
        self.run_button.setToolTip(self.run_action.toolTip())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and keep the photo as it was (Esc)")
        self.cancel_button.setEnabled(False)
        hint = QLabel(
            "Paint over what should go (right button or Alt erases; a soft brush feathers "
            "the fill's edge), then Remove."
        )
        hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("Quality", self.quality)
        form.addRow("Model", self.model)
        form.addRow("Iterations per scale", self.iterations)
        form.addRow("Texture weight α", self.texture)
        self.form = form
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)
        self.run_button.clicked.connect(self.run_action.trigger)
        self.engine.currentIndexChanged.connect(lambda _: self._update_model_state())
        self._update_model_state()
        self._has_photo, self._idle = False, True
        workspace.canvas.mask_changed.connect(self._update_run_state)

    def refresh_models(self) -> None:
        """List the inpainting models again (after training); keep the choice."""
        from engines import store
        from engines.remove.generator.model_file import DEFAULT_MODEL, INPAINTING

        wanted = self.model.currentData() or DEFAULT_MODEL
        self.model.blockSignals(True)
        self.model.clear()
        for name, path in sorted(store.models(INPAINTING).items()):
            yours = store.is_user_model(INPAINTING, path)
            self.model.addItem(name if yours else f"{name} (shipped)", name)
        restore_choice(self.model, wanted)
        self.model.blockSignals(False)

    def _update_model_state(self) -> None:
        uses_model = self.engine.currentData() in MODEL_ENGINES
        self.model.setEnabled(uses_model and self.engine.isEnabled() and self.model.count() > 0)
        optimizes = self.engine.currentData() in OPTIMIZING_ENGINES  # shown only where used
        for widget in (self.iterations, self.texture):
            self.form.setRowVisible(widget, optimizes)
            widget.setEnabled(self.engine.isEnabled())

    def _has_selection(self, rect: tuple[int, int, int, int] | None = None) -> bool:
        """Whether anything is selected; a stroke's ``rect`` is looked at first (a dab
        must not scan a 12 MP mask), the whole mask only when that part holds nothing."""
        mask = self.workspace.canvas.mask
        if mask is None:
            return False
        if rect is not None:
            x, y, w, h = rect
            if mask.coverage[y:y + h, x:x + w].max(initial=0.0) >= SELECTED_MIN:
                return True
        return bool(mask.selection.any())

    def _update_run_state(self, rect: tuple[int, int, int, int] | None = None) -> None:
        """Remove runs only on something painted; until then say what to do."""
        ready = self._has_photo and self._idle
        painted = ready and self._has_selection(rect)
        self.run_action.setEnabled(painted)
        self.run_button.setEnabled(painted)
        tip = (self.action_tip if painted or not ready else
               "Paint over what should go first (Brush: B, Box: M), then Remove.")
        self.run_button.setToolTip(tip)

    def update_state(self, has_photo: bool, idle: bool) -> None:
        super().update_state(has_photo, idle)
        self._has_photo, self._idle = has_photo, idle
        self._update_run_state()
        self.engine.setEnabled(idle)
        self.quality.setEnabled(idle)
        self._update_model_state()
        self.cancel_button.setEnabled(not idle)

    def run(self) -> None:
        """Fill the current selection; the result becomes one undoable step."""
        workspace = self.workspace
        document, mask = workspace.document, workspace.canvas.mask
        if document is None or mask is None:
            return
        from engines.remove.request import RemoveRequest

        uses_model = self.engine.currentData() in MODEL_ENGINES
        optimizes = self.engine.currentData() in OPTIMIZING_ENGINES
        request = RemoveRequest(
            document.pixels, mask.selection, quality=self.quality.currentData(),
            model=self.model.currentData() if uses_model else None,
            iterations=self.iterations.value() if optimizes else None,
            texture_weight=self.texture.value() * 1e-6 if optimizes else None)
        try:
            request.validate()
            engine = registry.get("remove", self.engine.currentData()).load()()
        except EngineError as exc:
            workspace.show_error("Cannot remove", exc.message, exc.detail)
            return
        alpha = mask.alpha if mask.is_soft else None  # the mask as it was at the start

        def done(result) -> None:
            workspace.apply_result(result.image, "Remove", alpha=alpha)
            how = f" with {result.notes}" if result.notes else ""
            workspace.show_status(f"Filled in {result.seconds:.1f} s{how}")

        workspace.start_job(lambda report, cancel: engine.run(request, report, cancel), done)

    def models_changed(self) -> None:
        """An inpainting model was trained: the Guided and Generator engines may run now."""
        check_engines(self.engine, "remove")
        self.refresh_models()
        self._update_model_state()

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("remove/engine", self.engine.currentData())
        settings.setValue("remove/quality", self.quality.currentData())
        settings.setValue("remove/model", self.model.currentData())
        settings.setValue("remove/iterations", self.iterations.value())
        settings.setValue("remove/texture_micro", self.texture.value())

    def restore_settings(self, settings: QSettings) -> None:
        restore_choice(self.engine, settings.value("remove/engine"))
        restore_choice(self.quality, settings.value("remove/quality"))
        restore_choice(self.model, settings.value("remove/model"))
        for widget, key in ((self.iterations, "remove/iterations"),
                            (self.texture, "remove/texture_micro")):
            value = settings.value(key)
            if value is not None:  # a hand-edited settings file keeps the default
                with contextlib.suppress(TypeError, ValueError):
                    widget.setValue(type(widget.value())(value))
        self._update_model_state()
