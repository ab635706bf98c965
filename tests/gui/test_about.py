"""Help ▸ About lists the models Transfigure ships with their training data and its terms,
read from each model's data card."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtWidgets import QMessageBox

ROOT = Path(__file__).resolve().parents[2]

CARD = textwrap.dedent("""\
    # Data card: `zebrafy.safetensors`

    A toy translator, trained by the test.

    | | |
    |---|---|
    | Data | 12 photos of the Toy Stripes Collection |

    ## Training data
    The photos come from `someone/toy-stripes` at commit `abc123`.

    ## Licence situation
    - They are the test's own. Their terms allow **non-commercial research only** (toy).
    """)


def about_text(window) -> str:
    """The About box's text as the user reads it (no markup)."""
    action = next(a for a in window.findChildren(QAction) if "About" in a.text())
    action.trigger()
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    doc = QTextDocument()
    doc.setHtml(box.text())
    box.close()
    return " ".join(doc.toPlainText().split())


def test_about_names_each_shipped_models_training_data_and_terms(window, qtbot):
    from engines.store import catalog

    text = about_text(window)
    shipped = catalog.shipped_models()
    assert {m.name for m in shipped} >= {"horse2zebra", "harmonizer"}
    for model in shipped:
        assert model.card is not None, f"{model.name} ships without a data card"
        assert f"{model.name} ({model.kind})" in text
        assert model.card.data and model.card.data in text
        assert model.card.terms and model.card.terms in text
        assert str(model.card.path) in text
    # what a user must learn, in the cards' own words
    assert "CycleGAN horse2zebra" in text
    assert "LiorYaacov/Horse2zebra-Image-to-image-Translation" in text
    assert "bcmi/libcom" in text  # one of the harmonizer's eleven sources
    assert "ImageNet's terms restrict their use to non-commercial research" in text


def test_about_reads_a_new_shipped_model_from_its_card(
    window, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    torch = pytest.importorskip("torch")
    from engines import store
    from engines.translate.model_file import TRANSLATION

    resources = tmp_path / "resources"
    models = resources / "models"
    models.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "models.toml", resources / "models.toml")
    store.save(TRANSLATION, models / "zebrafy.safetensors", {"w": torch.zeros(1)}, {})
    (models / "zebrafy.md").write_text(CARD, encoding="utf-8")
    monkeypatch.setenv("TRANSFIGURE_RESOURCES", str(resources))
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))

    text = about_text(window)
    assert "zebrafy (translation)" in text
    assert "Trained on: 12 photos of the Toy Stripes Collection" in text
    assert "Sources: someone/toy-stripes" in text
    assert "Terms: Their terms allow non-commercial research only." in text
    assert str(models / "zebrafy.md") in text
    assert "horse2zebra" not in text  # only what this installation ships
