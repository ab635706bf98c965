"""``transfigure desktop install|uninstall`` against temporary XDG folders: the entry a
desktop reads (valid, running this installation, listing the photo types), the icons,
the default-application lines, and an uninstall that leaves nothing of ours behind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.__main__ import main
from app.desktop_entry import ICON_SIZES, MIME_TYPES, launcher


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    data, config = tmp_path / "data", tmp_path / "config"
    data.mkdir()
    config.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return data, config


def entry_fields(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_install_writes_a_valid_entry_that_runs_this_installation(xdg, capsys):
    data, _ = xdg
    assert main(["desktop", "install"]) == 0
    entry = data / "applications" / "transfigure.desktop"
    fields = entry_fields(entry)
    assert fields["Exec"].split(" ")[0] == launcher()[0] and fields["Exec"].endswith(" %F")
    assert Path(fields["TryExec"]).exists()
    assert set(fields["MimeType"].rstrip(";").split(";")) == set(MIME_TYPES)
    assert {"image/jpeg", "image/png", "image/heic"} <= set(MIME_TYPES)
    assert fields["Icon"] == "transfigure" and fields["Terminal"] == "false"
    for size in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "transfigure.png"
                ).is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "transfigure.svg").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator:  # the freedesktop.org validator, where it is installed
        checked = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    else:  # the rules it checks that this entry could break
        assert fields["Type"] == "Application" and fields["Version"] in ("1.0", "1.4")
        assert fields["Categories"].endswith(";") and "Graphics" in fields["Categories"]
    assert "application menu" in capsys.readouterr().err


def test_default_and_uninstall_keep_the_users_own_lines(xdg):
    data, config = xdg
    mimeapps = config / "mimeapps.list"
    mimeapps.write_text("[Default Applications]\ntext/plain=editor.desktop\n"
                        "image/png=viewer.desktop\n[Added Associations]\n"
                        "image/gif=viewer.desktop;\n", encoding="utf-8")
    other = data / "applications" / "viewer.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Viewer\nExec=viewer %f\n")
    before = {p for p in data.rglob("*")}
    assert main(["desktop", "install", "--default"]) == 0
    text = mimeapps.read_text(encoding="utf-8")
    assert "image/png=transfigure.desktop" in text and "image/png=viewer.desktop" not in text
    assert "text/plain=editor.desktop" in text and "image/gif=viewer.desktop;" in text
    assert main(["desktop", "uninstall"]) == 0
    after = mimeapps.read_text(encoding="utf-8")
    assert "transfigure" not in after
    assert "text/plain=editor.desktop" in after and "image/gif=viewer.desktop;" in after
    left = {p for p in data.rglob("*")} - before
    assert all(p.name == "mimeinfo.cache" for p in left), left  # the viewer's, refreshed
    assert other.is_file()


def test_uninstall_removes_everything_install_made(xdg, capsys):
    data, config = xdg
    assert main(["desktop", "install", "--default"]) == 0
    assert main(["desktop", "uninstall"]) == 0
    assert [p for p in data.rglob("*")] == [] and [p for p in config.rglob("*")] == []
    assert "Removed" in capsys.readouterr().err
    assert main(["desktop", "uninstall"]) == 0
    assert "Nothing to remove" in capsys.readouterr().err
