"""A built wheel carries resources/, an installed wheel finds it, and pipx installs it.

The shipped models, the weights registry and the icon live in the top-level resources/
folder, which is data, not a package: the wheel carries it as data files and pip puts
them under <prefix>/share/transfigure. Here a wheel is built from this checkout (no
network: no build isolation, no dependencies) from a copy of the checkout's files, so
neither the checkout nor an old build folder takes part; it is checked file by file
against the checkout, installed into an empty virtual environment, and asked where its
resources are, from outside the checkout so that nothing can fall back on it. The build
is ``python -m build`` (sdist and wheel), which must print no deprecation warning; then
``pipx install`` of the wheel into a throw-away PIPX_HOME (its dependencies from the
package index as configured, about a minute and 6 GB with a CUDA build of PyTorch) must
give a ``transfigure`` that runs a Remove and installs its desktop entry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DATA_PREFIX = "share/transfigure/"


def checkout_files(*paths: str) -> list[str]:
    """The files of the checkout git knows or would add (tracked, or new and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             *paths], cwd=ROOT, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def tracked_resources() -> dict[str, str]:
    """path under resources/ → sha256 of every file of the checkout there."""
    return {name.removeprefix("resources/"): hashlib.sha256((ROOT / name).read_bytes())
            .hexdigest() for name in checkout_files("resources")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, str]:
    """(folder holding the sdist and the wheel, what the build printed)."""
    source = tmp_path_factory.mktemp("source")
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (built,) = dist[0].glob("transfigure-*.whl")
    return built


def test_the_build_prints_no_deprecation_warning_and_the_sdist_is_complete(dist):
    import tarfile

    folder, printed = dist
    assert "deprecat" not in printed.lower(), [line for line in printed.splitlines()
                                                if "deprecat" in line.lower()]
    (sdist,) = folder.glob("transfigure-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "pyproject.toml", "app/__main__.py"} <= names
    assert {f"resources/{name}" for name in tracked_resources()} <= names


def test_the_wheel_carries_every_resource_file(wheel):
    expected = tracked_resources()
    with zipfile.ZipFile(wheel) as archive:
        data = {}
        for name in archive.namelist():
            _, found, inside = name.partition(".data/data/" + DATA_PREFIX)
            if found:
                data[inside] = hashlib.sha256(archive.read(name)).hexdigest()
        packages = {name.split("/")[0] for name in archive.namelist()}
    assert data == expected
    assert {"app", "engines"} <= packages and "resources" not in packages


def test_an_installed_wheel_finds_its_resources(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("import engines, engines.resources as r, tomllib; "
            "print(engines.__file__); print(r.resources_dir()); "
            "print(sorted(tomllib.loads(r.weights_registry_file().read_text()))); "
            "print(r.shipped_models_dir() / 'horse2zebra.safetensors'); print(r.icon_file(48))")
    done = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    module, folder, registry, model, icon = done.stdout.splitlines()
    assert Path(module).is_relative_to(venv) and not Path(module).is_relative_to(ROOT)
    assert Path(folder) == (venv / "share" / "transfigure").resolve()
    assert "vgg19" in registry and "stylegan2_ffhq" in registry
    shipped = ROOT / "resources" / "models" / "horse2zebra.safetensors"
    assert Path(model).read_bytes() == shipped.read_bytes()
    assert Path(icon).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pipx_installs_a_working_transfigure(wheel, tmp_path):
    """What a user without the checkout does: ``pipx install transfigure-*.whl``."""
    pipx_home, bin_dir, xdg = tmp_path / "pipx", tmp_path / "bin", tmp_path / "xdg"
    env = {**os.environ, "PIPX_HOME": str(pipx_home), "PIPX_BIN_DIR": str(bin_dir),
           "PIPX_MAN_DIR": str(tmp_path / "man"), "XDG_DATA_HOME": str(xdg)}
    base = getattr(sys, "_base_executable", sys.executable)
    done = subprocess.run([sys.executable, "-m", "pipx", "install", "--python", base,
                           str(wheel)], capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    transfigure = bin_dir / "transfigure"
    version = subprocess.run([str(transfigure), "--version"], capture_output=True, text=True,
                             timeout=120, env=env, cwd=tmp_path)
    assert version.stdout.strip().startswith("transfigure ")
    photo, mask, out = tmp_path / "photo.png", tmp_path / "mask.png", tmp_path / "out.png"
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 50, 3)) * 255).astype(np.uint8)).save(photo)
    hole = np.zeros((40, 50), np.uint8)
    hole[10:25, 15:35] = 255
    Image.fromarray(hole).save(mask)
    removed = subprocess.run([str(transfigure), "remove", str(photo), "--mask", str(mask),
                              "-o", str(out)], capture_output=True, text=True, timeout=300,
                             env=env, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    result, source = np.asarray(Image.open(out)), np.asarray(Image.open(photo))
    assert np.array_equal(result[hole == 0], source[hole == 0])
    desktop = subprocess.run([str(transfigure), "desktop", "install"], capture_output=True,
                             text=True, timeout=120, env=env, cwd=tmp_path)
    assert desktop.returncode == 0, desktop.stderr
    entry = (xdg / "applications" / "transfigure.desktop").read_text(encoding="utf-8")
    assert f"Exec={pipx_home}" in entry  # the menu runs the pipx installation itself
