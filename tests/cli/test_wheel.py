"""A built wheel carries resources/, and an installed wheel finds it.

The shipped models, the weights registry and the icon live in the top-level resources/
folder, which is data, not a package: the wheel carries it as data files and pip puts
them under <prefix>/share/transfigure. Here a wheel is built from this checkout (no
network: no build isolation, no dependencies) from a copy of the checkout's files, so
neither the checkout nor an old build folder takes part; it is checked file by file
against the checkout, installed into an empty virtual environment, and asked where its
resources are, from outside the checkout so that nothing can fall back on it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("transfigure-*.whl")
    return built


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
