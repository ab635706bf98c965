"""Help ▸ About: the version, and the licences users must know about before they publish.

Some models the app can use are not free for commercial work (the dlib 68-point
landmark model was trained on iBUG 300-W, whose images are for research only; NVIDIA's
StyleGAN2 weights are non-commercial). People who sell their edits need to see that.
The models Transfigure trained and ships are listed from their data cards
(``engines.store.catalog``): what each was trained on, from where, and under which terms.
"""

from __future__ import annotations

from html import escape

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
</ul>
<h4>Models trained by Transfigure (shipped)</h4>
{shipped}
<h4>Software</h4>
<p>Qt for Python (PySide6, LGPLv3), PyTorch (BSD-3-Clause), OpenCV (Apache-2.0),
dlib (Boost Software License), NumPy (BSD-3-Clause), Pillow (MIT-CMU), safetensors
(Apache-2.0), platformdirs (MIT).</p>
"""


def shipped_models_html() -> str:
    """The shipped models, each with its training data, sources and terms from its card."""
    from engines.store import catalog

    try:
        models = catalog.shipped_models()
    except Exception as exc:  # a broken installation must not keep the box shut
        return f"<p>The shipped models could not be listed: {escape(str(exc))}</p>"
    if not models:
        return "<p>None are installed.</p>"
    items = []
    for m in models:
        card = m.card
        parts = [f"<b>{escape(m.name)}</b> ({escape(m.kind)}):"]
        if card is None:
            data = escape(m.data.rstrip(".")) or "Its training data is not described"
            parts.append(f"{data}. "
                         f"<b>It has no data card</b> ({escape(str(m.card_path))}).")
        else:
            if card.summary:
                parts.append(escape(card.summary))
            data = card.data or m.data
            if data:
                parts.append(f"<br>Trained on: {escape(data)}")
            if card.sources:
                parts.append(f"<br>Sources: {escape(', '.join(card.sources))}")
            if card.terms:
                parts.append(f"<br>Terms: {escape(card.terms)}")
            parts.append(f"<br>Data card: <code>{escape(str(card.path))}</code> "
                         "(<code>transfigure weights card "
                         f"{escape(m.name)}</code>)")
        items.append("<li>" + " ".join(parts) + "</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def about_html() -> str:
    return LICENCES.format(version=__version__, shipped=shipped_models_html())


def show_about(parent: QWidget) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About Transfigure")
    box.setTextFormat(box.textFormat().RichText)
    box.setText(about_html())
    box.open()
