"""The Composite panel: a guide photo, a box around its object, and the object pasted in.

Flow: open or drop a guide photo here → drag a box around the object → it is segmented
(a short job) and appears on the photo as a layer → move it (drag), scale it (corner
handles; Shift frees the aspect), flip (H), nudge (arrows) → Enter or Apply composites
it (fill around it, harmonize) as one undoable step; Esc drops the layer. Brushing on
the guide afterwards corrects the object: paint adds to it, right button removes, and
the segmentation runs again with those strokes as hints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
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

from app.gui.canvas.mask import TILE, MaskEdit
from app.gui.canvas.placement import PlacementItem
from app.gui.panels.base import OperationPanel, Workspace, engine_combo, restore_choice
from app.gui.panels.guide_view import GuideView
from app.gui.qimages import to_rgba_qimage
from engines import imageio, registry
from engines.base import EngineError
from engines.composite.light import guide_to_photo_gains, relight
from engines.composite.request import PASTE_HARMONIZER, Box, Placement

BOX_ALPHA = 0.25  # how visible the rest of the box is on the layer when it is pasted too


class CompositePanel(OperationPanel):
    """Guide photo, object box and segmentation, and the options of the composite."""

    title = "Composite"
    key = "composite"
    action_text = "&Composite Object"
    shortcut = "Ctrl+Shift+C"
    action_tip = ("Paste the placed object: fill around it and harmonize it (Enter on the "
                  "photo)")

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.guide: np.ndarray | None = None
        self._gains: tuple[tuple[int, int, int], np.ndarray] | None = None
        self.guide_path: Path | None = None
        self.box: Box | None = None
        self._keep: np.ndarray | None = None
        self._drop: np.ndarray | None = None
        self.view = GuideView()
        self.open_button = QPushButton("Open Guide…")
        self.open_button.setToolTip("The photo the object comes from (or drop it here)")
        self.box_tool = QToolButton(text="Box", checkable=True, checked=True)
        self.box_tool.setToolTip("Drag a box around the object in the guide photo")
        self.refine_tool = QToolButton(text="Refine", checkable=True)
        self.refine_tool.setToolTip("Paint to add to the object, right button to remove")
        tools = QButtonGroup(self)
        tools.addButton(self.box_tool)
        tools.addButton(self.refine_tool)
        self.segmenter = engine_combo("segment")
        self.harmonizer = engine_combo("harmonize", PASTE_HARMONIZER)
        self.harmonizer.addItem("None", "none")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength.setToolTip("How far the object's colours move towards the photo's")
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0.0, 20.0)
        self.feather.setValue(2.0)
        self.feather.setSuffix(" px")
        self.feather.setToolTip("Soft edge of the pasted object")
        self.match_light = QCheckBox("Match the guide photo's light")
        self.match_light.setChecked(True)
        self.match_light.setToolTip("Carry the object from the exposure and white balance of "
                                    "the photo it came from into this photo's")
        self.paste_box = QCheckBox("Replace everything under the box")
        self.paste_box.setToolTip("Fill the rest of the box from the photo too, e.g. to "
                                  "cover what was there")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip(self.run_action.toolTip())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.hint = QLabel("Open or drop a guide photo, then drag a box around the object.")
        self.hint.setWordWrap(True)
        self._layout()
        self.open_button.clicked.connect(self.open_dialog)
        self.view.file_dropped.connect(self.open_guide)
        self.view.box_drawn.connect(self.set_box)
        self.view.mask_edited.connect(self._refined)
        self.box_tool.toggled.connect(lambda on: self._set_tool("select" if on else "brush"))
        self.apply_button.clicked.connect(self.run_action.trigger)
        self.paste_box.toggled.connect(lambda _: self._update_layer())
        self.match_light.toggled.connect(lambda _: self._update_layer())
        self.strength.valueChanged.connect(lambda _: self._update_layer())
        canvas = workspace.canvas
        canvas.placement_confirmed.connect(self.run_action.trigger)
        canvas.placement_cancelled.connect(self.cancel_placement)

    def _layout(self) -> None:
        tools = QHBoxLayout()
        tools.addWidget(self.open_button)
        tools.addStretch(1)
        tools.addWidget(self.box_tool)
        tools.addWidget(self.refine_tool)
        form = QFormLayout()
        form.addRow("Cut out with", self.segmenter)
        form.addRow("Harmonize", self.harmonizer)
        form.addRow("Strength", self.strength)
        form.addRow("Soft edge", self.feather)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)
        layout.addLayout(form)
        layout.addWidget(self.match_light)
        layout.addWidget(self.paste_box)
        layout.addLayout(buttons)

    def _set_tool(self, tool: str) -> None:
        self.view.tool = tool

    # -------------------------------------------------------------------- guide
    def open_dialog(self) -> None:
        folder = str(self.guide_path.parent if self.guide_path else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open guide photo", folder,
                                              "Images ({})".format(" ".join(
                                                  f"*{e}" for e in
                                                  imageio.SUPPORTED_LOAD_EXTENSIONS)))
        if path:
            self.open_guide(path)

    def open_guide(self, path: str | Path) -> bool:
        try:
            loaded = imageio.load_image(path)
        except EngineError as exc:
            self.workspace.show_error("Cannot open the guide photo", exc.message, exc.detail)
            return False
        self.cancel_placement()
        self.guide, self.guide_path, self.box = loaded.pixels, Path(path), None
        self.view.set_image(loaded.pixels)
        self.box_tool.setChecked(True)
        self.hint.setText("Drag a box around the object you want to paste.")
        return True

    def set_box(self, box: Box) -> None:
        """A new box: forget earlier strokes and cut the object out of it."""
        if self.guide is None:
            return
        if box[2] < 4 or box[3] < 4:
            self.workspace.show_status("Drag a bigger box around the object.")
            return
        self.box = box
        h, w = self.guide.shape[:2]
        self._keep, self._drop = np.zeros((h, w), bool), np.zeros((h, w), bool)
        self.segment()

    def _refined(self, edit: MaskEdit) -> None:
        """Strokes on the guide become keep/drop hints, and the cut-out is redone."""
        if self.box is None or self._keep is None or self._drop is None:
            return
        for (ty, tx), before in edit.before.items():
            after = edit.after[(ty, tx)]
            rows = slice(ty * TILE, ty * TILE + before.shape[0])
            cols = slice(tx * TILE, tx * TILE + before.shape[1])
            self._keep[rows, cols] |= (after >= 128) & (before < 128)
            self._drop[rows, cols] |= (after < 128) & (before >= 128)
        self.segment()

    def segment(self) -> None:
        if self.guide is None or self.box is None:
            return
        from engines.composite.request import SegmentRequest

        try:
            engine = registry.get("segment", self.segmenter.currentData()).load()()
        except EngineError as exc:
            self.workspace.show_error("Cannot cut out the object", exc.message, exc.detail)
            return
        request = SegmentRequest(self.guide, self.box, keep=self._keep, drop=self._drop)
        self.hint.setText("Cutting out the object…")
        self.workspace.start_job(lambda report, cancel: engine.run(request, report, cancel),
                                 self._segmented, on_preview=self.view.show_preview)

    def _segmented(self, result) -> None:
        self.view.clear_preview()
        mask = self.view.mask
        if mask is None:
            return
        mask.load(result.mask)
        self.view.refresh_mask()
        hint = ("Move the object on the photo (drag; corners scale, Shift frees the aspect; "
                "H flips; arrows nudge), then press Enter or Apply. Refine: paint on the "
                "guide to add, right button to remove.")
        if result.doubt:  # said where the user looks, before the paste is applied
            hint = (f"⚠ {result.doubt} Use Refine: paint on the guide to add to the object, "
                    "right button to remove background.")
            self.workspace.show_status(result.doubt)
        self.hint.setText(hint)
        self._update_layer()

    # ---------------------------------------------------------------- placement
    def _cutout(self) -> np.ndarray | None:
        if self.guide is None or self.box is None or self.view.mask is None:
            return None
        x, y, w, h = self.box
        alpha = self.view.mask.selection[y : y + h, x : x + w].astype(np.float32)
        if not alpha.any():
            return None
        if self.paste_box.isChecked():
            alpha = np.maximum(alpha, BOX_ALPHA)
        return alpha

    def _update_layer(self) -> None:
        """Show the cut-out on the photo: a new layer, or new pixels for the current one."""
        canvas, alpha = self.workspace.canvas, self._cutout()
        if alpha is None or self.box is None or self.guide is None or canvas.mask is None:
            return
        x, y, w, h = self.box
        pixels = self.guide[y : y + h, x : x + w]
        if self.match_light.isChecked():
            pixels = relight(pixels, self._light_gains(), self.strength.value() / 100)
        image = to_rgba_qimage(pixels, alpha)
        if canvas.placement is not None:
            canvas.placement.set_cutout(image)
            return
        item = PlacementItem(image)
        item.set_placement(self._initial_placement(canvas.mask.shape))
        canvas.set_placement(item)
        self.update_state(self.workspace.document is not None, True)

    def _light_gains(self) -> np.ndarray:
        """Guide-to-photo light gains for the layer, as Apply will use them.

        Kept while the guide, its cut-out and the photo stay the same objects; Apply
        measures again without the part of the photo the object then covers.
        """
        document = self.workspace.document
        if self.guide is None or self.view.mask is None or document is None:
            return np.ones(3)
        selection = self.view.mask.selection
        key = (id(self.guide), id(document.pixels), hash(selection.tobytes()))
        if self._gains is None or self._gains[0] != key:
            self._gains = (key, guide_to_photo_gains(self.guide, selection, document.pixels))
        return self._gains[1]

    def _initial_placement(self, target_shape: tuple[int, int]) -> Placement:
        """Centred in the visible part of the photo, shrunk if it would not fit."""
        assert self.box is not None
        canvas = self.workspace.canvas
        th, tw = target_shape
        _, _, w, h = self.box
        scale = min(1.0, 0.6 * tw / w, 0.6 * th / h)
        centre: QPointF = canvas.mapToScene(canvas.viewport().rect().center())
        cx = min(max(centre.x(), 0.0), float(tw))
        cy = min(max(centre.y(), 0.0), float(th))
        return Placement(cx - w * scale / 2, cy - h * scale / 2, scale, scale)

    def cancel_placement(self) -> None:
        canvas = self.workspace.canvas
        if canvas.placement is not None:
            canvas.set_placement(None)
            self.workspace.show_status("Placement cancelled; the photo is unchanged.")
        self.update_state(self.workspace.document is not None, True)

    # -------------------------------------------------------------------- apply
    def update_state(self, has_photo: bool, idle: bool) -> None:
        placing = self.workspace.canvas.placement is not None
        self.run_action.setEnabled(has_photo and idle and placing)
        self.apply_button.setEnabled(has_photo and idle and placing)
        self.cancel_button.setEnabled(not idle)
        self.open_button.setEnabled(idle)
        for widget in (self.segmenter, self.harmonizer, self.strength, self.feather,
                       self.match_light, self.paste_box, self.view):
            widget.setEnabled(idle)
        if self.workspace.canvas.placement is not None:
            self.workspace.canvas.placement.setVisible(idle)

    def run(self) -> None:
        """Composite the placed object into the photo as one undoable step."""
        workspace = self.workspace
        canvas, document = workspace.canvas, workspace.document
        item = canvas.placement
        if document is None or item is None or self.guide is None or self.box is None \
                or self.view.mask is None:
            return
        from engines.composite.request import CompositeRequest

        request = CompositeRequest(
            document.pixels, self.guide, self.view.mask.selection.astype(np.float32),
            self.box, item.placement, harmonize=self.harmonizer.currentData(),
            strength=self.strength.value() / 100, paste_box=self.paste_box.isChecked(),
            feather=self.feather.value(), match_light=self.match_light.isChecked(),
        )
        try:
            engine = registry.get("composite").load()()
        except EngineError as exc:
            workspace.show_error("Cannot composite", exc.message, exc.detail)
            return

        def done(result) -> None:
            canvas.set_placement(None)
            workspace.apply_result(result.image, "Composite", clear_mask=False)
            workspace.show_status(f"Composited in {result.seconds:.1f} s")
            self.update_state(True, True)

        workspace.start_job(lambda report, cancel: engine.run(request, report, cancel), done)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("composite/segment", self.segmenter.currentData())
        settings.setValue("composite/harmonize", self.harmonizer.currentData())
        settings.setValue("composite/strength", self.strength.value())
        settings.setValue("composite/feather", self.feather.value())
        settings.setValue("composite/paste_box", self.paste_box.isChecked())
        settings.setValue("composite/match_light", self.match_light.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        restore_choice(self.segmenter, settings.value("composite/segment"))
        restore_choice(self.harmonizer, settings.value("composite/harmonize"))
        self.strength.setValue(int(settings.value("composite/strength", 100)))
        self.feather.setValue(float(settings.value("composite/feather", 2.0)))
        self.paste_box.setChecked(str(settings.value("composite/paste_box", "false")) == "true")
        self.match_light.setChecked(
            str(settings.value("composite/match_light", "true")) == "true")
