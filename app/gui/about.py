"""Help ▸ About: the version, and the licences users must know about before they publish.

Some models the app can use are not free for commercial work (the dlib 68-point
landmark model was trained on iBUG 300-W, whose images are for research only; NVIDIA's
StyleGAN2 weights are non-commercial). People who sell their edits need to see that.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app import __version__

LICENCES = """
<h3>Transfigure {version}</h3>
<p>A desktop image editor bringing the methods of <i>Deep generative models for image
translation</i> (C. Yang, USC 2019) to photo editing. Licence: MIT.</p>
<h4>Models and their terms</h4>
<ul>
<li><b>Face landmarks</b> (Expression): dlib's 68-point shape predictor from the
<code>face-recognition-models</code> package. The model file is CC0, but it was trained on
the <b>iBUG 300-W</b> dataset, whose licence <b>excludes commercial use</b>. Check before
you sell images edited with the Expression operation.</li>
<li><b>StyleGAN2 FFHQ</b> (Expression, StyleGAN engine, optional download): NVIDIA Source
Code License-NC — <b>non-commercial use only</b>. Shown again before it downloads.</li>
<li><b>VGG-16 / VGG-19 ImageNet</b>, <b>Mask R-CNN COCO</b> (optional downloads): torchvision,
BSD-3-Clause; see torchvision's model documentation for the datasets' terms.</li>
<li><b>Harmonization network</b> (Composite, shipped): trained by this project on
public photos, self-supervised.</li>
</ul>
<h4>Software</h4>
<p>Qt for Python (PySide6, LGPLv3), PyTorch (BSD-3-Clause), OpenCV (Apache-2.0),
dlib (Boost Software License), NumPy (BSD-3-Clause), Pillow (MIT-CMU), safetensors
(Apache-2.0), platformdirs (MIT).</p>
"""


def show_about(parent: QWidget) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About Transfigure")
    box.setTextFormat(box.textFormat().RichText)
    box.setText(LICENCES.format(version=__version__))
    box.open()
