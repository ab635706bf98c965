"""Themes: readable dark and light palettes, greyed items that look greyed, and "system"
that follows the desktop until the user picks a theme explicitly.

The desktop is never consulted: the detection functions are monkeypatched, so the results
do not depend on the machine running the tests.
"""

from __future__ import annotations

import subprocess

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

from app.gui import theme
from app.gui.theme import THEMES, apply_theme, build_palette, is_dark, system_scheme

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

# (foreground, background) pairs that carry the text of most widgets.
TEXT_PAIRS = [
    (Role.WindowText, Role.Window),
    (Role.Text, Role.Base),
    (Role.ButtonText, Role.Button),
]


def luminance(colour: QColor) -> float:
    """WCAG relative luminance: gamma-decoded channels weighted by the eye's sensitivity."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = linear(colour.redF()), linear(colour.greenF()), linear(colour.blueF())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio: 1 (none) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture(autouse=True)
def restore_app_look(qapp, monkeypatch):
    """Put back the style, palettes and Qt's scheme request so other GUI tests see no theme."""
    monkeypatch.delenv("GTK_THEME", raising=False)
    monkeypatch.setattr(theme.shutil, "which", lambda name: None)  # no real gsettings
    style, palette = qapp.style().name(), QPalette(qapp.palette())
    tooltip_palette = QPalette(QToolTip.palette())
    yield
    follower = qapp.findChild(QObject, theme._FOLLOWER_NAME)
    if follower is not None:
        shiboken6.delete(follower)  # its connection to the style hints goes with it
    if qapp.style().name() != style:
        qapp.setStyle(style)
    qapp.setPalette(palette)  # also drops the menus' palette
    QToolTip.setPalette(tooltip_palette)
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()


def report_qt_scheme(monkeypatch, scheme: Qt.ColorScheme) -> None:
    monkeypatch.setattr(theme, "_qt_color_scheme", lambda: scheme)


def emit_system_change(scheme: Qt.ColorScheme) -> None:
    QGuiApplication.styleHints().colorSchemeChanged.emit(scheme)


def test_dark_gives_a_dark_window_with_light_text(qapp):
    assert apply_theme(qapp, "dark") == "dark"
    palette = QApplication.palette()
    assert is_dark(palette)
    assert palette.color(Role.Window).lightness() < 80
    for fg, bg in TEXT_PAIRS:
        assert palette.color(fg).lightness() > 200
        assert contrast(palette.color(fg), palette.color(bg)) >= 7


def test_light_gives_a_light_window_with_dark_text(qapp):
    assert apply_theme(qapp, "light") == "light"
    palette = QApplication.palette()
    assert not is_dark(palette)
    assert palette.color(Role.Window).lightness() > 200
    for fg, bg in TEXT_PAIRS:
        assert palette.color(fg).lightness() < 60
        assert contrast(palette.color(fg), palette.color(bg)) >= 7


def test_the_fusion_style_is_used_whatever_the_app_had(qapp):
    qapp.setStyle("Windows")
    apply_theme(qapp, "dark")
    assert qapp.style().name().lower() == "fusion"
    assert is_dark(QApplication.palette())  # the style switch did not reset the palette


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_disabled_text_is_greyed_but_still_legible(qapp, scheme):
    apply_theme(qapp, scheme)
    palette = QApplication.palette()
    for fg, bg in TEXT_PAIRS:
        normal = contrast(palette.color(Group.Active, fg), palette.color(Group.Active, bg))
        greyed = contrast(palette.color(Group.Disabled, fg), palette.color(Group.Disabled, bg))
        assert palette.color(Group.Disabled, fg) != palette.color(Group.Active, fg)
        assert greyed < normal / 2, (fg, greyed, normal)
        assert greyed > 1.8, (fg, greyed)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_role_of_every_group_is_set(scheme):
    """Nothing is left for the platform theme to fill in (and make half light, half dark)."""
    palette = build_palette(scheme)
    for group in (Group.Active, Group.Inactive, Group.Disabled):
        for role in theme._LIGHT:
            assert palette.isBrushSet(group, role), (group, role)


def test_dark_menus_stand_out_from_the_fields_they_open_over(qapp):
    apply_theme(qapp, "dark")
    menu, fields = QApplication.palette("QMenu"), QApplication.palette()
    assert menu.color(Role.Base).lightness() > fields.color(Role.Base).lightness() + 16
    assert is_dark(menu)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_tooltips_follow_the_theme_not_the_desktop(qapp, scheme):
    QToolTip.setPalette(build_palette("light" if scheme == "dark" else "dark"))  # as a desktop may
    apply_theme(qapp, scheme)
    tip = QToolTip.palette()
    assert tip.color(Role.ToolTipBase) == QApplication.palette().color(Role.ToolTipBase)
    assert contrast(tip.color(Role.ToolTipText), tip.color(Role.ToolTipBase)) >= 7


def test_system_uses_the_scheme_qt_reports(qapp, monkeypatch):
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark")  # Qt's answer wins over the hints
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Light)
    assert apply_theme(qapp, "system") == "light"
    assert not is_dark(QApplication.palette())
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Dark)
    assert apply_theme(qapp, "system") == "dark"
    assert is_dark(QApplication.palette())


def test_unknown_scheme_falls_back_to_gtk_theme(monkeypatch):
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Unknown)
    assert system_scheme() == "light"
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark")
    assert system_scheme() == "dark"


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [("'prefer-dark'\n", "dark"), ("'default'\n", "light"), ("'prefer-light'\n", "light")],
)
def test_unknown_scheme_falls_back_to_gnome_settings(monkeypatch, stdout, expected):
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Unknown)
    monkeypatch.setattr(theme.shutil, "which", lambda name: "/usr/bin/gsettings")
    calls = []

    def run(args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(theme.subprocess, "run", run)
    assert system_scheme() == expected
    ((args, kwargs),) = calls
    assert args[1:] == ["get", "org.gnome.desktop.interface", "color-scheme"]
    assert 0 < kwargs["timeout"] <= 2


@pytest.mark.parametrize(
    "failure",
    [subprocess.TimeoutExpired("gsettings", 1), FileNotFoundError("gsettings"), None],
)
def test_a_failing_gsettings_means_light(monkeypatch, failure):
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Unknown)
    monkeypatch.setattr(theme.shutil, "which", lambda name: "/usr/bin/gsettings")

    def run(args, **kwargs):
        if failure is not None:
            raise failure
        return subprocess.CompletedProcess(args, 1, stdout="'prefer-dark'\n", stderr="no dbus")

    monkeypatch.setattr(theme.subprocess, "run", run)
    assert system_scheme() == "light"


def test_system_follows_a_live_change_of_the_desktop(qapp, monkeypatch):
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Light)
    apply_theme(qapp, "system")
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Dark)
    emit_system_change(Qt.ColorScheme.Dark)
    assert is_dark(QApplication.palette())
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Light)
    emit_system_change(Qt.ColorScheme.Light)
    assert not is_dark(QApplication.palette())


def test_an_explicit_choice_stops_following_the_desktop(qapp, monkeypatch):
    report_qt_scheme(monkeypatch, Qt.ColorScheme.Dark)
    assert apply_theme(qapp, "system") == "dark"
    assert apply_theme(qapp, "light") == "light"
    emit_system_change(Qt.ColorScheme.Dark)
    assert not is_dark(QApplication.palette())


def test_following_connects_once_however_often_system_is_applied(qapp, monkeypatch):
    asked = []

    def qt_scheme():
        asked.append(1)
        return Qt.ColorScheme.Dark

    monkeypatch.setattr(theme, "_qt_color_scheme", qt_scheme)
    for choice in ("system", "light", "system", "dark", "system"):
        apply_theme(qapp, choice)
    asked.clear()
    emit_system_change(Qt.ColorScheme.Dark)
    assert len(asked) == 1


def test_unknown_choices_are_refused(qapp):
    assert THEMES == ("system", "light", "dark")
    with pytest.raises(ValueError, match="unknown theme"):
        apply_theme(qapp, "solarized")
    with pytest.raises(ValueError, match="unknown colour scheme"):
        build_palette("system")
