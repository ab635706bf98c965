"""``transfigure weights list`` and ``weights card``: the models Transfigure trained, with
their data cards, from a resources folder the test makes (``TRANSFIGURE_RESOURCES``).

The models are written through each kind's own save function, so the listing sees what a
trainer writes; one of each kind named in the operations table, and one of the user's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.__main__ import main

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[2]

ZEBRA_CARD = textwrap.dedent("""\
    # Data card: `zebrafy.safetensors`

    A toy horse→zebra translator, trained by the test.

    | | |
    |---|---|
    | Used by | nothing: a test |
    | Data | 12 photos of the Toy Stripes Collection (made up for this test) |

    ## Training data
    The photos come from `someone/toy-stripes` at commit `abc123`.

    ## Licence situation (facts, not legal advice)
    - The photos are the test's own. Their terms allow **non-commercial research only** (toy).
    """)

FILLER_CARD = textwrap.dedent("""\
    # Data card: `filler.safetensors`

    A toy inpainter.

    | | |
    |---|---|
    | Data | 7 photos of the Patchwork Photos Archive |

    ## Licence
    The Patchwork Photos Archive is in the public domain, so commercial use is allowed.
    """)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("transfigure: error: ")
    return lines[0]


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def save_translator(path: Path, iterations: dict[str, int] | None = None) -> Path:
    from engines.translate.model_file import save_model
    from engines.translate.networks import Widths, build_attention, build_translator

    widths = Widths(4, 1, 4, 4)
    meta = {"source": "horse", "target": "zebra", "resolution": 32, "vgg_warm_start": False}
    if iterations is not None:
        meta.update(iterations=iterations, date="2031-05-06T07:08:09+00:00")
    return save_model(build_translator(widths), build_attention(widths), path, widths, meta)


def save_harmonizer(path: Path) -> Path:
    from engines.composite.harmonize_net import build_network, save_model

    return save_model(build_network(2, 0), path, {"iterations": 12, "date": "2032-01-02"})


def save_inpainter(path: Path) -> Path:
    from engines.remove.generator.model_file import save_model
    from engines.remove.generator.networks import InpainterWidths, build_inpainter

    widths = InpainterWidths(2, 0, 0, 2)
    return save_model(build_inpainter(widths), path, widths,
                      {"resolution": 32, "iterations": {"head": 5, "blocks": 6}})


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A resources folder with a shipped model of each kind (the harmonizer without a card)
    and an empty models folder of the user's; returns the shipped models folder."""
    resources = tmp_path / "resources"
    shipped = resources / "models"
    shipped.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "models.toml", resources / "models.toml")
    monkeypatch.setenv("TRANSFIGURE_RESOURCES", str(resources))
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("TRANSFIGURE_TRANSLATE_MODELS", "TRANSFIGURE_INPAINT_MODELS",
                "TRANSFIGURE_HARMONIZER"):
        monkeypatch.delenv(var, raising=False)
    save_translator(shipped / "zebrafy.safetensors", {"translator": 30, "attention": 4,
                                                      "joint": 2})
    (shipped / "zebrafy.md").write_text(ZEBRA_CARD, encoding="utf-8")
    save_inpainter(shipped / "filler.safetensors")
    (shipped / "filler.md").write_text(FILLER_CARD, encoding="utf-8")
    save_harmonizer(shipped / "blender.safetensors")
    return shipped


def trained_rows(out: str) -> dict[str, list[str]]:
    """The rows of the 'Models trained by Transfigure' table, by name, split into words."""
    lines = out.splitlines()
    start = lines.index("Models trained by Transfigure")
    assert lines[start + 1].split() == ["NAME", "KIND", "STEPS", "TRAINED", "SIZE", "WHERE",
                                        "DATA", "CARD"]
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        words = line.split()
        rows.setdefault(words[0], []).append(line)
    return rows


def test_weights_list_shows_every_kind_with_steps_date_and_card(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, out, _ = run(capsys, "weights", "list")
    assert code == 0
    # the downloadable weights come first, as before
    assert out.index("vgg19 ") < out.index("Models trained by Transfigure")
    rows = trained_rows(out)
    assert set(rows) == {"zebrafy", "filler", "blender"}

    zebra = rows["zebrafy"][0].split()
    assert zebra[1] == "translation"
    assert zebra[2] == "36"  # 30 + 4 + 2 steps over the three stages
    assert zebra[3] == "2031-05-06"
    assert zebra[-2] == "shipped"
    assert zebra[-1] == str(models / "zebrafy.md")

    filler = rows["filler"][0].split()  # the inpainting kind, named only in the table
    assert filler[1:3] == ["inpainting", "11"] and filler[-1] == str(models / "filler.md")

    blender = rows["blender"][0].split()
    assert blender[1:4] == ["harmonization", "12", "2032-01-02"]
    assert blender[-2:] == ["shipped", "(none)"]  # it has no card


def test_weights_list_tells_your_models_from_shipped_ones(
    capsys: pytest.CaptureFixture[str], models: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "cache" / "translate"
    save_translator(mine / "zebrafy.safetensors")  # your own, under a shipped name
    save_translator(mine / "stripes.safetensors")
    (mine / "stripes.md").write_text("# My stripes\n", encoding="utf-8")
    code, out, _ = run(capsys, "weights", "list")
    assert code == 0
    rows = trained_rows(out)
    stripes = rows["stripes"][0].split()
    assert stripes[1:4] == ["translation", "-", "-"]  # no steps or date in its metadata
    assert stripes[-2:] == ["yours", str(mine / "stripes.md")]
    yours, shipped = rows["zebrafy"]
    assert yours.split()[-2:] == ["yours", "(none)"]
    assert "shipped (replaced by yours)" in shipped and str(models / "zebrafy.md") in shipped


def test_weights_card_prints_the_data_card(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, out, err = run(capsys, "weights", "card", "zebrafy")
    assert code == 0 and err == ""
    assert out == ZEBRA_CARD
    code, out, _ = run(capsys, "weights", "show", "filler")
    assert code == 0 and out == FILLER_CARD


def test_weights_card_of_an_unknown_model_is_one_line(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, out, err = run(capsys, "weights", "card", "zebrafi")
    assert code == 1 and out == ""
    line = one_line(err)
    assert "'zebrafi'" in line and "zebrafy" in line and "filler" in line


def test_weights_card_of_a_model_without_one_says_where_it_would_be(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, _, err = run(capsys, "weights", "card", "blender")
    assert code == 1
    line = one_line(err)
    assert "no data card" in line and str(models / "blender.md") in line


def test_the_shipped_models_are_listed_with_their_cards_without_importing_torch(
    tmp_path: Path,
) -> None:
    """The real checkout: both shipped models, as a real process that never imports torch."""
    code = textwrap.dedent("""
        import sys
        from app.__main__ import main
        rc = main(["weights", "list"])
        print(rc, sorted(m for m in ("torch", "PySide6") if m in sys.modules))
        """)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRANSFIGURE_")}
    env.update(TRANSFIGURE_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0 []"), proc.stdout
    rows = trained_rows(proc.stdout)
    models = ROOT / "resources" / "models"
    for name, kind in (("horse2zebra", "translation"), ("harmonizer", "harmonization")):
        words = rows[name][0].split()
        assert words[1] == kind and words[-2] == "shipped"
        assert words[-1] == str(models / f"{name}.md")


def test_the_shipped_translator_card_names_its_training_photos(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TRANSFIGURE_RESOURCES", raising=False)
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path / "cache"))
    code, out, _ = run(capsys, "weights", "card", "horse2zebra")
    assert code == 0
    assert out.startswith("# Data card: `horse2zebra.safetensors`")
    assert "CycleGAN horse2zebra" in out and "non-commercial" in out
