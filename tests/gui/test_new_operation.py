"""A new operation is its own files plus one line in the operations table.

The test writes a throwaway operation ("posterize": fewer tones per channel) as a
developer would: an engine package that registers its engine, a panel module and a
command module, in a folder of its own. It then adds one ``Operation`` line to
``engines.operations.OPERATIONS`` and nothing else, and checks that the registry lists
the engine, the command line offers and runs the command, and the window shows the
panel, whose run action fills the photo through the job runner as one undo step.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from engines import imageio, operations, registry
from tests.unit.conftest import noise_texture

PACKAGE = "posterize_operation"

ENGINES = '''
"""The engine package: a request, a result, an engine, and its registration."""
from dataclasses import dataclass

import numpy as np

from engines.base import Engine, InvalidInput, Progress, Request, Result
from engines.registry import EngineEntry, register


@dataclass(frozen=True, eq=False)
class PosterizeRequest(Request):
    image: np.ndarray
    levels: int = 4

    def validate(self) -> None:
        if self.levels < 2:
            raise InvalidInput("Posterize needs at least 2 levels.")


@dataclass(frozen=True, eq=False)
class PosterizeResult(Result):
    image: np.ndarray


class PosterizeEngine(Engine[PosterizeRequest, PosterizeResult]):
    name = "round"
    cpu_only = True

    def compute(self, request, device, report, cancel):
        cancel.raise_if_set()
        steps = request.levels - 1
        image = np.round(request.image * steps) / steps
        report(Progress(1, 1, "Posterized", image))
        return PosterizeResult(image.astype(np.float32))


register(EngineEntry(operation="posterize", name="round", title="Round to levels",
                     description="Rounds every channel to a few levels.",
                     target="posterize_operation.engine:PosterizeEngine", default=True))
'''

ENGINE_MODULE = '''
from posterize_operation import PosterizeEngine, PosterizeRequest, PosterizeResult  # noqa
'''

PANEL = '''
"""The panel: a button that posterizes the photo as one undoable step."""
from app.gui.panels.base import OperationPanel
from engines import registry
from posterize_operation import PosterizeRequest


class PosterizePanel(OperationPanel):
    title = "Posterize"
    key = "posterize"
    action_text = "&Posterize Photo"
    shortcut = "Ctrl+Alt+P"

    def run(self) -> None:
        document = self.workspace.document
        if document is None:
            return
        engine = registry.get("posterize").load()()
        request = PosterizeRequest(document.pixels)
        self.workspace.start_job(
            lambda report, cancel: engine.run(request, report, cancel),
            lambda result: self.workspace.apply_result(result.image, "Posterize"))
'''

COMMANDS = '''
"""The command: transfigure posterize IN -o OUT [--levels N]."""
from pathlib import Path


def add_commands(commands, common) -> None:
    command = commands.add_parser("posterize", parents=[common], help="fewer tones")
    command.add_argument("input")
    command.add_argument("--output", "-o", required=True)
    command.add_argument("--levels", type=int, default=4)
    command.set_defaults(handler=run)


def run(args) -> int:
    from engines import imageio, registry
    from posterize_operation import PosterizeRequest

    photo = imageio.load_image(args.input)
    engine = registry.get("posterize").load()()
    result = engine.run(PosterizeRequest(photo.pixels, levels=args.levels))
    imageio.save_image(Path(args.output), result.image)
    return 0
'''


@pytest.fixture
def posterize(tmp_path, monkeypatch):
    """The operation's files in a folder on the path, and its one line in the table."""
    folder = tmp_path / PACKAGE
    folder.mkdir()
    for name, text in (("__init__", ENGINES), ("engine", ENGINE_MODULE), ("panel", PANEL),
                       ("commands", COMMANDS)):
        (folder / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    # The shipped engines registered first; this test's go into a copy, dropped afterwards.
    registry.operation_names()
    monkeypatch.setattr(registry, "_ENTRIES", {k: dict(v) for k, v in registry._ENTRIES.items()})
    line = operations.Operation("posterize", PACKAGE, f"{PACKAGE}.panel:PosterizePanel",
                                f"{PACKAGE}.commands")
    monkeypatch.setattr(operations, "OPERATIONS", (*operations.OPERATIONS, line))
    yield
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_the_registry_lists_the_new_engine(posterize):
    assert registry.operation_names()[-1] == "posterize"
    entry = registry.get("posterize")
    assert entry.name == "round" and entry.availability().available
    result = entry.load()().run(sys.modules[PACKAGE].PosterizeRequest(
        np.full((4, 4, 3), 0.3, np.float32), levels=2))
    assert np.array_equal(result.image, np.zeros((4, 4, 3), np.float32))
    assert result.device == "cpu" and result.seconds >= 0  # stamped by Engine.run


def test_the_command_line_offers_and_runs_the_new_command(posterize, tmp_path, capsys):
    from app.__main__ import main

    assert main(["--help"]) == 0
    assert "posterize" in capsys.readouterr().out
    assert main(["engines"]) == 0
    assert "posterize:\n  round  Round to levels (default)  available" in capsys.readouterr().out
    photo = tmp_path / "photo.png"
    imageio.save_image(photo, noise_texture(40, 50, seed=1, tint=(0.5, 0.4, 0.3)))
    out = tmp_path / "out.png"
    assert main(["posterize", str(photo), "-o", str(out), "--levels", "2"]) == 0
    assert set(np.unique(imageio.load_image(out).pixels)) <= {0.0, 1.0}
    assert main(["posterize", str(photo), "-o", str(tmp_path / "x.png"), "--levels", "1"]) == 1
    assert "at least 2 levels" in capsys.readouterr().err


@pytest.fixture
def window(posterize, window):
    """The main window (tests/gui/conftest.py), built after the table got its new line."""
    return window


def test_the_window_shows_the_new_panel_and_runs_it(window, qtbot, tmp_path):
    assert list(window.panels)[-1] == "posterize"
    assert window.docks["posterize"].windowTitle() == "Posterize"
    action = window.panels["posterize"].run_action
    assert action in window.findChildren(type(action)) and not action.isEnabled()
    photo = tmp_path / "photo.png"
    imageio.save_image(photo, noise_texture(60, 80, seed=2, tint=(0.3, 0.5, 0.4)))
    assert window.open_path(photo)
    original = window.document.pixels.copy()
    assert action.isEnabled()
    with qtbot.waitSignal(window.jobs.finished, timeout=20_000):
        action.trigger()
    thirds = window.document.pixels * 3  # four levels: 0, 1/3, 2/3 and 1
    assert np.allclose(thirds, np.round(thirds), atol=1e-5)
    assert not np.array_equal(window.document.pixels, original)
    assert window.history.undoText() == "Posterize"
    window.history.undo()
    assert np.array_equal(window.document.pixels, original)
